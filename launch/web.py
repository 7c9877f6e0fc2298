"""Response headers shared by the launch pages and the app: a Content-Security-Policy that
allows only the app's own scripts and stylesheets (no inline script), no caching of pages
that carry patient data, no referrer (authorization codes live in URLs)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, has_app_context, jsonify, render_template, request

from launch import errors
from launch.errors import LaunchError

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; object-src 'none'"
)
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def frame_ancestors(cfg: Any) -> str:
    """`frame-ancestors` from IMMUNOTOX_FRAME_ANCESTORS (EHR origins allowed to frame the app,
    space- or comma-separated): the app's own origin always, no other site unless listed."""
    raw = (cfg.get("FRAME_ANCESTORS") or "") if cfg is not None else ""
    allowed = []
    for item in raw.replace(",", " ").split():
        u = urlsplit(item)
        if u.scheme in ("https", "http") and u.netloc and not u.path.strip("/"):
            allowed.append(f"{u.scheme}://{u.netloc}")
    return " ".join(["frame-ancestors 'self'", *allowed])


def csp(cfg: Any = None) -> str:
    return f"{CSP}; {frame_ancestors(cfg)}"


def cookie_options(cfg: Any) -> dict[str, Any]:
    """Session and launch cookies. Secure (the default): `SameSite=None; Secure; Partitioned`,
    so the launch also works inside an EHR's frame on another site (the cookie is kept in that
    EHR's partition; CHIPS). With SESSION_COOKIE_SECURE off (plain-http demo and tests):
    `SameSite=Lax`, as browsers refuse SameSite=None without Secure."""
    if bool(cfg.get("SESSION_COOKIE_SECURE", True)):
        return {"httponly": True, "secure": True, "samesite": "None", "partitioned": True}
    return {"httponly": True, "secure": False, "samesite": "Lax"}


def cookie_missing() -> LaunchError:
    secure = bool(current_app.config.get("SESSION_COOKIE_SECURE", True))
    framed = request.headers.get("Sec-Fetch-Dest", "") in ("iframe", "frame")
    cross_site = request.headers.get("Sec-Fetch-Site", "") == "cross-site" or (
        framed and (request.headers.get("Sec-Fetch-Site", "") == "")
    )
    return errors.cookie_missing(framed, cross_site, secure)


def _own_origin() -> str:
    base = current_app.config.get("PUBLIC_BASE_URL") or request.host_url
    u = urlsplit(base)
    return f"{u.scheme}://{u.netloc}"


def refuse_cross_site_writes() -> Response | None:
    """CSRF protection that does not rely on SameSite (the cookies are SameSite=None): a request
    other than GET/HEAD/OPTIONS to the app or the launch must come from the app's own origin
    (Sec-Fetch-Site, else Origin, else Referer); anything else is refused before a handler
    runs. GET requests change nothing but the sign-in, and the sign-in is bound to this browser
    by `state` (kept in the browser's launch cookie and popped once from the store) and PKCE."""
    if request.method in _SAFE_METHODS:
        return None
    if not (request.path.startswith("/smart/") or request.path.startswith("/app/")):
        return None
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if site is not None:
        ok = site in ("same-origin", "none")
    elif origin:
        u = urlsplit(origin)
        ok = f"{u.scheme}://{u.netloc}" == _own_origin()
    else:
        ok = False  # a browser always sends one of them on a cross-site write
    if ok:
        return None
    return error_response(
        LaunchError(
            "cross_site_request",
            "The request came from another site",
            "A page on another site tried to send this request on your behalf; it was refused.",
            "Use the app from the EHR as usual.",
            403,
        )
    )


def init_app(app: Flask) -> None:
    app.before_request(refuse_cross_site_writes)


def secure_headers(resp: Response) -> Response:
    resp.headers.setdefault(
        "Content-Security-Policy", csp(current_app.config if has_app_context() else None)
    )
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
