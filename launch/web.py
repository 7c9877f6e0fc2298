"""Response headers shared by the launch pages and the app: a Content-Security-Policy that
allows only the app's own scripts and stylesheets (no inline script), no caching of pages
that carry patient data, no referrer (authorization codes live in URLs)."""

from __future__ import annotations

from flask import Response, jsonify, render_template, request

from launch.errors import LaunchError

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; object-src 'none'"
)


def secure_headers(resp: Response) -> Response:
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "no-referrer")
    if resp.mimetype in ("text/html", "application/json"):
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def error_response(e: LaunchError) -> Response:
    """The failure page (or JSON under /app/api/) for a launch or session error."""
    if request.path.startswith("/app/api/"):
        resp = jsonify({"error": e.kind, "title": e.title, "detail": e.detail})
    else:
        resp = Response(render_template("launch/error.html", error=e), mimetype="text/html")
    resp.status_code = e.status
    return secure_headers(resp)
