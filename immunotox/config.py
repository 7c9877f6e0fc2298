"""Configuration: defaults, then environment variables, then an explicit mapping (tests).

Every setting the service reads is named here once; the README's configuration table mirrors it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    # Shared store for state every worker must see (JWT replay cache, SMART sessions, feedback).
    # Any SQLAlchemy URL: sqlite:///path (default) or postgresql+psycopg://...
    "DATABASE_URL": None,  # None: sqlite file under INSTANCE_DIR
    "INSTANCE_DIR": "var",
    # FHIR servers the service may call (comma-separated base URLs). Empty: none.
    "FHIR_ALLOWLIST": "",
    # CDS client trust: path to a JSON file [{"iss":..., "jwks_url":...} | {"iss":..., "jwks": {...}}]
    "CDS_CLIENTS": None,
    # "on" (default): every hook call needs a valid client JWT. "off": local demo and tests only.
    # With "on", PUBLIC_BASE_URL is required (the JWT's `aud`): the service refuses to start.
    "CDS_AUTH": "on",
    # Longest accepted client JWT lifetime in seconds (exp - iat, and exp - now): CDS Hooks 2.0
    # asks for a short-lived token.
    "CDS_JWT_MAX_LIFETIME_S": 300.0,
    # Hook deadline in seconds (prefetch completion included) and per-request FHIR timeout.
    "HOOK_DEADLINE_S": 2.0,
    "FHIR_TIMEOUT_S": 1.5,
    # Largest accepted request body in bytes: a prefetch of 10,000 Observations is 6-20 MB.
    "MAX_CONTENT_LENGTH": 32 * 1024 * 1024,
    # Request-body bytes one worker process parses and assesses at once (immunotox.admission):
    # small calls run side by side, large ones take turns, so memory per worker stays bounded.
    "WORKER_BODY_BUDGET": 8 * 1024 * 1024,
    # Seconds from the start of reading a request body to its last byte; slower is 408.
    "BODY_READ_TIMEOUT_S": 10.0,
    # Most JSON objects and arrays in one body (counted before parsing: a body of many small
    # ones costs far more memory than its bytes), Bundle entries in one prefetch, and feedback
    # items in one POST; more is 413.
    "MAX_JSON_CONTAINERS": 1_000_000,
    "MAX_PREFETCH_ENTRIES": 100_000,
    "MAX_FEEDBACK_ITEMS": 1000,
    # Hook calls (and app pages) of one worker process fetching from one FHIR server at once. A
    # call finding them taken waits up to FHIR_SLOT_WAIT_S (not at all when the server's calls
    # have lately taken more than half the hook deadline), then does without the fetch
    # (a degraded card, or 412 when the Patient is missing).
    "FHIR_CALLS_PER_SERVER": 2,
    "FHIR_SLOT_WAIT_S": 0.5,
    # Base URL the service is reached at (for card links and JWT `aud`). Required when CDS_AUTH
    # is on; None with CDS_AUTH off: card links from the request.
    "PUBLIC_BASE_URL": None,
    # SMART app registration (see README "Registering the app").
    "SMART_CLIENT_ID": "immunotox",
    "SMART_CLIENT_SECRET": None,
    "SMART_PRIVATE_KEY_PATH": None,
    "SMART_SCOPE_STYLE": "v2",  # "v2" (patient/Observation.rs) or "v1" (patient/Observation.read)
    # Ask for patient/Observation.c (v1: .write) so the bedside ICE form can record its score.
    # Off: the app asks for read scopes only and shows the ICE score's grade without writing.
    "SMART_WRITE_OBSERVATIONS": True,
    # `jku` header of the private_key_jwt client assertion. Unset (default): none, the server
    # uses the JWKS registered for the app (SMART App Launch 2.x); set only if it asks for one.
    "SMART_CLIENT_JKU": None,
    "SECRET_KEY": None,
    # Fernet key(s) encrypting SMART sessions (tokens) at rest, comma-separated, newest first.
    # None: derived from SECRET_KEY, else generated once into INSTANCE_DIR/token.key (0600).
    "TOKEN_KEY": None,
    # Session cookies Secure (and SameSite=None; Partitioned, for EHR frames on another site).
    # Off only for plain-http demos and tests (then SameSite=Lax: no cross-site frames).
    "SESSION_COOKIE_SECURE": True,
    # EHR origins allowed to show the app in a frame (CSP frame-ancestors), space- or
    # comma-separated, e.g. "https://ehr.example.org". Unset: only the app's own origin.
    "FRAME_ANCESTORS": "",
    "DEMO": False,
    # The CRS grading system whose grade drives the plan: astct2019 (default), lee2014, ctcae5.
    "CRS_PRIMARY": "astct2019",
    # The site's time zone for every time shown (cards, page, print, assess text): an IANA name.
    "TIMEZONE": "UTC",
    # Log lines: "text" (default) or "json" (one JSON object a line); both carry a request id.
    "LOG_FORMAT": "text",
    # Addresses whose X-Forwarded-Proto / X-Forwarded-For gunicorn trusts (the reverse proxy,
    # deploy/nginx); comma-separated, "*" trusts everyone (never on a reachable port).
    "FORWARDED_ALLOW_IPS": "127.0.0.1,::1",
}


def _coerce(default: Any, raw: str) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int) and not isinstance(default, bool):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw


def load(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    env = os.environ if environ is None else environ
    cfg = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        raw = env.get(f"IMMUNOTOX_{key}")
        if raw is not None:
            cfg[key] = _coerce(default, raw) if default is not None else raw
    if overrides:
        cfg.update(overrides)
    from services.assess import primary_system

    cfg["CRS_PRIMARY"] = primary_system(cfg.get("CRS_PRIMARY"))  # a bad value stops start-up
    from services.format import zone

    zone(cfg.get("TIMEZONE"))  # an unknown zone stops start-up too
    if not cfg["DATABASE_URL"]:
        Path(cfg["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
        cfg["DATABASE_URL"] = (
            f"sqlite:///{Path(cfg['INSTANCE_DIR']).resolve() / 'immunotox.sqlite3'}"
        )
    return cfg


def allowlist(cfg: Mapping[str, Any]) -> tuple[str, ...]:
    """Normalised FHIR base URLs (no trailing slash)."""
    raw = cfg.get("FHIR_ALLOWLIST") or ""
    items = raw if isinstance(raw, (list, tuple)) else raw.split(",")
    return tuple(u.strip().rstrip("/") for u in items if u.strip())
