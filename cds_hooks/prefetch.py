"""The prefetch step: a complete data set for one call, without touching the request.

For each prefetch key of the service: a usable prefetched value is taken as is; a missing key, a
`null` or an OperationOutcome is fetched from the client's `fhirServer` (with its
`fhirAuthorization` bearer token), all keys in parallel, each request with its own timeout and
all of them inside one deadline, following `next` links up to a page cap.

The token only ever goes to a base URL on the allowlist (`IMMUNOTOX_FHIR_ALLOWLIST`): the
server named in the request must be on it, every `next` link must stay under it, and redirects
are not followed. A `null` with no usable server is "no data" (the specification's meaning of
null); a missing or failed key with no usable server is reported, so the card can say what could
not be had. The required key (`patient`) failing is `PrefetchUnavailable` (412).

https://cds-hooks.hl7.org/2.0/#providing-fhir-resources-to-a-cds-service
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from urllib3 import exceptions as urllib3_exceptions

from cds_hooks.spec import HookRequest
from immunotox.config import allowlist
from services.fhir_adapter import flatten

MAX_PAGES = 20
_TOKEN_RE = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")


class PrefetchUnavailable(Exception):
    """Required data could not be had from the prefetch or the FHIR server (HTTP 412)."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


class _FetchError(Exception):
    pass


@dataclass
class Hydrated:
    """The data set one call works from: prefetched values plus what was fetched here."""

    data: dict[str, Any]  # key -> resource, Bundle, or None (no data)
    fetched: tuple[str, ...] = ()
    failed: dict[str, str] = field(default_factory=dict)  # key -> reason, no identifiers
    notes: list[str] = field(default_factory=list)

    @property
    def degraded(self) -> bool:
        return bool(self.failed)

    def resources(self) -> list[dict[str, Any]]:
        return flatten(v for v in self.data.values() if v is not None)


def render(template: str, context: Mapping[str, Any]) -> str | None:
    """Replace `{{context.x}}` tokens with URL-encoded root-level primitive context values.
    None when a token has no value (the query cannot be built)."""
    missing = False

    def sub(m: re.Match[str]) -> str:
        nonlocal missing
        path = m.group(1)
        if not path.startswith("context.") or path.count(".") != 1:
            missing = True
            return ""
        value = context.get(path.split(".", 1)[1])
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or value == "":
            missing = True
            return ""
        return quote(str(value), safe="")

    out = _TOKEN_RE.sub(sub, template)
    return None if missing else out


def allowed_base(fhir_server: str | None, cfg: Mapping[str, Any]) -> str | None:
    """The normalised base URL when `fhir_server` is on the allowlist, else None."""
    if not fhir_server:
        return None
    base = fhir_server.strip().rstrip("/")
    return base if base in allowlist(cfg) else None


def _under_base(url: str, base: str) -> bool:
    u, b = urlsplit(url), urlsplit(base)
    if (u.scheme, u.netloc) != (b.scheme, b.netloc) or u.username or u.password:
        return False
    if "/../" in u.path + "/" or u.path.endswith("/.."):
        return False
    return u.path == b.path or u.path.startswith(b.path.rstrip("/") + "/")


def _usable(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("resourceType"), str)
        and value["resourceType"] != "OperationOutcome"
    )


# The largest FHIR answer read for one page; a bigger one is refused, not buffered.
MAX_PAGE_BYTES = 64 * 1024 * 1024


def _read_json(r: Any, deadline: float) -> Any:
    """The body as JSON, read within the overall deadline: `requests`' read timeout applies to
    each read, so a server trickling bytes would otherwise hold the fetch (and the token) open."""
    buf = bytearray()
    raw = getattr(r, "raw", None)
    if hasattr(raw, "read1"):
        # read1 returns as soon as any bytes arrive, so the deadline is checked between them.
        chunks = iter(lambda: raw.read1(65536), b"")
    else:  # test doubles without a raw stream
        chunks = r.iter_content(chunk_size=65536)
    try:
        for chunk in chunks:
            buf += chunk
            if time.monotonic() > deadline:
                raise _FetchError("timed out")
            if len(buf) > MAX_PAGE_BYTES:
                raise _FetchError("the FHIR server answered more than we read for one page")
    except (requests.Timeout, urllib3_exceptions.TimeoutError) as e:
        raise _FetchError("timed out") from e
    except (requests.RequestException, urllib3_exceptions.HTTPError, OSError) as e:
        raise _FetchError("the FHIR server could not be reached") from e
    try:
        return json.loads(buf)
    except ValueError as e:
        raise _FetchError("the FHIR server did not answer JSON") from e


def _fetch(
    url: str,
    base: str,
    headers: dict[str, str],
    timeout_s: float,
    deadline: float,
    http_get: Callable[..., Any] | None,
) -> tuple[dict[str, Any], str | None]:
    """One query and its `next` pages. Without an `http_get`, the pages share one connection
    (a session per query: no TCP or TLS handshake per page, and nothing shared between calls)."""
    if http_get is None:
        with requests.Session() as session:
            return _fetch(url, base, headers, timeout_s, deadline, session.get)
    pages: list[dict[str, Any]] = []
    next_url: str | None = url
    note = None
    while next_url:
        if len(pages) >= MAX_PAGES:
            note = f"only the first {MAX_PAGES} pages were read"
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            if pages:
                note = "the deadline cut paging short"
                break
            raise _FetchError("timed out")
        t = min(timeout_s, remaining)
        try:
            r = http_get(
                next_url, headers=headers, timeout=(t, t), allow_redirects=False, stream=True
            )
        except requests.Timeout as e:
            raise _FetchError("timed out") from e
        except requests.RequestException as e:
            raise _FetchError("the FHIR server could not be reached") from e
        try:
            if r.status_code != 200:
                raise _FetchError(f"the FHIR server answered HTTP {r.status_code}")
            doc = _read_json(r, deadline)
        finally:
            r.close()
        if not isinstance(doc, dict) or not isinstance(doc.get("resourceType"), str):
            raise _FetchError("the FHIR server did not answer a FHIR resource")
        if doc["resourceType"] == "OperationOutcome":
            raise _FetchError("the FHIR server answered an OperationOutcome")
        if doc["resourceType"] != "Bundle":
            return doc, None
        pages.append(doc)
        next_url = None
        for link in doc.get("link") or []:
            if isinstance(link, dict) and link.get("relation") == "next":
                candidate = link.get("url")
                if isinstance(candidate, str) and _under_base(candidate, base):
                    next_url = candidate
                elif candidate:
                    note = "a next link outside the FHIR server was not followed"
    if len(pages) == 1 and note is None:
        merged = dict(pages[0])
        merged.pop("link", None)
        return merged, None
    entries = [e for p in pages for e in (p.get("entry") or [])]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}, note


def hydrate(
    req: HookRequest,
    templates: Mapping[str, str],
    cfg: Mapping[str, Any],
    started: float | None = None,
    http_get: Callable[..., Any] | None = None,
    required: frozenset[str] = frozenset({"patient"}),
) -> Hydrated:
    """The complete data set for `req`; raises `PrefetchUnavailable` when a required key cannot
    be had. `req` is never modified."""
    started = time.monotonic() if started is None else started
    deadline = started + float(cfg.get("HOOK_DEADLINE_S", 2.0))
    timeout_s = float(cfg.get("FHIR_TIMEOUT_S", 1.5))
    given = req.prefetch or {}
    data: dict[str, Any] = {}
    to_fetch: dict[str, str] = {}
    nulls: set[str] = set()
    failed: dict[str, str] = {}
    for key, template in templates.items():
        value = given.get(key, ...)
        if _usable(value):
            data[key] = value
            continue
        if value is None:
            nulls.add(key)
        query = render(template, req.context)
        if query is None:
            failed[key] = "the query needs a context value the call did not send"
            continue
        to_fetch[key] = query

    base = allowed_base(req.fhir_server, cfg)
    fetched: list[str] = []
    notes: list[str] = []
    if to_fetch and base is None:
        reason = (
            "the FHIR server is not on this service's allowlist"
            if req.fhir_server
            else "the call sent no FHIR server to fetch it from"
        )
        for key in to_fetch:
            if key in nulls:
                data[key] = None  # the client says: no data
            else:
                failed[key] = reason
    elif to_fetch:
        headers = {"Accept": "application/fhir+json"}
        if req.fhir_authorization is not None:
            headers["Authorization"] = f"Bearer {req.fhir_authorization.access_token}"
        pool = ThreadPoolExecutor(max_workers=min(8, len(to_fetch)), thread_name_prefix="fhir")
        futures: dict[Future[Any], str] = {}
        try:
            for key, query in to_fetch.items():
                url = f"{base}/{query.lstrip('/')}"
                futures[pool.submit(_fetch, url, base, headers, timeout_s, deadline, http_get)] = (
                    key
                )
            pending = set(futures)
            while pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                done, pending = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
                for fut in done:
                    key = futures[fut]
                    try:
                        doc, note = fut.result()
                    except _FetchError as e:
                        failed[key] = str(e)
                        continue
                    except Exception as e:  # a bug or an odd answer: report, don't crash
                        failed[key] = f"fetching failed ({type(e).__name__})"
                        continue
                    data[key] = doc
                    fetched.append(key)
                    if note:
                        notes.append(f"{key}: {note}")
            for fut in pending:
                failed[futures[fut]] = "timed out"
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    for key in required:
        if key in templates and not _usable(data.get(key)):
            raise PrefetchUnavailable(key, failed.get(key, "no data"))
    return Hydrated(data, tuple(fetched), failed, notes)
