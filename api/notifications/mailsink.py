"""A local SMTP server for development: `ehb up` starts it when the platform's SMTP host is
this machine, so the mail the platform sends (verification, reset, receipts, report exports)
is delivered for real over SMTP and lands as .eml files under data/mail/ to read."""

from __future__ import annotations

import time
import uuid
from pathlib import Path


class _SaveToFolder:
    def __init__(self, folder: Path):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        (self.folder / name).write_bytes(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"


def serve(host: str, port: int, folder: Path) -> None:
    """Run until interrupted (SIGINT/SIGTERM)."""
    import signal
    import threading

    from aiosmtpd.controller import Controller

    controller = Controller(_SaveToFolder(folder), hostname=host, port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        controller.stop()


def mailsink_service():
    """For `ehb up`: the sink as a supervised child, or None when SMTP points elsewhere."""
    import sys

    from api.launcher import ServiceProcess
    from api.notifications.settings import get_notification_settings
    from api.settings import get_settings

    smtp = get_notification_settings()
    if smtp.smtp_host not in ("127.0.0.1", "localhost"):
        return None
    folder = (get_settings().data_dir / "mail").resolve()
    argv = [sys.executable, "-c",
            "import sys; from pathlib import Path; from api.notifications.mailsink import serve; "
            "serve(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))",
            smtp.smtp_host, str(smtp.smtp_port), str(folder)]
    return ServiceProcess("Mail sink (SMTP)", argv, f"smtp://{smtp.smtp_host}:{smtp.smtp_port} → {folder}")
