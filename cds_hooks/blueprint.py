"""HTTP for the CDS Hooks service: discovery, one route per call, feedback; CORS; client JWT.

Routes (https://cds-hooks.hl7.org/2.0/):
- `GET  /cds-services`                   discovery, built from `registry.SERVICES`
- `POST /cds-services/<id>`              a service call (`pipeline.call_service`)
- `POST /cds-services/<id>/feedback`     feedback items (`feedback.store_feedback`)

Every answer is JSON (a 401 is bare), carries CORS headers, and is logged as one line with the
service id, status and duration: never tokens, never patient identifiers. Statuses: 400 malformed
JSON or a specification violation (naming the field), 401 client JWT refused, 404 unknown
service, 405 wrong method, 412 required data unobtainable, 413 body too large, 415 not JSON.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge

from cds_hooks import feedback as fb
from cds_hooks.auth import AuthError, JwksCache, Verifier, load_clients
from cds_hooks.pipeline import call_service
from cds_hooks.registry import SERVICES, ServiceDef, discovery
from cds_hooks.spec import SpecError, parse_feedback
from immunotox.admission import ByteBudget
from immunotox.store import get_store

log = logging.getLogger("immunotox.cds_hooks")

_ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
_JSON_TYPES = ("application/json", "application/fhir+json")
_SAFE_ID = re.compile(r"[^A-Za-z0-9_\-]")
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


@dataclass
class _State:
    verifier: Verifier | None
    auth_off: bool
    budget: ByteBudget
    warned: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    resp = Response(
        json.dumps(body, separators=(",", ":")), status=status, mimetype="application/json"
    )
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _err(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"error": status, "message": message}, headers)


def _base_url() -> str:
    public = current_app.config.get("PUBLIC_BASE_URL")
    return (public or request.host_url).rstrip("/")


def _called_url() -> str:
    """The URL the client called, from the configured public base URL (never from the Host
    header: the blueprint refuses to start with JWT checking on and no public base URL)."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + request.path


def _state() -> _State:
    return current_app.extensions["immunotox.cds_hooks"]


def _authorize() -> Response | None:
    st = _state()
    if st.auth_off:
        if not st.warned:
            with st.lock:
                if not st.warned:
                    st.warned = True
                    log.warning(
                        "CDS_AUTH is off: client JWTs are not checked (demo and tests only)"
                    )
        return None
    try:
        assert st.verifier is not None
        st.verifier.verify(request.headers.get("Authorization"), _called_url())
    except AuthError as e:
        log.warning("client JWT refused: reason=%s (%s)", e.code, e)
        return Response(b"", status=401, headers={"WWW-Authenticate": "Bearer"})
    return None


def _method_not_allowed(allowed: str) -> Response:
    return _err(405, f"method {request.method} not allowed here; use {allowed}", {"Allow": allowed})


def _read_json() -> tuple[Any, Response | None]:
    if request.mimetype not in _JSON_TYPES:
        return None, _err(415, "the body must be JSON (Content-Type: application/json)")
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and request.content_length is not None and request.content_length > limit:
        return None, _err(413, f"the body is larger than {limit} bytes")
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return None, _err(413, f"the body is larger than {limit} bytes")
    if limit and len(raw) > limit:
        return None, _err(413, f"the body is larger than {limit} bytes")
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError) as e:
        where = (
            f" (line {e.lineno}, column {e.colno})" if isinstance(e, json.JSONDecodeError) else ""
        )
        return None, _err(400, f"the body is not valid JSON{where}")


def create_blueprint(app: Flask) -> Blueprint:
    bp = Blueprint("cds_hooks", __name__)
    cfg = app.config
    store = get_store(app)
    fb.create_tables(store.engine)
    auth_off = str(cfg.get("CDS_AUTH", "on")).lower() == "off"
    verifier = None
    if not auth_off:
        if not cfg.get("PUBLIC_BASE_URL"):
            # the JWT's `aud` is checked against this URL; taken from the request's Host header
            # instead, a token minted for another deployment would pass with a forged Host
            raise RuntimeError(
                "IMMUNOTOX_PUBLIC_BASE_URL must be set when client JWTs are checked "
                "(IMMUNOTOX_CDS_AUTH=on): it is the audience every token must name"
            )
        clients = load_clients(cfg.get("CDS_CLIENTS"))
        if not clients:
            log.warning("no trusted CDS clients configured: every hook call will be refused")
        verifier = Verifier(
            clients,
            store.put_if_absent,
            JwksCache(float(cfg.get("FHIR_TIMEOUT_S", 1.5))),
            max_lifetime_s=float(cfg.get("CDS_JWT_MAX_LIFETIME_S") or 300.0),
        )
    budget = ByteBudget(int(cfg.get("WORKER_BODY_BUDGET") or 8 * 1024 * 1024))
    app.extensions["immunotox.cds_hooks"] = _State(verifier, auth_off, budget)

    @bp.before_request
    def _start() -> None:
        g.cds_started = time.monotonic()

    @bp.after_request
    def _finish(resp: Response) -> Response:
        for k, v in CORS_HEADERS.items():
            resp.headers[k] = v
        started = g.get("cds_started")
        ms = (time.monotonic() - started) * 1000 if started else -1.0
        sid = (request.view_args or {}).get("service_id")
        label = _SAFE_ID.sub("", sid)[:64] if isinstance(sid, str) else request.endpoint or "-"
        extra = g.get("cds_log_extra", "")
        log.info(
            "cds-hooks service=%s method=%s status=%d duration_ms=%.1f%s",
            label,
            request.method,
            resp.status_code,
            ms,
            extra,
        )
        return resp

    @bp.route("/cds-services", methods=_ALL_METHODS)
    def discovery_view() -> Response:
        if request.method == "OPTIONS":
            return Response(status=204)
        if request.method not in ("GET", "HEAD"):
            return _method_not_allowed("GET, OPTIONS")
        denied = _authorize()
        if denied:
            return denied
        return _json(200, discovery())

    def _post_preamble(service_id: str) -> Response | None:
        """What every POST route answers before its own work: preflight, wrong method,
        failed client authentication, unknown service."""
        if request.method == "OPTIONS":
            return Response(status=204)
        if request.method != "POST":
            return _method_not_allowed("POST, OPTIONS")
        denied = _authorize()
        if denied:
            return denied
        if service_id not in SERVICES:
            return _err(404, "no such CDS service; see GET /cds-services")
        return None

    @bp.route("/cds-services/<service_id>", methods=_ALL_METHODS)
    def service_view(service_id: str) -> Response:
        early = _post_preamble(service_id)
        if early is not None:
            return early
        with budget.admit(request.content_length):
            # the request's data is freed when _serve returns, before the next one is admitted
            return _serve(SERVICES[service_id])

    def _serve(service: ServiceDef) -> Response:
        body, error = _read_json()
        if error:
            return error
        outcome = call_service(
            service, body, current_app.config, _base_url(), started=g.get("cds_started")
        )
        if outcome.status == 200:
            g.cds_log_extra = f" cards={len(outcome.cards)}" + (
                " degraded" if outcome.degraded else ""
            )
            try:
                fb.record_cards(store.engine, service.id, outcome.cards)
            except Exception as e:  # the cards still go out; the report just misses them
                log.error("recording cards failed: %s", type(e).__name__)
        return _json(outcome.status, outcome.body)

    @bp.route("/cds-services/<service_id>/feedback", methods=_ALL_METHODS)
    def feedback_view(service_id: str) -> Response:
        early = _post_preamble(service_id)
        if early is not None:
            return early
        body, error = _read_json()
        if error:
            return error
        try:
            items = parse_feedback(body)
        except SpecError as e:
            return _json(
                400,
                {
                    "error": 400,
                    "message": f"invalid feedback: {e.field}: {e.message}",
                    "field": e.field,
                },
            )
        try:
            n = fb.store_feedback(store.engine, service_id, items)
        except Exception as e:
            log.error("storing feedback failed: %s", type(e).__name__)
            return _err(503, "feedback could not be stored; try again", {"Retry-After": "30"})
        return _json(200, {"stored": n})

    @bp.route("/cds-services/<path:rest>", methods=_ALL_METHODS)
    def unknown_view(rest: str) -> Response:
        if request.method == "OPTIONS":
            return Response(status=204)
        return _err(404, "no such CDS Hooks resource; see GET /cds-services")

    return bp
