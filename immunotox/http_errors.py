"""JSON answers for platform failures, shared by every blueprint."""

from __future__ import annotations

import logging

from flask import Response, jsonify

log = logging.getLogger("immunotox")

STORE_RETRY_AFTER_S = 30


def store_unavailable(e: Exception) -> Response:
    """The shared store failed (full, read-only, unreachable): JSON 503 with Retry-After, on
    every route, never an HTML 500; the statement's parameters are not logged."""
    log.error("store unavailable: %s", type(e).__name__)
    resp = jsonify(
        {"error": 503, "message": "the service's store is unavailable; try again shortly"}
    )
    resp.status_code = 503
    resp.headers["Retry-After"] = str(STORE_RETRY_AFTER_S)
    return resp
