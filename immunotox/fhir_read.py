"""Read one patient's record from an open FHIR R4 server for `immunotox assess --fhir-base`.

Uses `fhirclient` (its `FHIRServer`: one `requests` session, FHIR JSON headers, errors by
status) for every request. Searches the same resource types as the SMART app
(`smart_app.fetch.SEARCHES`) by `patient=`, following each Bundle's `next` link while it stays
on the same server and under the same base path (`immunotox.fhir_client.outside_base`), up to `MAX_PAGES` pages a type. Resources stay the server's JSON: the adapter reads
them as it reads a Bundle file, so both give the same assessment. Compressed answers (gzip,
deflate) are decoded by `requests`.

No authorization: for open servers (public sandboxes, a local test server). Through the SMART
app for anything else.
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import urlsplit

import requests

from immunotox.fhir_client import outside_base

MAX_PAGES = 50
PAGE_SIZE = 500


class ReadError(Exception):
    """The record could not be read: one line for the user."""


class _TimeoutSession(requests.Session):
    """fhirclient's session, with a timeout on every request and no redirects to elsewhere."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        return super().request(method, url, **kwargs)


def _server(base: str, timeout: float) -> Any:
    from fhirclient import client

    smart = client.FHIRClient(settings={"app_id": "immunotox-cli", "api_base": base + "/"})
    server = smart.server
    server.session = _TimeoutSession(timeout)
    return server


def _get_json(server: Any, path: str, what: str) -> dict[str, Any]:
    from fhirclient.server import (
        FHIRNotFoundException,
        FHIRPermissionDeniedException,
        FHIRUnauthorizedException,
    )

    try:
        doc = server.request_json(path)
    except FHIRNotFoundException:
        raise ReadError(f"{what}: not found on the FHIR server (HTTP 404)") from None
    except (FHIRUnauthorizedException, FHIRPermissionDeniedException) as e:
        status = getattr(getattr(e, "response", None), "status_code", "401/403")
        raise ReadError(
            f"{what}: the FHIR server asks for authorization (HTTP {status}); "
            "--fhir-base reads open servers only, use the SMART app for others"
        ) from None
    except requests.Timeout:
        raise ReadError(f"{what}: the FHIR server did not answer in time") from None
    except requests.HTTPError as e:
        status = e.response.status_code if e.response is not None else "?"
        raise ReadError(f"{what}: the FHIR server answered HTTP {status}") from None
    except requests.RequestException as e:
        raise ReadError(
            f"{what}: the FHIR server could not be reached ({type(e).__name__})"
        ) from None
    except ValueError:
        raise ReadError(f"{what}: the FHIR server did not answer JSON") from None
    if not isinstance(doc, dict):
        raise ReadError(f"{what}: the answer is not a FHIR resource")
    return doc


def read_patient_bundle(base: str, patient_id: str, timeout: float = 30.0) -> dict[str, Any]:
    """A collection Bundle of the patient and every resource the assessment reads."""
    from smart_app.fetch import SEARCHES

    base = base.rstrip("/")
    if urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).netloc:
        raise ReadError(f"--fhir-base {base!r} is not an http(s) URL")
    if not patient_id or "/" in patient_id or "?" in patient_id:
        raise ReadError("--patient must be a Patient id (letters, digits, '-', '.')")
    server = _server(base, timeout)
    patient = _get_json(server, f"Patient/{patient_id}", f"Patient/{patient_id}")
    if patient.get("resourceType") != "Patient":
        raise ReadError(f"Patient/{patient_id}: the answer is not a Patient")
    resources: list[dict[str, Any]] = [patient]
    for rtype, extra in SEARCHES.items():
        query = "&".join(
            f"{k}={v}" for k, v in {"patient": patient_id, **extra, "_count": PAGE_SIZE}.items()
        )
        path: str | None = f"{rtype}?{query}"
        pages = 0
        while path:
            if pages == MAX_PAGES:
                print(
                    f"immunotox: {rtype}: only the first {MAX_PAGES} pages were read",
                    file=sys.stderr,
                )
                break
            page = _get_json(server, path, f"{rtype} search")
            pages += 1
            if page.get("resourceType") != "Bundle":
                raise ReadError(f"{rtype} search: the answer is not a Bundle")
            for entry in page.get("entry") or []:
                res = entry.get("resource") if isinstance(entry, dict) else None
                mode = ((entry.get("search") or {}) if isinstance(entry, dict) else {}).get(
                    "mode", "match"
                )
                if isinstance(res, dict) and res.get("resourceType") and mode != "outcome":
                    resources.append(res)
            nxt = next(
                (
                    lk.get("url")
                    for lk in page.get("link") or []
                    if isinstance(lk, dict) and lk.get("relation") == "next"
                ),
                None,
            )
            if nxt and outside_base(nxt, base) is not None:
                print(
                    f"immunotox: {rtype}: the next page is on another server; not followed",
                    file=sys.stderr,
                )
                nxt = None
            path = nxt
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }
