"""Health endpoints for load balancers and orchestrators.

- `GET /healthz`  liveness: the process answers (no dependency is touched).
- `GET /readyz`   readiness: the store answers a query and the configuration can serve
  (with client JWT checking on, at least one trusted CDS client is loaded; a FHIR server is on
  the allowlist). 200 when every check passes, else 503 with the failing checks named.

Neither says anything secret: no URL, no key, no patient.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy import text

from immunotox import __version__
from immunotox import config as config_mod
from immunotox.store import get_store

log = logging.getLogger("immunotox.health")


def _checks(app: Flask) -> dict[str, dict[str, Any]]:
    checks: dict[str, dict[str, Any]] = {}
    try:
        engine = get_store(app).engine
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["store"] = {"ok": True}
    except Exception as e:  # any driver failure means not ready; the type says which
        log.warning("readiness: store check failed (%s)", type(e).__name__)
        checks["store"] = {"ok": False, "why": f"the store does not answer ({type(e).__name__})"}
    cds = app.extensions.get("immunotox.cds_hooks")
    if str(app.config.get("CDS_AUTH", "on")).lower() == "off":
        checks["cds_clients"] = {"ok": True, "note": "client JWT checking is off"}
    elif cds is not None and cds.verifier is not None and cds.verifier.clients:
        checks["cds_clients"] = {"ok": True, "trusted": len(cds.verifier.clients)}
    else:
        checks["cds_clients"] = {
            "ok": False,
            "why": "client JWT checking is on but no trusted CDS client is loaded "
            "(IMMUNOTOX_CDS_CLIENTS)",
        }
    servers = config_mod.allowlist(app.config)
    checks["fhir_allowlist"] = (
        {"ok": True, "servers": len(servers)}
        if servers
        else {"ok": False, "why": "no FHIR server is allowed (IMMUNOTOX_FHIR_ALLOWLIST)"}
    )
    return checks


def create_blueprint() -> Blueprint:
    bp = Blueprint("health", __name__)

    @bp.get("/healthz")
    def healthz() -> Response:
        resp = jsonify({"status": "ok", "version": __version__})
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @bp.get("/readyz")
    def readyz() -> Response:
        checks = _checks(current_app._get_current_object())  # type: ignore[attr-defined]
        ready = all(c["ok"] for c in checks.values())
        resp = jsonify({"status": "ready" if ready else "not ready", "checks": checks})
        resp.status_code = 200 if ready else 503
        resp.headers["Cache-Control"] = "no-store"
        return resp

    return bp
