"""Per-session CSRF token (kept in the server-side session) for the app's own HTML forms:
sign-in and sign-out. A cross-site page cannot read the cookie, so it cannot echo the token."""

from __future__ import annotations

import hmac
import secrets

import flask
from dash import dcc, html

FIELD = "csrf_token"


def csrf_token() -> str:
    """This browser session's token (made on first use; a sign-in starts a new session)."""
    token = flask.session.get("csrf")
    if not token:
        token = flask.session["csrf"] = secrets.token_urlsafe(32)
    return token


def start_session_token() -> None:
    """A fresh token for a session that just began (sign-in). Made here, in the sign-in
    response, and not lazily on a later page: Dash's first requests run concurrently, each
    writing back the whole session it loaded, and a token added by one of them was overwritten
    by another's older copy (the sign-out form then carried a token the session lacked)."""
    flask.session["csrf"] = secrets.token_urlsafe(32)


def csrf_ok() -> bool:
    sent, kept = flask.request.form.get(FIELD, ""), flask.session.get("csrf", "")
    return bool(sent and kept) and hmac.compare_digest(sent.encode(), kept.encode())


def sign_out_form(button_id: str) -> html.Form:
    """Sign-out as a POST carrying the token: a link (GET) would let any site sign users out."""
    # Only a signed-in session needs one: Dash also builds the layout for its first request,
    # whatever that is (/healthz), and must not start a session there.
    signed_in = flask.has_request_context() and flask.session.get("user")
    token = csrf_token() if signed_in else ""
    return html.Form([dcc.Input(type="hidden", name=FIELD, value=token),
                      html.Button("Sign out", type="submit", id=button_id,
                                  className="link-button")],
                     method="post", action="/logout", className="sign-out-form")
