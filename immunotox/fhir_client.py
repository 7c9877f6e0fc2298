"""The one FHIR HTTP client: the CDS hooks' fetch and the SMART app read FHIR through it.

What it guarantees, whoever calls it:

- the token goes only to the base URL the caller named, which must be on the allowlist
  (`IMMUNOTOX_FHIR_ALLOWLIST`, `allowed_base`); redirects are not followed;
- a `next` link is followed only when it stays under that base after normalising: the same
  scheme, host and port (default ports made explicit), no user-info, and a percent-decoded path
  without `.`/`..` segments or encoded separators that starts with the base's path
  (`outside_base` names the rule that refused);
- the pages of one search share one connection (a `requests.Session` per client);
- one overall deadline (monotonic) for everything the client does, checked between the chunks
  of a body as well: a server trickling bytes cannot hold a fetch past it;
- a size limit on each decoded answer, and an optional per-call byte account (`ByteAccount`)
  shared by every query of a call, so fetched data counts against the worker's budget;
- compressed answers (`Content-Encoding: gzip` or `deflate`) decoded here, with the size limit
  applied to the decoded bytes (a compression bomb stops at the limit);
- a create (`FhirClient.create`, the one write the app makes) goes to `{base}/{type}` under
  the same allowlisted base, deadline, slots and size limit, and is never retried after it may
  have reached the server (only a 401 answer is retried, once, with a refreshed token);
- `ServerSlots`: at most so many calls in flight to one FHIR server per worker process, and no
  queueing behind a server that has been slow: one slow server cannot take every thread.

Failures raise `FhirError` (a domain error with a machine `code` and a message without
identifiers); each web layer turns it into its own status or note.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import requests
from urllib3 import exceptions as urllib3_exceptions

from immunotox.config import allowlist

log = logging.getLogger("immunotox.fhir")
T = TypeVar("T")

# The largest FHIR answer read for one page, decoded; a bigger one is refused, not buffered.
MAX_PAGE_BYTES = 64 * 1024 * 1024
_CHUNK = 65536
_DEFAULT_PORTS = {"http": 80, "https": 443}

# FhirError codes
TIMEOUT = "timeout"
UNREACHABLE = "unreachable"
HTTP_STATUS = "http_status"
NOT_JSON = "not_json"
NOT_FHIR = "not_fhir"
OUTCOME = "operation_outcome"
TOO_LARGE = "too_large"
ENCODING = "unsupported_encoding"
BUSY = "server_busy"
NOT_ALLOWED = "not_allowed"

# outside_base rules
RULE_SCHEME_HOST_PORT = "next_link_other_origin"
RULE_USERINFO = "next_link_userinfo"
RULE_DOT_SEGMENT = "next_link_dot_segment"
RULE_ENCODED_SEPARATOR = "next_link_encoded_separator"
RULE_PATH_PREFIX = "next_link_path_prefix"


class FhirError(Exception):
    """A FHIR request that gave no usable answer. `code` is one of the module's codes; the
    message names no patient, token or URL."""

    def __init__(self, code: str, message: str, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


def allowed_base(fhir_server: Any, cfg: Mapping[str, Any]) -> str | None:
    """The normalised base URL (no trailing slash) when `fhir_server` is on the allowlist."""
    if not isinstance(fhir_server, str) or not fhir_server.strip():
        return None
    base = fhir_server.strip().rstrip("/")
    return base if base in allowlist(cfg) else None


def _origin(u: Any) -> tuple[str, str, int] | None:
    try:
        port = u.port
    except ValueError:
        return None
    scheme = (u.scheme or "").lower()
    host = (u.hostname or "").lower()
    if not scheme or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS.get(scheme, -1)


def outside_base(url: Any, base: str) -> str | None:
    """None when `url` is under `base`; otherwise the rule that refuses it."""
    if not isinstance(url, str):
        return RULE_SCHEME_HOST_PORT
    u, b = urlsplit(url.strip()), urlsplit(base)
    if u.username is not None or u.password is not None or "@" in u.netloc:
        return RULE_USERINFO
    origin = _origin(u)
    if origin is None or origin != _origin(b):
        return RULE_SCHEME_HOST_PORT
    raw = u.path.lower()
    if "%2f" in raw or "%5c" in raw or "\\" in u.path:
        return RULE_ENCODED_SEPARATOR
    path = unquote(u.path)
    if "\\" in path or any(seg in (".", "..") for seg in path.split("/")):
        return RULE_DOT_SEGMENT
    prefix = unquote(b.path).rstrip("/")
    if path == prefix or path.startswith(prefix + "/") or (not prefix and not path):
        return None
    return RULE_PATH_PREFIX


class _Server:
    __slots__ = ("cond", "ewma_s", "in_flight")

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.in_flight: dict[int, float] = {}
        self.ewma_s: float | None = None  # how long a slot has recently been held


class Slot:
    """One slot on one FHIR server; `release` gives it back and records how long it was held."""

    def __init__(self, server: _Server, token: int):
        self._server = server
        self._token = token

    def release(self) -> None:
        s = self._server
        with s.cond:
            started = s.in_flight.pop(self._token, None)
            if started is not None:
                held = time.monotonic() - started
                s.ewma_s = held if s.ewma_s is None else 0.7 * s.ewma_s + 0.3 * held
            s.cond.notify()


class ServerSlots:
    """At most `limit` holders at once per FHIR server (scheme, host, port) in this process.

    A caller that finds every slot taken waits for one up to its `timeout`, but never past the
    moment a holder has held its slot `slow_s`, and not at all when the server is slow (slots
    lately held longer than `slow_s` on average, or held that long now): then it is told at
    once that the server is busy (`BUSY`). One slow server holds `limit` threads, not every
    thread of the worker, and a fast server's short queue costs no failures."""

    def __init__(self, limit: int, slow_s: float | None = None):
        self.limit = max(int(limit), 1)
        self.slow_s = slow_s
        self._servers: dict[tuple[str, str, int] | None, _Server] = {}
        self._lock = threading.Lock()
        self._next = 0

    def _server(self, url: str) -> _Server:
        key = _origin(urlsplit(url))
        with self._lock:
            s = self._servers.get(key)
            if s is None:
                s = self._servers[key] = _Server()
            return s

    def acquire(self, url: str, timeout: float) -> Slot:
        s = self._server(url)
        end = time.monotonic() + max(timeout, 0.0)
        with s.cond:
            while len(s.in_flight) >= self.limit:
                now = time.monotonic()
                left = end - now
                if self.slow_s is not None:
                    # slow: slots lately held longer than slow_s, or held that long right now
                    oldest = now - min(s.in_flight.values())
                    if (s.ewma_s or 0.0) > self.slow_s or oldest >= self.slow_s:
                        left = 0.0
                    else:
                        left = min(left, self.slow_s - oldest)
                if left <= 0:
                    raise FhirError(
                        BUSY, "the FHIR server is busy with other calls from this service"
                    )
                s.cond.wait(left)
            with self._lock:
                self._next += 1
                token = self._next
            s.in_flight[token] = time.monotonic()
        return Slot(s, token)


class ByteAccount:
    """Bytes fetched for one call (every query of it), against a per-call cap; `charge` also
    reports them to the worker's budget (`immunotox.admission.ByteBudget`) when given one."""

    def __init__(self, cap: int | None = None, charge: Callable[[int], None] | None = None):
        self.cap = cap
        self.used = 0
        self._charge = charge
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.used += n
            over = self.cap is not None and self.used > self.cap
        if self._charge is not None:
            self._charge(n)
        if over:
            raise FhirError(TOO_LARGE, "the FHIR server answered more than this service reads")


class _Decoder:
    """Content-Encoding gzip or deflate (zlib or raw), decoded chunk by chunk with a bound on
    the output of each step."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        if encoding in ("gzip", "x-gzip"):
            self._d: Any = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._d = zlib.decompressobj(zlib.MAX_WBITS)
            self._first = True
        else:
            raise FhirError(ENCODING, "the FHIR server answered in an encoding not asked for")

    def feed(self, data: bytes, limit: int) -> bytes:
        out = bytearray()
        try:
            while data:
                if self.encoding == "deflate" and getattr(self, "_first", False):
                    try:
                        piece = self._d.decompress(data, limit + 1 - len(out))
                    except zlib.error:
                        self._d = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate
                        piece = self._d.decompress(data, limit + 1 - len(out))
                    self._first = False
                else:
                    piece = self._d.decompress(data, limit + 1 - len(out))
                out += piece
                if len(out) > limit:
                    break
                data = self._d.unconsumed_tail
                if not data and self._d.eof and self._d.unused_data:  # another gzip member
                    data = self._d.unused_data
                    self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        except zlib.error as e:
            raise FhirError(NOT_JSON, "the FHIR server's compressed answer is corrupt") from e
        return bytes(out)


def read_body(r: Any, deadline: float, limit: int, account: ByteAccount | None = None) -> bytes:
    """A streamed `requests` response's body, decoded, read within `deadline` (monotonic) and
    at most `limit` bytes: `requests`' read timeout applies to each read, so a server trickling
    bytes would otherwise hold the request open. Raises FhirError."""
    buf = bytearray()
    raw = getattr(r, "raw", None)
    encoding = (r.headers.get("Content-Encoding") or "").strip().lower()
    decoder = None
    if hasattr(raw, "read1"):
        # read1 returns as soon as any bytes arrive, so the deadline is checked between them;
        # the raw bytes are decoded here, with the size limit on what they decode to.
        if encoding not in ("", "identity"):
            decoder = _Decoder(encoding)
        chunks = iter(lambda: raw.read1(_CHUNK, decode_content=False), b"")
    else:  # test doubles without a raw stream: requests decodes
        chunks = r.iter_content(chunk_size=_CHUNK)
    try:
        for chunk in chunks:
            if decoder is not None:
                chunk = decoder.feed(chunk, limit - len(buf))
            buf += chunk
            if account is not None:
                account.add(len(chunk))
            if len(buf) > limit:
                raise FhirError(TOO_LARGE, "the server answered more than we read for one page")
            if time.monotonic() > deadline:
                raise FhirError(TIMEOUT, "timed out")
    except (requests.Timeout, urllib3_exceptions.TimeoutError, TimeoutError) as e:
        raise FhirError(TIMEOUT, "timed out") from e
    except (requests.RequestException, urllib3_exceptions.HTTPError, OSError) as e:
        raise FhirError(UNREACHABLE, "the FHIR server could not be reached") from e
    return bytes(buf)


@dataclass
class Paged:
    """The pages of one search. `stop` says why paging ended early (None: it ran out of
    pages): "page_limit", "deadline", "next_outside" or "page_failed" (then `error`)."""

    first: dict[str, Any]
    bundles: list[dict[str, Any]] = field(default_factory=list)
    stop: str | None = None
    rule: str | None = None  # the outside_base rule when stop == "next_outside"
    error: FhirError | None = None

    def resources(self) -> list[dict[str, Any]]:
        out = []
        for b in self.bundles:
            for entry in b.get("entry") or []:
                if not isinstance(entry, dict):
                    continue
                res = entry.get("resource")
                search = entry.get("search")
                mode = search.get("mode", "match") if isinstance(search, dict) else "match"
                if isinstance(res, dict) and mode != "outcome" and res.get("resourceType"):
                    out.append(res)
        return out


TokenFn = Callable[[str | None], str]  # (token the server refused, or None) -> token to send


class FhirClient:
    """Requests to one FHIR base, within one deadline, over one connection. Not shared between
    threads: one client per query (or per thread)."""

    def __init__(
        self,
        base: str,
        *,
        deadline: float,
        timeout_s: float,
        token: str | TokenFn | None = None,
        max_page_bytes: int | None = None,
        account: ByteAccount | None = None,
        slots: ServerSlots | None = None,
        http_get: Callable[..., Any] | None = None,
        http_post: Callable[..., Any] | None = None,
    ):
        self.base = base.rstrip("/")
        self.deadline = deadline
        self.timeout_s = timeout_s
        self.token = token
        self.max_page_bytes = max_page_bytes or MAX_PAGE_BYTES
        self.account = account
        self.slots = slots
        self._session: requests.Session | None = None
        if http_get is None:
            self._session = requests.Session()
            http_get = self._session.get
        if http_post is None:
            if self._session is None:
                self._session = requests.Session()
            http_post = self._session.post
        self._http_get = http_get
        self._http_post = http_post

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    # -- one request ----------------------------------------------------------------------
    def get(self, url: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """One FHIR resource (a Bundle included). Raises FhirError."""
        token = self._token(None)
        retried = False
        while True:
            headers = {"Accept": "application/fhir+json", "Accept-Encoding": "gzip, deflate"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            status, doc = self._once(url, params, headers)
            if status == 401 and callable(self.token) and not retried:
                retried = True  # one refresh: the token may have expired since it was read
                fresh = self.token(token)
                if fresh != token:
                    token = fresh
                    continue
            if status != 200:
                raise FhirError(HTTP_STATUS, f"the FHIR server answered HTTP {status}", status)
            if not isinstance(doc, dict) or not isinstance(doc.get("resourceType"), str):
                raise FhirError(NOT_FHIR, "the FHIR server did not answer a FHIR resource")
            if doc["resourceType"] == "OperationOutcome":
                raise FhirError(OUTCOME, "the FHIR server answered an OperationOutcome")
            return doc

    def get_json(self, url: str) -> Any:
        """One JSON document that need not be a FHIR resource (the EHR's SMART style), with the
        same deadline, size limit and no-redirect rule, and without the access token. Raises
        FhirError."""
        headers = {"Accept": "application/json", "Accept-Encoding": "gzip, deflate"}
        status, doc = self._once(url, None, headers)
        if status != 200:
            raise FhirError(HTTP_STATUS, f"the server answered HTTP {status}", status)
        return doc

    def _token(self, refused: str | None) -> str | None:
        return self.token(refused) if callable(self.token) else self.token

    def _once(
        self, url: str, params: Mapping[str, str] | None, headers: dict[str, str]
    ) -> tuple[int, Any]:
        def answer(r: Any) -> tuple[int, Any]:
            if r.status_code != 200:
                return r.status_code, None
            return 200, self._read_json(r)

        return self._exchange(self._http_get, url, answer, params=params, headers=headers)

    def _exchange(
        self, send: Callable[..., Any], url: str, answer: Callable[[Any], T], **kw: Any
    ) -> T:
        """One request within the call's deadline and the server's slots, redirects not
        followed; `answer` reads the response before it is closed."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise FhirError(TIMEOUT, "timed out")
        slot = self.slots.acquire(url, remaining) if self.slots else None
        try:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise FhirError(TIMEOUT, "timed out")
            t = min(self.timeout_s, remaining)
            try:
                r = send(
                    url,
                    **kw,
                    timeout=(t, t),
                    allow_redirects=False,  # a redirect elsewhere is a failure, not a new host
                    stream=True,
                )
            except requests.Timeout as e:
                raise FhirError(TIMEOUT, "timed out") from e
            except requests.RequestException as e:
                raise FhirError(UNREACHABLE, "the FHIR server could not be reached") from e
            try:
                return answer(r)
            finally:
                r.close()
        finally:
            if slot is not None:
                slot.release()

    def _read_json(self, r: Any) -> Any:
        body = read_body(r, self.deadline, self.max_page_bytes, self.account)
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as e:
            raise FhirError(NOT_JSON, "the FHIR server did not answer JSON") from e

    # -- one create ------------------------------------------------------------------------
    def create(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        """POST `resource` to `{base}/{resourceType}` (FHIR RESTful create) and return what the
        server stored: its answer (`Prefer: return=representation`), or the resource sent with
        the id of the `Location` header when the server answers without a body. Raises
        FhirError: HTTP_STATUS with `status` for an answer other than 200/201 (3xx included:
        redirects are not followed), TIMEOUT or UNREACHABLE (then the server may or may not
        have stored it; the caller must not assume either)."""
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str) or not rtype.isalpha():
            raise FhirError(NOT_FHIR, "not a FHIR resource")
        url = self.url(rtype)
        body = json.dumps(resource, separators=(",", ":")).encode()
        token = self._token(None)
        retried = False
        while True:
            headers = {
                "Accept": "application/fhir+json",
                "Content-Type": "application/fhir+json",
                "Prefer": "return=representation",
            }
            if token:
                headers["Authorization"] = f"Bearer {token}"
            status, doc, location = self._post_once(url, body, headers)
            if status == 401 and callable(self.token) and not retried:
                retried = True  # refused before it was processed: safe to send again
                fresh = self.token(token)
                if fresh != token:
                    token = fresh
                    continue
            if status not in (200, 201):
                raise FhirError(HTTP_STATUS, f"the FHIR server answered HTTP {status}", status)
            if isinstance(doc, dict) and doc.get("resourceType") == rtype:
                return doc
            stored = dict(resource)
            rid = _id_from_location(location, rtype)
            if rid:
                stored["id"] = rid
            return stored

    def _post_once(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, Any, str | None]:
        def answer(r: Any) -> tuple[int, Any, str | None]:
            if r.status_code not in (200, 201):
                return r.status_code, None, None
            raw = read_body(r, self.deadline, self.max_page_bytes, self.account)
            try:
                doc = json.loads(raw) if raw.strip() else None
            except (ValueError, RecursionError):
                doc = None  # stored; the answer's body is not needed
            return r.status_code, doc, r.headers.get("Location")

        return self._exchange(self._http_post, url, answer, data=body, headers=headers)

    # -- a search and its pages -----------------------------------------------------------
    def search(self, url: str, params: Mapping[str, str] | None = None, *, max_pages: int) -> Paged:
        """The first answer and the `next` pages after it. The first request failing raises
        FhirError; a later page failing ends paging (`stop="page_failed"`, `error`). A first
        answer that is not a Bundle is returned alone (`bundles` empty)."""
        first = self.get(url, params)
        paged = Paged(first)
        if first["resourceType"] != "Bundle":
            return paged
        page: dict[str, Any] = first
        while True:
            paged.bundles.append(page)
            next_url = _next_link(page)
            if next_url is None:
                return paged
            rule = outside_base(next_url, self.base)
            if rule is not None:
                log.warning("FHIR next link not followed: rule=%s", rule)
                paged.stop, paged.rule = "next_outside", rule
                return paged
            if len(paged.bundles) >= max_pages:
                paged.stop = "page_limit"
                return paged
            if self.deadline - time.monotonic() <= 0:
                paged.stop = "deadline"
                return paged
            try:
                page = self.get(next_url)
            except FhirError as e:
                paged.stop, paged.error = "page_failed", e
                return paged
            if page["resourceType"] != "Bundle":
                paged.stop = "page_failed"
                paged.error = FhirError(NOT_FHIR, "a later page is not a Bundle")
                return paged


def _id_from_location(location: str | None, rtype: str) -> str | None:
    """The id in a create's `Location` (`[base]/Type/id/_history/vid`)."""
    if not location:
        return None
    parts = urlsplit(location).path.split("/")
    for i, seg in enumerate(parts[:-1]):
        if seg == rtype and parts[i + 1]:
            return parts[i + 1]
    return None


def _next_link(bundle: Mapping[str, Any]) -> str | None:
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None
