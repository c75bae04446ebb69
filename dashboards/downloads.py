"""/download/report/<id>.<fmt>: the browser's report download, streamed from the reports API
with the signed-in viewer's token (the API applies their permissions and row scope)."""

from __future__ import annotations

import flask

from dashboards.auth import Identity

FORMATS = ("csv", "xlsx", "parquet", "pdf")


def install(server: flask.Flask) -> None:
    @server.route("/download/report/<int:report_id>.<fmt>")
    def download_report(report_id: int, fmt: str):
        ident = Identity.from_session(flask.session.get("user"))
        if ident is None:
            return flask.redirect("/login")
        if fmt not in FORMATS:
            return flask.jsonify({"error": {"code": "unknown_format",
                                            "message": "unknown format"}}), 422
        client = server.config["EHB_DASH"].api()
        request = client.build_request(
            "GET", f"/api/v1/reports/{report_id}/export.{fmt}",
            params=list(flask.request.args.items(multi=True)),
            headers={"Authorization": f"Bearer {ident.access_token}"})
        upstream = client.send(request, stream=True)
        if upstream.status_code != 200:
            body = upstream.read()
            upstream.close()
            client.close()
            return flask.Response(body, status=upstream.status_code,
                                  content_type=upstream.headers.get("content-type"))

        def relay():
            try:
                yield from upstream.iter_bytes()
            finally:
                upstream.close()
                client.close()

        headers = {k: upstream.headers[k] for k in ("content-type", "content-disposition")
                   if k in upstream.headers}
        return flask.Response(flask.stream_with_context(relay()), headers=headers)
