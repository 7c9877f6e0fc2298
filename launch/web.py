"""Response headers shared by the launch pages and the app: a Content-Security-Policy that
allows only the app's own scripts and stylesheets (no inline script), no caching of pages
that carry patient data, no referrer (authorization codes live in URLs)."""

from __future__ import annotations

from flask import Response

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
