"""Trusting CDS clients: verification of the client's signed JWT on every call.

Rules (https://cds-hooks.hl7.org/2.0/#trusting-cds-clients):
- the token arrives as `Authorization: Bearer <jwt>`;
- only asymmetric algorithms: ES256/384/512, RS256/384/512, PS256/384/512 (never `none`, never
  HMAC), and the key's type must fit the algorithm;
- `iss` must be a trusted client (the JSON file named by `CDS_CLIENTS`: a list of
  `{"iss", "jwks_url" | "jwks", "jku_allowlist"?}`);
- the key comes from the `jku` header only when that URL is on the client's `jku_allowlist`,
  else from the client's configured JWKS; JWKS documents are cached and refetched (rate
  limited) when a `kid` is unknown;
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

log = logging.getLogger("immunotox.cds_hooks.auth")

ALLOWED_ALGS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
_KTY_FOR_ALG = {"E": "EC", "R": "RSA", "P": "RSA"}
SKEW_S = 60
JWKS_TTL_S = 300.0
JWKS_MIN_REFRESH_S = 10.0


class AuthError(Exception):
    """Why a call was refused (for the log; never sent to the caller)."""


@dataclass(frozen=True)
class TrustedClient:
    iss: str
    jwks_url: str | None = None
    jwks: Mapping[str, Any] | None = None
    jku_allowlist: tuple[str, ...] = ()


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
            log.error("CDS_CLIENTS entry %d needs jwks or an https jwks_url: skipped", i)
            continue
        if jwks is not None and not (isinstance(jwks, dict) and isinstance(jwks.get("keys"), list)):
            log.error("CDS_CLIENTS entry %d: jwks must be a JWK Set: skipped", i)
            continue
        jku = tuple(u for u in item.get("jku_allowlist") or () if _safe_key_url(u))
        clients[item["iss"]] = TrustedClient(item["iss"], url, jwks, jku)
    return clients


class JwksCache:
    """JWK Sets by URL, shared by the threads of one process."""

    def __init__(self, timeout_s: float, http_get: Callable[..., Any] | None = None):
        self.timeout_s = timeout_s
        self.http_get = http_get or requests.get
        self._sets: dict[str, tuple[float, dict[str, Any]]] = {}
        self._last_refresh: dict[str, float] = {}
        self._lock = threading.Lock()

    def get(self, url: str, refresh: bool = False) -> dict[str, Any] | None:
        now = time.monotonic()
        with self._lock:
            cached = self._sets.get(url)
            if cached and not refresh and now - cached[0] < JWKS_TTL_S:
                return cached[1]
            if refresh and now - self._last_refresh.get(url, -1e9) < JWKS_MIN_REFRESH_S:
                return cached[1] if cached else None
            self._last_refresh[url] = now
        try:
            r = self.http_get(url, timeout=(self.timeout_s, self.timeout_s), allow_redirects=False)
            doc = r.json() if r.status_code == 200 else None
        except (requests.RequestException, ValueError):
            doc = None
        if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
            log.warning("JWKS fetch failed (host %s)", urlsplit(url).hostname)
            return cached[1] if cached else None
        with self._lock:
            self._sets[url] = (time.monotonic(), doc)
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
    ):
        self.clients = clients
        self.put_if_absent = put_if_absent
        self.cache = cache

    def verify(self, authorization: str | None, audience: str) -> dict[str, Any]:
        if not self.clients:
            raise AuthError("no trusted clients configured")
        if not authorization or not authorization.startswith("Bearer "):
            raise AuthError("no bearer token")
        token = authorization[len("Bearer ") :].strip()
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise AuthError(f"malformed token ({type(e).__name__})") from e
        alg = header.get("alg")
        if alg not in ALLOWED_ALGS:
            raise AuthError("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("no kid")
        typ = header.get("typ")
        if typ is not None and str(typ).upper() != "JWT":
            raise AuthError("typ is not JWT")
        client = self.clients.get(unverified.get("iss"))  # type: ignore[arg-type]
        if client is None:
            raise AuthError("unknown iss")
        jwk = self._key(client, header.get("jku"), kid)
        if jwk.get("kty") != _KTY_FOR_ALG[alg[0]]:
            raise AuthError("key type does not fit the algorithm")
        if jwk.get("alg") not in (None, alg) or jwk.get("use") not in (None, "sig"):
            raise AuthError("key not usable for this algorithm")
        try:
            key = PyJWK(jwk, algorithm=alg).key
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=audience,
                issuer=client.iss,
                leeway=SKEW_S,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.PyJWTError as e:
            raise AuthError(f"rejected ({type(e).__name__})") from e
        now = time.time()
        iat = claims.get("iat")
        if not isinstance(iat, (int, float)) or iat > now + SKEW_S:
            raise AuthError("iat in the future")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise AuthError("no jti")
        ttl = max(float(claims["exp"]) - now + SKEW_S, 1.0)
        digest = hashlib.sha256(f"{client.iss}\x00{jti}".encode()).hexdigest()
        if not self.put_if_absent("jti", digest, 1, ttl):
            raise AuthError("jti replayed")
        return claims

    def _key(self, client: TrustedClient, jku: Any, kid: str) -> dict[str, Any]:
        if jku is not None:
            if not isinstance(jku, str) or jku not in client.jku_allowlist:
                raise AuthError("jku not on the client's allowlist")
            url: str | None = jku
        else:
            url = client.jwks_url
        if url is None:
            found = _find_key(client.jwks, kid)
            if found is None:
                raise AuthError("unknown kid")
            return found
        found = _find_key(self.cache.get(url), kid)
        if found is None:
            found = _find_key(self.cache.get(url, refresh=True), kid)
        if found is None:
            raise AuthError("unknown kid")
        return found
