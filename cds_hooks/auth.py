"""Trusting CDS clients: verification of the client's signed JWT on every call.

Rules (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients):
- the token arrives as `Authorization: Bearer <jwt>`;
- only asymmetric algorithms: ES256/384/512, RS256/384/512, PS256/384/512 (never `none`, never
  HMAC), and the key's type must fit the algorithm;
- `iss` must be a trusted client (the JSON file named by `CDS_CLIENTS`: a list of
  `{"iss", "jwks_url" | "jwks", "jku_allowlist"?}`);
- the key comes from the `jku` header only when that URL is on the client's `jku_allowlist`,
  else from the client's configured JWKS (inline `jwks` or `jwks_url`): a `jku` off the list is
  ignored (logged, never fetched, never trusted), as clients such as the CDS Hooks sandbox
  always send one; JWKS documents are cached and refetched (rate limited) when a `kid` is
  unknown;
- `aud` must equal the URL called; `exp` must be in the future and `iat` not more than
  `SKEW_S` in the future; `jti` must not have been seen before (shared store, so every worker
  and host sees it).

Failures raise `AuthError` with a reason for the log; the caller answers a bare 401.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt
import requests
from jwt import PyJWK

from immunotox.fhir_client import FhirError, read_body

log = logging.getLogger("immunotox.cds_hooks.auth")

ALLOWED_ALGS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
_KTY_FOR_ALG = {"E": "EC", "R": "RSA", "P": "RSA"}
SKEW_S = 60
# The longest a client JWT may live (exp - iat, and exp - now): CDS Hooks 2.0, "Trusting CDS
# Clients", asks for a short-lived token; IMMUNOTOX_CDS_JWT_MAX_LIFETIME_S overrides it.
MAX_LIFETIME_S = 300.0
_PYJWT_CODES = {
    "InvalidAudienceError": "aud",
    "ExpiredSignatureError": "exp",
    "InvalidIssuerError": "iss",
    "MissingRequiredClaimError": "missing_claim",
    "ImmatureSignatureError": "nbf",
    "InvalidIssuedAtError": "iat",
    "InvalidSignatureError": "signature",
    "DecodeError": "malformed",
    "InvalidKeyError": "key_type",
}
JWKS_TTL_S = 300.0
JWKS_MIN_REFRESH_S = 10.0
JWKS_BACKOFF_S = 5.0
JWKS_BACKOFF_MAX_S = 300.0
JWKS_STALE_MAX_S = 24 * 3600.0
JWKS_MAX_BYTES = 256 * 1024


class AuthError(Exception):
    """Why a call was refused: `code` names the rule (logged as `reason=<code>`; never sent to
    the caller), the message says more for the log."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


@dataclass(frozen=True)
class TrustedClient:
    iss: str
    jwks_url: str | None = None
    jwks: Mapping[str, Any] | None = None
    jku_allowlist: tuple[str, ...] = ()
    tenants: tuple[str, ...] = ()  # when set, the token's `tenant` claim must be one of them


def _safe_key_url(url: Any) -> bool:
    if not isinstance(url, str):
        return False
    u = urlsplit(url)
    if u.scheme == "https":
        return bool(u.netloc)
    return u.scheme == "http" and u.hostname in ("localhost", "127.0.0.1", "::1")


def load_clients(path: str | Path | None) -> dict[str, TrustedClient]:
    """Trusted clients by `iss`. A missing or malformed file trusts no one (and says so)."""
    if not path:
        return {}
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        log.error("CDS_CLIENTS file unreadable (%s): no client is trusted", type(e).__name__)
        return {}
    if not isinstance(raw, list):
        log.error("CDS_CLIENTS must hold a JSON list: no client is trusted")
        return {}
    clients: dict[str, TrustedClient] = {}
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("iss"), str):
            log.error("CDS_CLIENTS entry %d has no iss: skipped", i)
            continue
        jwks = item.get("jwks")
        url = item.get("jwks_url")
        if jwks is None and not _safe_key_url(url):
            log.error(
                "CDS_CLIENTS entry %d needs jwks or an https jwks_url: skipped "
                "(reason=jwks_url_not_https)",
                i,
            )
            continue
        if jwks is not None and not (isinstance(jwks, dict) and isinstance(jwks.get("keys"), list)):
            log.error("CDS_CLIENTS entry %d: jwks must be a JWK Set: skipped", i)
            continue
        jku = tuple(u for u in item.get("jku_allowlist") or () if _safe_key_url(u))
        tenant = item.get("tenant")
        tenants = (
            (tenant,)
            if isinstance(tenant, str)
            else tuple(t for t in tenant or () if isinstance(t, str))
        )
        clients[item["iss"]] = TrustedClient(item["iss"], url, jwks, jku, tenants)
    return clients


class _Entry:
    __slots__ = ("doc", "failures", "fetched_at", "lock", "retry_at")

    def __init__(self) -> None:
        self.doc: dict[str, Any] | None = None
        self.fetched_at = -1e18
        self.failures = 0
        self.retry_at = -1e18  # no fetch before this (back-off after a failure, refresh limit)
        self.lock = threading.Lock()  # one fetch at a time per URL


class JwksCache:
    """JWK Sets by URL, shared by the threads of one process.

    - a set is used for `JWKS_TTL_S`, then refetched; an unknown `kid` refetches it at most
      every `JWKS_MIN_REFRESH_S`;
    - one fetch at a time per URL: other threads wait for it (up to the fetch deadline) and use
      its result;
    - each fetch has one overall deadline (`timeout_s`, body included) and a size limit;
    - a failed fetch is not repeated before a back-off (`JWKS_BACKOFF_S`, doubling to
      `JWKS_BACKOFF_MAX_S`), and the last good set is kept (for `JWKS_STALE_MAX_S`) while the
      key server is down.
    """

    def __init__(self, timeout_s: float, http_get: Callable[..., Any] | None = None):
        self.timeout_s = timeout_s
        self.http_get = http_get or requests.get
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.fetches = 0  # outbound fetches made (for tests and figures)

    def _entry(self, url: str) -> _Entry:
        with self._lock:
            e = self._entries.get(url)
            if e is None:
                e = self._entries[url] = _Entry()
            return e

    def get(self, url: str, refresh: bool = False) -> dict[str, Any] | None:
        e = self._entry(url)
        now = time.monotonic()
        if e.doc is not None and not refresh and now - e.fetched_at < JWKS_TTL_S:
            return e.doc
        if now < e.retry_at:
            return self._usable(e, now)
        if not e.lock.acquire(timeout=self.timeout_s):
            return self._usable(e, time.monotonic())  # another thread is fetching it
        try:
            now = time.monotonic()
            if e.fetched_at > now - JWKS_MIN_REFRESH_S or now < e.retry_at:
                return self._usable(e, now)  # fetched (or failed) while we waited
            doc = self._fetch(url)
            now = time.monotonic()
            if doc is None:
                e.failures += 1
                e.retry_at = now + min(JWKS_BACKOFF_S * 2 ** (e.failures - 1), JWKS_BACKOFF_MAX_S)
                log.warning(
                    "JWKS fetch failed (host %s, %d in a row): %s",
                    urlsplit(url).hostname,
                    e.failures,
                    "keeping the last good key set" if self._usable(e, now) else "no key set",
                )
                return self._usable(e, now)
            e.doc, e.fetched_at, e.failures = doc, now, 0
            e.retry_at = now + JWKS_MIN_REFRESH_S
            return doc
        finally:
            e.lock.release()

    @staticmethod
    def _usable(e: _Entry, now: float) -> dict[str, Any] | None:
        return e.doc if e.doc is not None and now - e.fetched_at < JWKS_STALE_MAX_S else None

    def _fetch(self, url: str) -> dict[str, Any] | None:
        self.fetches += 1
        deadline = time.monotonic() + self.timeout_s
        try:
            r = self.http_get(
                url,
                timeout=(self.timeout_s, self.timeout_s),
                allow_redirects=False,
                stream=True,
                headers={"Accept": "application/json"},
            )
        except requests.RequestException:
            return None
        try:
            if r.status_code != 200:
                return None
            body = read_body(r, deadline, JWKS_MAX_BYTES)
            doc = json.loads(body)
        except (FhirError, ValueError, RecursionError):
            return None
        finally:
            r.close()
        if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
            return None
        return doc


def _find_key(jwks: Mapping[str, Any] | None, kid: str) -> dict[str, Any] | None:
    if not jwks:
        return None
    for k in jwks.get("keys") or []:
        if isinstance(k, dict) and k.get("kid") == kid:
            return k
    return None


class Verifier:
    def __init__(
        self,
        clients: Mapping[str, TrustedClient],
        put_if_absent: Callable[[str, str, Any, float], bool],
        cache: JwksCache,
        max_lifetime_s: float = MAX_LIFETIME_S,
    ):
        self.clients = clients
        self.put_if_absent = put_if_absent
        self.cache = cache
        self.max_lifetime_s = float(max_lifetime_s)

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        try:
            return self._verify(authorization, audience)
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as e:
            # a header or claim of the wrong JSON type: a refusal, never a 500
            raise AuthError("malformed", type(e).__name__) from e

    def _verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        if not self.clients:
            raise AuthError("no_clients", "no trusted clients configured")
        if not isinstance(authorization, str) or not authorization.startswith("Bearer "):
            raise AuthError("no_bearer", "no bearer token")
        token = authorization[len("Bearer ") :].strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise AuthError("malformed", type(e).__name__) from e
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALLOWED_ALGS:
            raise AuthError("alg", "algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("kid", "no kid")
        typ = header.get("typ")
        if typ is not None and str(typ).upper() != "JWT":
            raise AuthError("typ", "typ is not JWT")
        iss = unverified.get("iss")
        client = self.clients.get(iss) if isinstance(iss, str) else None
        if client is None:
            raise AuthError("iss", "unknown or malformed iss")
        jwk = self._key(client, header.get("jku"), kid)
        if jwk.get("kty") != _KTY_FOR_ALG[alg[0]]:
            raise AuthError("key_type", "key type does not fit the algorithm")
        if jwk.get("alg") not in (None, alg):
            raise AuthError("key_alg", "the key is for another algorithm")
        if jwk.get("use") not in (None, "sig"):
            raise AuthError("key_use", "the key is not a signing key")
        try:
            key = PyJWK(jwk, algorithm=alg).key
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=audience,
                issuer=client.iss,
                leeway=SKEW_S,
                options={"require": ["iss", "aud", "exp", "iat", "jti"], "verify_iat": False},
            )
        except jwt.PyJWTError as e:
            raise AuthError(_PYJWT_CODES.get(type(e).__name__, "rejected"), type(e).__name__) from e
        now = time.time()
        iat = claims.get("iat")
        if isinstance(iat, bool) or not isinstance(iat, (int, float)):
            raise AuthError("iat", "iat is not a number")
        if iat > now + SKEW_S:  # checked here alone (PyJWT's own iat check is off)
            raise AuthError("iat_future", "iat in the future")
        exp = float(claims["exp"])
        if exp - iat > self.max_lifetime_s or exp > now + self.max_lifetime_s + SKEW_S:
            raise AuthError("lifetime", f"exp more than {self.max_lifetime_s:.0f} s ahead")
        if client.tenants and claims.get("tenant") not in client.tenants:
            raise AuthError("tenant", "tenant missing or not this client's")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise AuthError("jti", "no jti")
        ttl = max(exp - now + SKEW_S, 1.0)
        digest = hashlib.sha256(f"{client.iss}\x00{jti}".encode()).hexdigest()
        if not self.put_if_absent("jti", digest, 1, ttl):
            raise AuthError("replay", "jti replayed")
        return claims

    def _key(self, client: TrustedClient, jku: Any, kid: str) -> dict[str, Any]:
        url: str | None = client.jwks_url
        if jku is not None:
            if isinstance(jku, str) and jku in client.jku_allowlist:
                url = jku
            else:
                # never fetched: the client's configured keys decide (logged without the URL's
                # path, which is the client's business)
                try:
                    host = urlsplit(jku).hostname if isinstance(jku, str) else None
                except ValueError:
                    host = None
                log.info("jku (host %s) not on the client's allowlist: ignored", host)
        if url is None:
            found = _find_key(client.jwks, kid)
            if found is None:
                raise AuthError("unknown_kid", "kid not in the client's key set")
            return found
        found = _find_key(self.cache.get(url), kid)
        if found is None:
            found = _find_key(self.cache.get(url, refresh=True), kid)
        if found is None:
            raise AuthError("unknown_kid", "kid not in the key set (or the key set unavailable)")
        return found
