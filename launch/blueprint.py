"""SMART App Launch routes (SMART App Launch 2.x).

- `GET /smart/launch?iss=...&launch=...`   EHR launch (also CDS card smart links)
- `GET /smart/standalone[?iss=...]`        standalone launch: pick a FHIR server
- `GET /smart/callback`                    redirect URI: code -> token -> session
- `GET /smart/.well-known/jwks.json`       the app's public key(s) for private_key_jwt
"""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Flask,
    Response,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from immunotox import config as config_mod
from launch import client_auth, discovery, errors, session, web
from launch.errors import LaunchError
from launch.web import cookie_options, error_response, secure_headers

log = logging.getLogger("immunotox.launch")


def create_blueprint(app: Flask) -> Blueprint:
    bp = Blueprint("launch", __name__, url_prefix="/smart", template_folder="templates")
    bp.after_request(secure_headers)
    web.init_app(app)

    def redirect_uri() -> str:
        base = app.config.get("PUBLIC_BASE_URL")
        if base:
            return f"{base.rstrip('/')}/smart/callback"
        return url_for("launch.callback", _external=True)

    def checked_iss(raw: str | None) -> str:
        if not raw:
            raise errors.bad_request("The launch names no FHIR server (iss).")
        iss = raw.strip().rstrip("/")
        if iss not in config_mod.allowlist(app.config):
            raise errors.unknown_server(iss)
        return iss

    def start(iss: str, launch: str | None, standalone: bool) -> Response:
        smart_config = discovery.discover(iss, timeout=float(app.config["FHIR_TIMEOUT_S"]) + 3)
        url, state = session.authorize_url(
            app, smart_config, iss, redirect_uri(), launch, standalone
        )
        resp = redirect(url, code=302)
        resp.set_cookie(
            session.LAUNCH_COOKIE,
            session.with_pending(request, state),
            max_age=session.PENDING_TTL_S,
            path="/smart/",
            **cookie_options(app.config),
        )
        return resp

    @bp.get("/launch")
    def ehr_launch():
        iss = checked_iss(request.args.get("iss"))
        launch = request.args.get("launch")
        if not launch:
            raise errors.bad_request(
                "An EHR launch needs a launch parameter; to start without an EHR use "
                "the standalone launch."
            )
        return start(iss, launch, standalone=False)

    @bp.get("/standalone")
    def standalone():
        servers = config_mod.allowlist(app.config)
        if request.args.get("iss"):
            return start(checked_iss(request.args["iss"]), None, standalone=True)
        return render_template("launch/standalone.html", servers=servers)

    @bp.get("/callback")
    def callback():
        sess = session.complete(app, request)
        resp = redirect(url_for("smart_app.index", ctx=sess["ctx"]), code=302)
        options = cookie_options(app.config)
        resp.set_cookie(
            session.SID_COOKIE,
            session.add_sid(request, sess["sid"]),
            max_age=session.SESSION_TTL_S,
            path="/",
            **options,
        )
        left = [s for s in session.pending_states(request) if s != request.args.get("state")]
        if left:
            resp.set_cookie(
                session.LAUNCH_COOKIE,
                " ".join(left),
                max_age=session.PENDING_TTL_S,
                path="/smart/",
                **options,
            )
        else:
            resp.delete_cookie(session.LAUNCH_COOKIE, path="/smart/", **options)
        return resp

    @bp.get("/.well-known/jwks.json")
    def jwks():
        resp = jsonify(client_auth.jwks(app.config))
        resp.headers["Cache-Control"] = "public, max-age=300"
        return resp

    @bp.app_errorhandler(LaunchError)
    def launch_error(e: LaunchError):
        log.warning("launch/session failure: %s reason=%s", e.kind, e.reason)
        return error_response(e)

    return bp
