"""Fetch one patient's record from a FHIR server for the assessment.

The resource types of `services.record.RECORD` are searched in parallel by `patient=`, each
through the one FHIR client (`immunotox.fhir_client`): a per-request timeout and one overall
deadline (checked while a body arrives too), a size limit per page, compressed answers decoded,
`next` links up to `MAX_PAGES` pages and only under the session's FHIR base after normalising
(a token is never sent elsewhere). A 401 triggers one token refresh. What
could not be fetched is returned as a problem and shown on the page, never dropped silently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from immunotox import fhir_client
from immunotox.fhir_client import ByteAccount, FhirClient, FhirError, ServerSlots
from launch import errors
from services.record import RESOURCE_TYPES

log = logging.getLogger("immunotox.app")

# A week of q15-minute vitals is about 3,000 observations for each few series: read up to
# 20,000 per type (as the hooks do, `cds_hooks.prefetch.MAX_PAGES` x `_count=1000`); servers that
# cap `_count` lower page further. What is left unread is reported on the page.
MAX_PAGES = 20
PAGE_SIZE = 1000
OVERALL_DEADLINE_S = 25.0

# Every part of the record but the Patient (read by id), searched by `patient=` alone: the app
# reads everything the record holds of each type.
SEARCHES: dict[str, dict[str, str]] = {t: {} for t in RESOURCE_TYPES if t != "Patient"}


# Asked for only when a search is longer than MAX_PAGES: which part to keep (the newest). Sorting
# costs some servers far more than reading (sekmet: 49 s a page at 10,000 observations), and
# order does not matter when everything is read.
SORT_WHEN_CUT: dict[str, dict[str, str]] = {"Observation": {"_sort": "-date"}}


@dataclass
class Record:
    patient: dict[str, Any]
    resources: list[dict[str, Any]]
    problems: list[dict[str, str]] = field(default_factory=list)


TokenFn = fhir_client.TokenFn  # (token the server refused, or None) -> live token


def fetch_record(
    base: str,
    patient_id: str,
    token: TokenFn,
    timeout: float,
    readable: list[str],
    *,
    account: ByteAccount | None = None,
    slots: ServerSlots | None = None,
    deadline_s: float = OVERALL_DEADLINE_S,
) -> Record:
    base = base.rstrip("/")
    deadline = time.monotonic() + deadline_s

    def client() -> FhirClient:
        return FhirClient(
            base, deadline=deadline, timeout_s=timeout, token=token, account=account, slots=slots
        )

    types = [t for t in SEARCHES if t in readable]
    with ThreadPoolExecutor(max_workers=len(types) + 1) as pool:
        patient_f = pool.submit(_read, client, f"Patient/{patient_id}")
        futures = {
            t: pool.submit(_search_all, client, t, {"patient": patient_id, **SEARCHES[t]})
            for t in types
        }
        patient = patient_f.result()
        results = {t: f.result() for t, f in futures.items()}
    if isinstance(patient, FhirError):
        if patient.status == 404:
            raise errors.missing_context("the launch's patient does not exist on the FHIR server")
        if patient.status in (401, 403):
            raise (
                errors.expired()
                if patient.status == 401
                else errors.missing_scope(["read access to Patient"])
            )
        raise errors.fhir_unavailable(f"Reading the patient failed ({patient}).")
    resources: list[dict[str, Any]] = [patient]
    problems: list[dict[str, str]] = []
    for t in SEARCHES:
        if t not in readable:
            problems.append({"ref": t, "reason": "not granted by the authorization server"})
            continue
        got = results[t]
        if isinstance(got, FhirError):
            problems.append({"ref": t, "reason": f"could not be fetched ({got})"})
            continue
        items, note = got
        resources.extend(items)
        if note:
            problems.append({"ref": t, "reason": note})
    return Record(patient=patient, resources=resources, problems=problems)


def _cut_note() -> str:
    return f"only the first {MAX_PAGES} pages were fetched"


def _read(client: Callable[[], FhirClient], path: str) -> dict[str, Any] | FhirError:
    with client() as c:
        try:
            return c.get(c.url(path))
        except FhirError as e:
            return e


def _search_all(
    client: Callable[[], FhirClient], rtype: str, params: dict[str, str]
) -> tuple[list, str | None] | FhirError:
    """All pages of one search, over one connection (a client per search and thread). A
    search cut at MAX_PAGES is asked again sorted (`SORT_WHEN_CUT`) to keep the newest."""
    with client() as c:
        got = _search(c, rtype, params)
        if isinstance(got, tuple) and got[1] == _cut_note() and rtype in SORT_WHEN_CUT:
            got = _search(c, rtype, {**params, **SORT_WHEN_CUT[rtype]})
            if isinstance(got, tuple) and got[1] == _cut_note():
                return got[0], f"only the newest {MAX_PAGES} pages were fetched"
        return got


def _search(
    c: FhirClient, rtype: str, params: dict[str, str]
) -> tuple[list, str | None] | FhirError:
    query = {**params, "_count": str(PAGE_SIZE)}
    try:
        try:
            paged = c.search(c.url(rtype), query, max_pages=MAX_PAGES)
        except FhirError as e:
            if e.status != 400 or "_sort" not in query:
                raise
            # a server that does not support _sort: ask again without it
            query = {k: v for k, v in query.items() if k != "_sort"}
            paged = c.search(c.url(rtype), query, max_pages=MAX_PAGES)
    except FhirError as e:
        return e
    if not paged.bundles:
        return FhirError(fhir_client.NOT_FHIR, "answer is not a Bundle")
    items = paged.resources()
    if paged.stop == "page_limit":
        return items, _cut_note()
    if paged.stop == "next_outside":
        return items, "only part fetched: the next page is on another server"
    if paged.stop == "deadline":
        return items, "only part fetched: time limit reached"
    if paged.stop == "page_failed":
        return items, f"only part fetched: a later page failed ({paged.error})"
    return items, None
