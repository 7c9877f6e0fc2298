"""SMART discovery: `{iss}/.well-known/smart-configuration`, then the CapabilityStatement's
oauth-uris extension as a fallback (SMART App Launch 2.x, "Conformance").

Every call has a timeout and follows no redirect (a redirect elsewhere is a failure, not a new
server). A server that answers neither way is reported as unavailable; a server that answers but
advertises no SMART endpoints is reported as not SMART-enabled. A discovered configuration is
kept `CACHE_TTL_S` per process: a launch does not cost the FHIR server a request, and a burst of
launches cannot be turned into a burst of requests to it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests

from launch import errors

CACHE_TTL_S = 300.0
_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def discover(iss: str, timeout: float) -> dict[str, Any]:
    base = iss.rstrip("/")
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(base)
    if hit is not None and now - hit[0] < CACHE_TTL_S:
        return dict(hit[1])
    doc = _discover(base, timeout)
    with _cache_lock:
        _cache[base] = (time.monotonic(), doc)
    return dict(doc)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def _discover(base: str, timeout: float) -> dict[str, Any]:
    reached = False
    try:
        r = requests.get(
            f"{base}/.well-known/smart-configuration",
            headers={"Accept": "application/json"},
            timeout=timeout,
            allow_redirects=False,
        )
        reached = True
        if r.status_code == 200:
            doc = r.json()
            if (
                isinstance(doc, dict)
                and doc.get("authorization_endpoint")
                and doc.get("token_endpoint")
            ):
                return doc
    except (requests.RequestException, ValueError):
        pass
    try:
        r = requests.get(
            f"{base}/metadata",
            headers={"Accept": "application/fhir+json"},
            timeout=timeout,
            allow_redirects=False,
        )
        reached = True
        if r.status_code == 200:
            doc = _from_capability_statement(r.json())
            if doc:
                return doc
    except (requests.RequestException, ValueError):
        pass
    if not reached:
        raise errors.fhir_unavailable(f"The FHIR server at {base} could not be reached.")
    raise errors.LaunchError(
        "not_smart",
        "This FHIR server does not offer SMART sign-in",
        f"{base} publishes neither .well-known/smart-configuration nor OAuth endpoints in its "
        "CapabilityStatement.",
        "Check the FHIR base URL.",
        502,
    )


def _from_capability_statement(cs: Any) -> dict[str, Any] | None:
    if not isinstance(cs, dict):
        return None
    for rest in cs.get("rest") or []:
        for ext in (rest.get("security") or {}).get("extension") or []:
            if ext.get("url") != OAUTH_URIS:
                continue
            found = {e.get("url"): e.get("valueUri") for e in ext.get("extension") or []}
            if found.get("authorize") and found.get("token"):
                return {
                    "authorization_endpoint": found["authorize"],
                    "token_endpoint": found["token"],
                    "capabilities": [],
                    "discovered_from": "CapabilityStatement",
                }
    return None
