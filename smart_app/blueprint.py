"""The assessment app: one page per launched patient, and its JSON.

- `GET /app/`                 the assessment page for the session's patient
- `GET /app/api/assessment`   the same assessment as JSON (`Assessment.to_dict()`)
- `GET /app/style.css`        the EHR's style from the launch's `smart_style_url` (`style`)

Both fetch the patient's record from the FHIR server of the SMART session (see `fetch`) and
run the domain core (`services.assess.assess`). Pages are Jinja templates with autoescape;
scripts and stylesheets are served from `/app/static/` and the CSP forbids inline script.
"""

from __future__ import annotations

import logging
import time
import traceback
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from immunotox.admission import ByteBudget
from immunotox.fhir_client import ByteAccount, FhirError, ServerSlots
from immunotox.http_errors import store_unavailable
from launch import errors, scopes, session
from launch.errors import LaunchError
from launch.web import error_response, secure_headers
from services.format import clinical, display_zone
from smart_app import fetch, ice, style, timeline, view

log = logging.getLogger("immunotox.app")

# How long a page waits for a slot on its FHIR server (FHIR_CALLS_PER_SERVER per worker).
APP_SLOT_WAIT_S = 5.0


def run_assessment(resources: list[dict[str, Any]], crs_primary: str | None = None) -> Any:
    from services.assess import assess

    return assess(resources, crs_primary=crs_primary)


def _load(app: Flask) -> tuple[dict[str, Any], fetch.Record, Any]:
    sess = session.load(app, request)

    def token(refused: str | None) -> str:
        return session.access_token(app, sess, stale=refused)

    started = time.monotonic()
    budget: ByteBudget = app.extensions["immunotox.budget"]
    slots: ServerSlots = app.extensions["immunotox.app_fhir_slots"]
    # one page at a time per FHIR server beyond the hooks' share, half the worker's budget held
    # for its answers (counted as they arrive, at most MAX_CONTENT_LENGTH a page)
    try:
        slot = slots.acquire(sess["iss"], APP_SLOT_WAIT_S)
    except FhirError:
        raise errors.fhir_unavailable(
            "The FHIR server is busy with other requests from this service."
        ) from None
    try:
        with budget.admit(budget.capacity // 2), budget.account() as got:
            record = fetch.fetch_record(
                sess["iss"],
                sess["patient"],
                token,
                timeout=max(5.0, float(app.config["FHIR_TIMEOUT_S"])),
                readable=scopes.readable(sess.get("scope") or ""),
                account=ByteAccount(
                    cap=int(app.config.get("MAX_CONTENT_LENGTH") or 32 * 1024 * 1024) * 2,
                    charge=got.add,
                ),
            )
            fetched = time.monotonic()
            assessment = run_assessment(record.resources, crs_primary=app.config.get("CRS_PRIMARY"))
    finally:
        slot.release()
    log.info(
        "assessment built: %d resources, fetch %.0f ms, assess %.0f ms",
        len(record.resources),
        (fetched - started) * 1000,
        (time.monotonic() - fetched) * 1000,
    )
    return sess, record, assessment


def create_blueprint(app: Flask) -> Blueprint:
    bp = Blueprint(
        "smart_app",
        __name__,
        url_prefix="/app",
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    bp.after_request(secure_headers)
    # Units and source names as clinicians write them (°C, µg/min, Lee 2014) in every text.
    bp.add_app_template_filter(clinical, "clin")

    @bp.errorhandler(Exception)
    def unexpected(e: Exception):
        """A failure of the assessment itself: a clear page, the details in the log only."""
        if isinstance(e, HTTPException):
            return e
        if isinstance(e, SQLAlchemyError):
            return store_unavailable(e)
        if isinstance(e, LaunchError):
            log.warning("launch/session failure: %s reason=%s", e.kind, e.reason)
            return error_response(e)
        tb = traceback.extract_tb(e.__traceback__)
        where = f"{tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else "?"
        # the type and place only: messages may quote patient data
        log.error("assessment failed: %s at %s", type(e).__name__, where)
        return error_response(
            LaunchError(
                "assessment_failed",
                "The assessment could not be computed",
                "The patient's record was read, but building the assessment failed. The "
                "failure has been logged for the support team.",
                "Use the EHR's own data for now, and report the time of this failure.",
                500,
            )
        )

    @bp.get("/")
    def index():
        sess, record, assessment = _load(app)
        with display_zone(app.config.get("TIMEZONE")):  # times on the page and the print: local
            return _page(sess, record, assessment)

    @bp.post("/ice")
    def ice_submit():
        """The bedside ICE form: grade the entry, write it when allowed, show the page again
        with the answers kept (`smart_app.ice`)."""
        sess = session.load(app, request)
        if not ice.csrf_ok(sess, request.form.get(ice.CSRF_FIELD)):
            raise LaunchError(
                "form_expired",
                "The form could not be accepted",
                "The form did not come from this app's page for this patient, or the page is "
                "from an earlier sign-in. Nothing was saved.",
                "Open the app again from the EHR and enter the assessment there.",
                403,
            )
        state, status = ice.submit(app, sess, request.form, datetime.now(UTC))
        # the record read after the write, so the page grades the new score as the hooks will
        sess, record, assessment = _load(app)
        with display_zone(app.config.get("TIMEZONE")):
            return _page(sess, record, assessment, state), status

    def _page(
        sess: dict[str, Any],
        record: fetch.Record,
        assessment: Any,
        ice_state: ice.IceState | None = None,
    ) -> str:
        return render_template(
            "smart_app/assessment.html",
            a=assessment,
            sess=sess,
            banner=view.banner(record.patient) if sess.get("need_patient_banner") else None,
            # the printout names the patient on every page, banner or not
            print_banner=view.banner(record.patient),
            problems=record.problems,
            timeline_svg=timeline.render(assessment),
            panels=timeline.build_panels(assessment),
            systems=view.SYSTEMS,
            v=view,
            context_note=view.app_context_note(sess.get("app_context")),
            ctx=sess["ctx"],
            ice=ice_state or ice.state(app, sess),
        )

    @bp.get("/style.css")
    def smart_style():
        """The EHR's style (`smart_style_url` of the launch) as CSS custom properties, or the
        default style: `smart_app.style` (same-origin fetch, SMART keys, strict values)."""
        try:
            sess = session.load(app, request)
        except LaunchError:
            sess = {}
        found = style.load_style(app.config, sess.get("iss"), sess.get("smart_style_url"))
        resp = Response(style.stylesheet(found), mimetype="text/css")
        resp.headers["Cache-Control"] = "private, max-age=300"
        return resp

    @bp.get("/api/assessment")
    def api_assessment():
        sess, record, assessment = _load(app)
        doc = assessment.to_dict()
        doc["fetch_problems"] = record.problems
        doc["launch"] = {
            "need_patient_banner": sess.get("need_patient_banner"),
            "app_context": sess.get("app_context"),
            "standalone": sess.get("standalone"),
        }
        return jsonify(doc)

    return bp
