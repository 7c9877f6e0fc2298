"""HTTP for the CDS Hooks service: discovery, one route per call, feedback; CORS; client JWT.

Routes (https://cds-hooks.hl7.org/2.0/):
- `GET  /cds-services`                   discovery, built from `registry.SERVICES`
- `POST /cds-services/<id>`              a service call (`pipeline.call_service`)
- `POST /cds-services/<id>/feedback`     feedback items (`feedback.store_feedback`)

Every answer is JSON (a 401 is bare), carries CORS headers, and is logged as one line with the
service id, status and duration: never tokens, never patient identifiers. Statuses: 400 malformed
JSON or a specification violation (naming the field), 401 client JWT refused, 404 unknown
service, 405 wrong method, 408 body not received within `BODY_READ_TIMEOUT_S`, 412 required
data unobtainable, 413 body too large (declared, chunked, too many JSON objects, prefetch
entries or feedback items), 415 not JSON, 503 store unavailable.

Resources: the body is read before admission, within a deadline from the start of reading, its
bytes counted against the worker's budget as they arrive; it is then admitted by its weight
(bytes, or JSON objects for bodies of many small ones) and at least `FETCH_WEIGHT` when the call
will fetch; fetched FHIR answers are counted too, at most `MAX_CONTENT_LENGTH` a call. The hook
deadline runs from arrival (`X-Request-Start` from the reverse proxy when it sends one).
"""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import BadRequest, ClientDisconnected, RequestEntityTooLarge

from cds_hooks import feedback as fb
from cds_hooks.auth import AuthError, JwksCache, Verifier, load_clients
from cds_hooks.pipeline import call_service
from cds_hooks.registry import SERVICES, ServiceDef, discovery
from cds_hooks.spec import SpecError, parse_feedback
from immunotox import arrival as arrival_mod
from immunotox.admission import ByteBudget
from immunotox.fhir_client import ByteAccount, ServerSlots
from immunotox.store import get_store
from services.format import display_zone

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
    slots: ServerSlots | None = None
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


# a JSON object or array of real FHIR data takes about 50 bytes of the body (a 10,000-Observation
# prefetch: 6.5 MB, 131,000 of them); admission weighs a body of many small ones by their count
BYTES_PER_CONTAINER = 50
# how much of the worker's budget a call that will fetch from the FHIR server is admitted with
# before its answers arrive (they are counted as they do)
FETCH_WEIGHT_SHARE = 2


def arrival() -> float:
    """When the request arrived (monotonic clock): the earliest of the time the server queued it
    for a thread (`immunotox.arrival`, set by `immunotox serve`), the reverse proxy's
    `X-Request-Start` (nginx: `t=${msec}`, seconds; or milliseconds) and now; never more than a
    minute before now (a client can only shorten its own deadline)."""
    now = time.monotonic()
    earliest = now
    queued = arrival_mod.queued_at()
    if queued is not None:
        earliest = min(earliest, queued)
    raw = request.headers.get("X-Request-Start", "").strip()
    if raw.startswith("t="):
        raw = raw[2:]
    try:
        stamp = float(raw)
    except ValueError:
        stamp = None
    if stamp is not None and stamp == stamp:  # not NaN
        if stamp > 1e11:  # milliseconds
            stamp /= 1000.0
        earliest = min(earliest, now - max(time.time() - stamp, 0.0))
    return max(earliest, now - 60.0)


def _stop_reading(sock: Any) -> None:
    """The body's deadline passed: end the blocked read (the answer can still be sent)."""
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RD)


def _read_body(budget: ByteBudget) -> tuple[bytes | None, Response | None]:
    """The request body, read within `BODY_READ_TIMEOUT_S` from the start of reading, counted
    against the worker's budget as it arrives; a 4xx answer instead when it is not JSON, too
    large (declared or chunked) or too slow."""
    if request.mimetype not in _JSON_TYPES:
        return None, _err(415, "the body must be JSON (Content-Type: application/json)")
    cfg = current_app.config
    limit = cfg.get("MAX_CONTENT_LENGTH")
    declared = request.content_length
    too_large = _err(413, f"the body is larger than {limit} bytes")
    if limit and declared is not None and declared > limit:
        return None, too_large
    timeout_s = float(cfg.get("BODY_READ_TIMEOUT_S") or 10.0)
    # from when a thread starts reading: time spent queued here is not the client's slowness
    deadline = time.monotonic() + timeout_s
    slow = _err(408, f"the body did not arrive within {timeout_s:g} s", {"Connection": "close"})
    sock = request.environ.get("gunicorn.socket")
    timer = None
    if sock is not None:  # a read blocked on a trickling client is ended at the deadline
        timer = threading.Timer(max(deadline - time.monotonic(), 0.0), _stop_reading, (sock,))
        timer.daemon = True
        timer.start()
    buf = bytearray()
    try:
        with budget.account() as arriving:
            stream = request.stream
            while True:
                chunk = stream.read(65536)
                if not chunk:
                    break
                buf += chunk
                arriving.add(len(chunk))
                if limit and len(buf) > limit:
                    return None, too_large
                if time.monotonic() > deadline:
                    return None, slow
    except RequestEntityTooLarge:
        return None, too_large
    except (ClientDisconnected, BadRequest, OSError):
        if time.monotonic() >= deadline:
            return None, slow
        return None, _err(400, "the body ended before its declared length")
    finally:
        if timer is not None:
            timer.cancel()
    if declared is not None and len(buf) < declared:
        if time.monotonic() >= deadline:
            return None, slow
        return None, _err(400, "the body ended before its declared length")
    return bytes(buf), None


def _containers(raw: bytes) -> int:
    """An upper bound on the JSON objects and arrays in `raw` (counted in C, before parsing)."""
    return raw.count(b"{") + raw.count(b"[")


def _parse(raw: bytes, containers: int) -> tuple[Any, Response | None]:
    most = int(current_app.config.get("MAX_JSON_CONTAINERS") or 1_000_000)
    if containers > most:
        return None, _err(413, f"the body holds more than {most:,} JSON objects and arrays")
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError) as e:
        where = (
            f" (line {e.lineno}, column {e.colno})" if isinstance(e, json.JSONDecodeError) else ""
        )
        return None, _err(400, f"the body is not valid JSON{where}")


def _read_json() -> tuple[Any, Response | None]:
    raw, error = _read_body(_state().budget)
    if error:
        return None, error
    assert raw is not None
    return _parse(raw, _containers(raw))


def _prefetch_entries(body: Any) -> int:
    prefetch = body.get("prefetch") if isinstance(body, dict) else None
    if not isinstance(prefetch, dict):
        return 0
    return sum(
        len(v["entry"])
        for v in prefetch.values()
        if isinstance(v, dict) and isinstance(v.get("entry"), list)
    )


def _may_fetch(body: Any, service: ServiceDef) -> bool:
    """Whether the call names a FHIR server and leaves a prefetch key to fetch."""
    if not isinstance(body, dict) or not body.get("fhirServer"):
        return False
    prefetch = body.get("prefetch")
    prefetch = prefetch if isinstance(prefetch, dict) else {}
    return any(not isinstance(prefetch.get(k), dict) for k in service.prefetch)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


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
    budget: ByteBudget = app.extensions["immunotox.budget"]
    slots: ServerSlots = app.extensions["immunotox.fhir_slots"]
    app.extensions["immunotox.cds_hooks"] = _State(verifier, auth_off, budget, slots)

    @bp.before_request
    def _start() -> None:
        g.cds_started = arrival()

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
        raw, error = _read_body(budget)
        if error:
            return error
        assert raw is not None
        containers = _containers(raw)
        weight = max(len(raw), containers * BYTES_PER_CONTAINER)
        with budget.admit(weight):
            # the request's data is freed when _serve returns, before the next one is admitted
            return _serve(SERVICES[service_id], raw, containers, weight)

    def _serve(service: ServiceDef, raw: bytes, containers: int, weight: int) -> Response:
        body, error = _parse(raw, containers)
        del raw
        if error:
            return error
        most = int(cfg.get("MAX_PREFETCH_ENTRIES") or 100_000)
        if _prefetch_entries(body) > most:
            return _err(413, f"the prefetch holds more than {most:,} Bundle entries")
        extra = 0
        if _may_fetch(body, service):
            # a share of the budget held for the answers still to come (counted as they arrive)
            extra = max(budget.capacity // FETCH_WEIGHT_SHARE - weight, 0)
        limit = int(cfg.get("MAX_CONTENT_LENGTH") or 32 * 1024 * 1024)
        left = float(cfg.get("HOOK_DEADLINE_S", 2.0)) - (time.monotonic() - g.cds_started)
        # (no longer than the hook's deadline: past it nothing is fetched)
        held = budget.admit(extra, max_wait_s=left) if extra and left > 0 else _nothing()
        zone = display_zone(current_app.config.get("TIMEZONE"))  # times on cards: local
        with held, budget.account() as got, zone:
            outcome = call_service(
                service,
                body,
                current_app.config,
                _base_url(),
                started=g.get("cds_started"),
                account=ByteAccount(cap=limit, charge=got.add),
                slots=slots,
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
        most = int(cfg.get("MAX_FEEDBACK_ITEMS") or 1000)
        given = body.get("feedback") if isinstance(body, dict) else None
        if isinstance(given, list) and len(given) > most:
            return _err(413, f"at most {most:,} feedback items a request")
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
