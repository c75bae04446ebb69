"""The development mail sink: real SMTP in, .eml files out."""

from __future__ import annotations

import smtplib
import socket
import subprocess
import sys
import time
from email.message import EmailMessage


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_mail_sent_over_smtp_lands_as_an_eml_file(tmp_path):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c",
                             "import sys; from pathlib import Path; "
                             "from api.notifications.mailsink import serve; "
                             "serve('127.0.0.1', int(sys.argv[1]), Path(sys.argv[2]))",
                             str(port), str(tmp_path)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                smtp = smtplib.SMTP("127.0.0.1", port, timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "mail sink did not start"
                time.sleep(0.2)
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "a@example.com", "b@example.com", "Hello sink"
        msg.set_content("body text")
        with smtp:
            smtp.send_message(msg)
        files = list(tmp_path.glob("*.eml"))
        assert len(files) == 1
        assert b"Subject: Hello sink" in files[0].read_bytes()
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
