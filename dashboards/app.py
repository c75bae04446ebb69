"""The Dash app factory: Flask server with sign-in and server-side sessions (the cookie holds
only an id, dashboards.sessions), Dash Pages, global filters kept in the URL, pages shown by
role and by the marts the snapshot has."""

from __future__ import annotations

import importlib
import logging
import time
from datetime import timedelta
from urllib.parse import urlparse

import dash
import flask
from dash import Dash, Input, Output, dcc, html

from dashboards import downloads
from dashboards import filters as flt
from dashboards import sessions
from dashboards.auth import (ClientFactory, SignInError, http_client_factory, revalidate,
                             sign_in, sign_out)
from dashboards.context import AppContext, allowed
from dashboards.csrf import csrf_ok, csrf_token, sign_out_form, start_session_token
from dashboards.auth import Identity
from api.production import dash_settings, refuse_development_defaults
from api.settings import get_settings
from dashboards.settings import DashSettings, get_dash_settings
from dashboards.warehouse import Warehouse, warehouse_at

log = logging.getLogger("ehb.dashboards")

PAGE_MODULES = ["overview", "users", "payments", "marketplace", "affiliates", "franchises", "wallets", "security", "support", "quality", "monitoring", "admin_users",
                "saved", "reports", "settings_page"]
# Reachable without a session: the sign-in form and the static bundles.
_PUBLIC_PREFIXES = ("/login", "/assets/", "/_dash-component-suites/", "/_favicon.ico",
                    "/healthz")

_LOGIN_HTML = """<!doctype html><html><head><title>Sign in · EHB-5 analytics</title>
<link rel="stylesheet" href="/assets/style.css"></head><body class="login">
<form method="post" action="/login" class="login-box"><h1>EHB-5 analytics</h1>
{error}<label>Email <input name="email" type="email" autocomplete="username" required
value="{email}"></label><label>Password <input name="password" type="password"
autocomplete="current-password" required></label><input type="hidden" name="next"
value="{next}"><input type="hidden" name="csrf_token" value="{csrf}"><button type="submit" id="sign-in">Sign in</button></form></body></html>"""


_LOGOUT_HTML = """<!doctype html><html><head><title>Sign out · EHB-5 analytics</title>
<link rel="stylesheet" href="/assets/style.css"></head><body class="login">
<form method="post" action="/logout" class="login-box"><h1>EHB-5 analytics</h1>
<p class="error" id="logout-error">the sign-out form expired; please confirm</p>
<input type="hidden" name="csrf_token" value="{csrf}">
<button type="submit" id="sign-out">Sign out</button></form></body></html>"""


def _safe_next(target: str | None) -> str:
    # Only local paths: never redirect to another site after sign-in.
    parsed = urlparse(target or "/")
    if parsed.scheme or parsed.netloc or not (target or "/").startswith("/"):
        return "/"
    return target or "/"


def _install_auth(server: flask.Flask, api: ClientFactory) -> None:
    from markupsafe import escape

    @server.route("/login", methods=["GET", "POST"])
    def login():
        nxt = _safe_next(flask.request.values.get("next"))
        if flask.request.method == "GET":
            return _LOGIN_HTML.format(error="", email="", next=escape(nxt), csrf=csrf_token())
        email = flask.request.form.get("email", "").strip()
        if not csrf_ok():
            # A cross-site form cannot read our cookie, so it cannot echo the token: refused
            # before the credentials go anywhere (no login CSRF, no throttle burning).
            log.info("dashboard sign-in refused: missing or wrong CSRF token")
            err = ('<p class="error" id="login-error">the sign-in form expired; '
                   'please try again</p>')
            return _LOGIN_HTML.format(error=err, email=escape(email), next=escape(nxt),
                                      csrf=csrf_token()), 403
        try:
            ident = sign_in(api, email, flask.request.form.get("password", ""),
                            client_ip=flask.request.remote_addr)
        except SignInError as exc:
            err = f'<p class="error" id="login-error">{escape(exc.message)}</p>'
            return _LOGIN_HTML.format(error=err, email=escape(email), next=escape(nxt),
                                      csrf=csrf_token()), (
                exc.status if exc.status != 401 else 401)
        flask.session.clear()
        sessions.renew()  # a new id: one planted before sign-in is worth nothing
        flask.session.permanent = True
        flask.session["user"] = ident.to_session()
        start_session_token()
        log.info("dashboard sign-in user_id=%s", ident.user_id)
        return flask.redirect(nxt)

    # GET is routed here only to refuse it: Dash's catch-all page route would answer it 200
    @server.route("/logout", methods=["GET", "POST"])
    def logout():
        if flask.request.method != "POST":  # a cross-site link or <img> cannot sign out
            flask.abort(405, valid_methods=["POST"])
        if not csrf_ok():
            log.info("dashboard sign-out refused: missing or wrong CSRF token")
            # still signed in; a stale tab gets a fresh form to confirm with one click
            return _LOGOUT_HTML.format(csrf=csrf_token()), 403
        ident = Identity.from_session(flask.session.get("user"))
        if ident is not None and not sign_out(api, ident):
            log.warning("dashboard sign-out could not end the API session user_id=%s",
                        ident.user_id)
        sessions.end()  # deleted on the server: the old cookie, replayed, opens nothing
        return flask.redirect("/login")

    @server.route("/healthz")
    def healthz():
        wh: Warehouse = server.config["EHB_DASH"].warehouse
        return {"status": "ok", "snapshot": wh.available()}

    @server.before_request
    def _require_session():
        path = flask.request.path
        if path.startswith(_PUBLIC_PREFIXES):
            return None
        ident = Identity.from_session(flask.session.get("user"))
        if ident is not None:
            ctx: AppContext = server.config["EHB_DASH"]
            if time.time() - ident.checked_at < ctx.revalidate_seconds:
                return None
            fresh = revalidate(api, ident)
            if fresh is not None:
                if fresh != ident:
                    flask.session["user"] = fresh.to_session()
                return None
            log.info("dashboard session ended by the auth service user_id=%s", ident.user_id)
            flask.session.clear()
        if path.startswith("/_dash"):
            return flask.jsonify({"error": {"code": "unauthorized",
                                            "message": "sign in first"}}), 401
        return flask.redirect(f"/login?next={flask.request.full_path.rstrip('?')}")


def _nav(ident: Identity | None, marts: set[str]) -> list:
    links = []
    for page in dash.page_registry.values():
        if not allowed(ident, page.get("roles")):
            continue
        if not set(page.get("marts", ())) <= marts:
            continue
        links.append(dcc.Link(page["name"], href=page["path"], className="nav-link",
                              id=f"nav-{page['path'].strip('/').replace('/', '-') or 'home'}"))
    return links


def _layout():
    ident = Identity.from_session(flask.session.get("user")) if flask.has_request_context() else None
    f = flt.from_mapping(dict(flask.request.args) if flask.has_request_context() else {})
    wh: Warehouse = flask.current_app.config["EHB_DASH"].warehouse
    try:
        marts = wh.marts()
    except Exception:  # no snapshot yet: pages say so themselves
        marts = set()
    return html.Div([
        dcc.Location(id="url", refresh=False),
        html.Header([
            html.Div("EHB-5 analytics", className="brand"),
            html.Nav(_nav(ident, marts), className="nav"),
            html.Div([html.Span(ident.email if ident else "", id="who"),
                      sign_out_form("sign-out")], className="who"),
        ], className="topbar"),
        html.Div([
            dcc.DatePickerRange(id="f-dates", start_date=f.start.isoformat(),
                                end_date=f.end.isoformat(), display_format="YYYY-MM-DD"),
            dcc.Input(id="f-currency", placeholder="currency (EUR)", value=f.currency or "",
                      debounce=True, maxLength=3, style={"width": "9em"}),
            dcc.Input(id="f-territory", placeholder="territory id", type="number",
                      value=f.territory, debounce=True, style={"width": "9em"}),
            dcc.Input(id="f-seller", placeholder="seller id", type="number", value=f.seller,
                      debounce=True, style={"width": "9em"}),
        ], className="filterbar", id="filterbar"),
        html.Main(dash.page_container, className="content"),
    ])


def _global_callbacks(app: Dash) -> None:
    # One callback both ways (Dash allows a cycle only inside one callback): a URL change
    # (first load, shared link, back button) sets the controls; a control change writes the URL.
    @app.callback(Output("url", "search"),
                  Output("f-dates", "start_date"), Output("f-dates", "end_date"),
                  Output("f-currency", "value"), Output("f-territory", "value"),
                  Output("f-seller", "value"),
                  Input("url", "search"),
                  Input("f-dates", "start_date"), Input("f-dates", "end_date"),
                  Input("f-currency", "value"), Input("f-territory", "value"),
                  Input("f-seller", "value"))
    def sync_filters(search, start, end, currency, territory, seller):
        keep = dash.no_update
        if dash.ctx.triggered_id in (None, "url"):
            f = flt.from_query(search)
            return (keep, f.start.isoformat(), f.end.isoformat(), f.currency or "",
                    f.territory, f.seller)
        f = flt.from_mapping({"start": start, "end": end, "currency": currency,
                              "territory": territory, "seller": seller})
        query = f.to_query()
        return (keep if query == (search or "") else query), keep, keep, keep, keep, keep


def create_app(settings: DashSettings | None = None, warehouse: Warehouse | None = None,
               api: ClientFactory | None = None,
               session_store: sessions.SessionStore | None = None) -> Dash:
    refuse_development_defaults(dash_settings())  # EHB_ENV=production: no development secret
    settings = settings or get_dash_settings()
    core = get_settings()
    server = flask.Flask("dashboards")
    server.session_interface = sessions.ServerSideSessions(
        session_store or sessions.store_for(settings.session_store, core.redis_url,
                                            core.database_url))
    server.config.update(
        SECRET_KEY=settings.session_secret,
        SESSION_COOKIE_NAME="ehb_dash",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies or core.ehb_env == "production",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
    )
    server.config["EHB_DASH"] = AppContext(
        warehouse=warehouse or warehouse_at(settings.snapshot_path),
        api=api or http_client_factory(settings.resolved_api_url),
        refresh_ms=settings.refresh_ms,
        revalidate_seconds=settings.revalidate_seconds,
    )
    _install_auth(server, server.config["EHB_DASH"].api)
    downloads.install(server)
    app = Dash("dashboards", server=server, use_pages=True, pages_folder="",
               assets_folder=str(__import__("pathlib").Path(__file__).parent / "assets"),
               title="EHB-5 analytics", suppress_callback_exceptions=True,
               update_title=None)
    for name in PAGE_MODULES:
        module = importlib.import_module(f"dashboards.pages.{name}")
        # Pages are imported here rather than from a pages folder, so the layout is set here.
        dash.page_registry[module.__name__]["layout"] = module.layout
        module.register_callbacks(app)
    app.layout = _layout
    _global_callbacks(app)
    return app
