"""The prefetch step: a complete data set for one call, without touching the request.

For each prefetch key of the service: a usable prefetched value is taken as is; a missing key, a
`null` or an OperationOutcome is fetched from the client's `fhirServer` (with its
`fhirAuthorization` bearer token), all keys in parallel, each request with its own timeout and
all of them inside one deadline, following `next` links up to a page cap.

The requests go through the one FHIR client (`immunotox.fhir_client`): the token only ever
goes to a base URL on the allowlist (`IMMUNOTOX_FHIR_ALLOWLIST`), every `next` link must stay
under it after normalising, redirects are not followed, compressed answers are decoded, and
every page counts against one deadline and size limit. A `null` with no usable server is "no data" (the specification's meaning of
null); a missing or failed key with no usable server is reported, so the card can say what could
not be had. The required key (`patient`) failing is `PrefetchUnavailable` (412).

https://cds-hooks.hl7.org/2.0/#providing-fhir-resources-to-a-cds-service
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from cds_hooks.spec import HookRequest
from immunotox.fhir_client import ByteAccount, FhirClient, FhirError, ServerSlots, allowed_base
from services.fhir_adapter import flatten

__all__ = ["Hydrated", "PrefetchUnavailable", "allowed_base", "hydrate", "render"]

MAX_PAGES = 20
_TOKEN_RE = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")


class PrefetchUnavailable(Exception):
    """Required data could not be had from the prefetch or the FHIR server (HTTP 412)."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


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
    return None if missing else encode_query_values(out)


def encode_query_values(query: str) -> str:
    """`Type?name=value&...` with every value percent-encoded, `:`, `/` and `|` included
    (`code=http%3A%2F%2Floinc.org%7C8310-5`). The FHIR proxy of the SMART launcher
    (smart-on-fhir/smart-launcher-v2, also the FHIR server the CDS Hooks sandbox uses) rewrites
    `//` anywhere in the URL it forwards, so an unencoded `http://loinc.org` system reaches its
    server as `http:/loinc.org` and the search matches nothing. Existing escapes and the `,`
    between OR values stay as they are."""
    path, sep, q = query.partition("?")
    if not sep:
        return query
    items = []
    for item in q.split("&"):
        name, eq, value = item.partition("=")
        items.append(f"{name}={quote(value, safe='%,')}" if eq else item)
    return f"{path}?{'&'.join(items)}"


def _usable(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("resourceType"), str)
        and value["resourceType"] != "OperationOutcome"
    )


def _note(stop: str | None) -> str | None:
    return {
        "page_limit": f"only the first {MAX_PAGES} pages were read",
        "deadline": "the deadline cut paging short",
        "next_outside": "a next link outside the FHIR server was not followed",
    }.get(stop or "")


def _fetch(
    url: str,
    base: str,
    token: str | None,
    timeout_s: float,
    deadline: float,
    http_get: Callable[..., Any] | None,
    account: ByteAccount | None = None,
    slots: ServerSlots | None = None,
) -> tuple[dict[str, Any], str | None]:
    """One query and its `next` pages, over one connection (a client per query: no TCP or TLS
    handshake per page, and nothing shared between calls)."""
    with FhirClient(
        base,
        deadline=deadline,
        timeout_s=timeout_s,
        token=token,
        account=account,
        slots=slots,
        http_get=http_get,
    ) as client:
        paged = client.search(url, max_pages=MAX_PAGES)
    if paged.error is not None:
        raise paged.error
    if not paged.bundles:
        return paged.first, None
    note = _note(paged.stop)
    if len(paged.bundles) == 1 and note is None:
        merged = dict(paged.first)
        merged.pop("link", None)
        return merged, None
    entries = [e for p in paged.bundles for e in (p.get("entry") or [])]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}, note


# How long a call waits at most for one of its FHIR server's slots (FHIR_CALLS_PER_SERVER);
# behind a server that has been slow it does not wait at all (`ServerSlots`).
SLOT_WAIT_S = 0.5


def _take_slot(
    slots: ServerSlots | None, base: str, deadline: float, cfg: Mapping[str, Any]
) -> Any | None:
    if slots is None:
        return None
    given = cfg.get("FHIR_SLOT_WAIT_S")
    wait_s = SLOT_WAIT_S if given is None else float(given)
    return slots.acquire(base, min(wait_s, deadline - time.monotonic()))


def hydrate(
    req: HookRequest,
    templates: Mapping[str, str],
    cfg: Mapping[str, Any],
    started: float | None = None,
    http_get: Callable[..., Any] | None = None,
    required: frozenset[str] = frozenset({"patient"}),
    account: ByteAccount | None = None,
    slots: ServerSlots | None = None,
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
        token = req.fhir_authorization.access_token if req.fhir_authorization else None
        try:
            slot = _take_slot(slots, base, deadline, cfg)
        except FhirError as e:  # this server already has its share of calls in flight
            for key in to_fetch:
                failed[key] = str(e)
            to_fetch = {}
            slot = None
        pool = ThreadPoolExecutor(
            max_workers=min(8, max(len(to_fetch), 1)), thread_name_prefix="fhir"
        )
        futures: dict[Future[Any], str] = {}
        try:
            for key, query in to_fetch.items():
                url = f"{base}/{query.lstrip('/')}"
                futures[
                    pool.submit(_fetch, url, base, token, timeout_s, deadline, http_get, account)
                ] = key
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
                    except FhirError as e:
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
            if slot is not None:
                slot.release()

    for key in required:
        if key in templates and not _usable(data.get(key)):
            raise PrefetchUnavailable(key, failed.get(key, "no data"))
    return Hydrated(data, tuple(fetched), failed, notes)
