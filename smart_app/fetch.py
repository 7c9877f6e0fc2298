"""Fetch one patient's record from a FHIR server for the assessment.

The resource types in `launch.scopes.RESOURCES` are searched in parallel by `patient=`, each
with a per-request timeout, following `next` links up to `MAX_PAGES` pages (and only links on
the same FHIR base: a token is never sent elsewhere). A 401 triggers one token refresh. What
could not be fetched is returned as a problem and shown on the page, never dropped silently.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from launch import errors

log = logging.getLogger("immunotox.app")

# A week of q15-minute vitals is about 3,000 observations for each few series: read up to
# 20,000 per type (as the hooks do, `cds_hooks.prefetch.MAX_PAGES` x `_count=1000`); servers that
# cap `_count` lower page further. What is left unread is reported on the page.
MAX_PAGES = 20
PAGE_SIZE = 1000
OVERALL_DEADLINE_S = 25.0

SEARCHES: dict[str, dict[str, str]] = {
    "Observation": {},
    "MedicationAdministration": {},
    "MedicationRequest": {},
    "MedicationStatement": {},
    "Condition": {},
    "Procedure": {},
    "DeviceUseStatement": {},
}


# Asked for only when a search is longer than MAX_PAGES: which part to keep (the newest). Sorting
# costs some servers far more than reading (sekmet: 49 s a page at 10,000 observations), and
# order does not matter when everything is read.
SORT_WHEN_CUT: dict[str, dict[str, str]] = {"Observation": {"_sort": "-date"}}


@dataclass
class Record:
    patient: dict[str, Any]
    resources: list[dict[str, Any]]
    problems: list[dict[str, str]] = field(default_factory=list)


TokenFn = Callable[[str | None], str]  # (token the server refused, or None) -> live token


def fetch_record(
    base: str,
    patient_id: str,
    token: TokenFn,
    timeout: float,
    readable: list[str],
) -> Record:
    base = base.rstrip("/")
    deadline = time.monotonic() + OVERALL_DEADLINE_S
    http = _Http(base, token, timeout, deadline)
    types = [t for t in SEARCHES if t in readable]
    with ThreadPoolExecutor(max_workers=len(types) + 1) as pool:
        patient_f = pool.submit(http.read, f"Patient/{patient_id}")
        futures = {
            t: pool.submit(http.search, t, {"patient": patient_id, **SEARCHES[t]}) for t in types
        }
        patient = patient_f.result()
        results = {t: f.result() for t, f in futures.items()}
    if isinstance(patient, _Failure):
        if patient.status == 404:
            raise errors.missing_context("the launch's patient does not exist on the FHIR server")
        if patient.status in (401, 403):
            raise (
                errors.expired()
                if patient.status == 401
                else errors.missing_scope(["read access to Patient"])
            )
        raise errors.fhir_unavailable(f"Reading the patient failed ({patient.reason}).")
    resources: list[dict[str, Any]] = [patient]
    problems: list[dict[str, str]] = []
    for t in SEARCHES:
        if t not in readable:
            problems.append({"ref": t, "reason": "not granted by the authorization server"})
            continue
        got = results[t]
        if isinstance(got, _Failure):
            problems.append({"ref": t, "reason": f"could not be fetched ({got.reason})"})
            continue
        items, note = got
        resources.extend(items)
        if note:
            problems.append({"ref": t, "reason": note})
    return Record(patient=patient, resources=resources, problems=problems)


def _cut_note() -> str:
    return f"only the first {MAX_PAGES} pages were fetched"


@dataclass
class _Failure:
    reason: str
    status: int | None = None


class _Http:
    def __init__(self, base: str, token: TokenFn, timeout: float, deadline: float):
        self.base = base
        self.token = token
        self.timeout = timeout
        self.deadline = deadline

    def _get(self, url: str, params: dict[str, str] | None = None, http: Any = requests) -> Any:
        refused: str | None = None
        while True:
            left = self.deadline - time.monotonic()
            if left <= 0:
                return _Failure("time limit reached")
            token = self.token(refused)
            try:
                r = http.get(
                    url,
                    params=params,
                    headers={"Accept": "application/fhir+json", "Authorization": f"Bearer {token}"},
                    timeout=min(self.timeout, left),
                    allow_redirects=False,  # a redirect elsewhere is a failure, not a new host
                )
            except requests.Timeout:
                return _Failure("timed out")
            except requests.RequestException as e:
                return _Failure(f"connection failed: {type(e).__name__}")
            if r.status_code == 401 and refused is None:
                refused = token
                continue
            if r.status_code != 200:
                return _Failure(f"HTTP {r.status_code}", r.status_code)
            try:
                return r.json()
            except ValueError:
                return _Failure("answer is not JSON")

    def read(self, path: str) -> dict[str, Any] | _Failure:
        got = self._get(f"{self.base}/{path}")
        if isinstance(got, dict) and not got.get("resourceType"):
            return _Failure("answer is not a FHIR resource")
        return got

    def search(self, rtype: str, params: dict[str, str]) -> tuple[list, str | None] | _Failure:
        """All pages of one search, over one connection (a session per search and thread). A
        search cut at MAX_PAGES is asked again sorted (`SORT_WHEN_CUT`) to keep the newest."""
        with requests.Session() as session:
            got = self._search(rtype, params, session)
            if isinstance(got, tuple) and got[1] == _cut_note() and rtype in SORT_WHEN_CUT:
                got = self._search(rtype, {**params, **SORT_WHEN_CUT[rtype]}, session)
                if isinstance(got, tuple) and got[1] == _cut_note():
                    return got[0], f"only the newest {MAX_PAGES} pages were fetched"
            return got

    def _search(
        self, rtype: str, params: dict[str, str], session: requests.Session
    ) -> tuple[list, str | None] | _Failure:
        url: str | None = f"{self.base}/{rtype}"
        query: dict[str, str] | None = {**params, "_count": str(PAGE_SIZE)}
        items: list[dict[str, Any]] = []
        for _page in range(MAX_PAGES):
            assert url is not None
            got = self._get(url, query, session)
            if (
                isinstance(got, _Failure) and got.status == 400 and query and "_sort" in query
            ):  # a server that does not support _sort: ask again without it
                query = {k: v for k, v in query.items() if k != "_sort"}
                got = self._get(url, query, session)
            if isinstance(got, _Failure):
                if items:  # keep what arrived; say the rest is missing
                    return items, f"only part fetched: a later page failed ({got.reason})"
                return got
            if not isinstance(got, dict) or got.get("resourceType") != "Bundle":
                return _Failure("answer is not a Bundle")
            for entry in got.get("entry") or []:
                res = entry.get("resource")
                mode = (entry.get("search") or {}).get("mode", "match")
                if isinstance(res, dict) and mode != "outcome" and res.get("resourceType"):
                    items.append(res)
            url = next(
                (lk.get("url") for lk in got.get("link") or [] if lk.get("relation") == "next"),
                None,
            )
            query = None
            if not url:
                return items, None
            if not (url == self.base or url.startswith(self.base + "/")):
                return items, "only part fetched: the next page is on another server"
        return items, _cut_note()
