"""How the app authenticates at the token endpoint.

- `private_key_jwt` (SMART "confidential asymmetric"): when SMART_PRIVATE_KEY_PATH names a PEM
  private key (RSA or EC P-384) and the server supports it. The public key is served at the
  stable URL `/smart/.well-known/jwks.json` for the EHR to register.
- `client_secret_basic` ("confidential symmetric"): when SMART_CLIENT_SECRET is set.
- Public client otherwise: `client_id` in the form body, PKCE protects the code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@lru_cache(maxsize=4)
def _load_key(path: str, mtime: float) -> Any:
    return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)


def private_key(cfg: dict[str, Any]) -> Any | None:
    path = cfg.get("SMART_PRIVATE_KEY_PATH")
    if not path:
        return None
    p = Path(path)
    return _load_key(str(p), p.stat().st_mtime)


def _b64(n: int) -> str:
    raw = n.to_bytes((n.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def public_jwk(key: Any) -> dict[str, str]:
    """The public JWK with an RFC 7638 thumbprint as `kid`."""
    if isinstance(key, rsa.RSAPrivateKey):
        nums = key.public_key().public_numbers()
        core = {"e": _b64(nums.e), "kty": "RSA", "n": _b64(nums.n)}
        alg = "RS384"
    elif isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1":
        nums = key.public_key().public_numbers()
        size = 48
        core = {
            "crv": "P-384",
            "kty": "EC",
            "x": base64.urlsafe_b64encode(nums.x.to_bytes(size, "big")).rstrip(b"=").decode(),
            "y": base64.urlsafe_b64encode(nums.y.to_bytes(size, "big")).rstrip(b"=").decode(),
        }
        alg = "ES384"
    else:
        raise ValueError("SMART_PRIVATE_KEY_PATH must hold an RSA or EC P-384 private key")
    canonical = json.dumps(core, separators=(",", ":"), sort_keys=True).encode()
    kid = base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()
    return {**core, "kid": kid, "alg": alg, "use": "sig", "key_ops": ["verify"]}


def jwks(cfg: dict[str, Any]) -> dict[str, Any]:
    key = private_key(cfg)
    return {"keys": [public_jwk(key)] if key is not None else []}


def client_assertion(cfg: dict[str, Any], token_endpoint: str, jku: str | None = None) -> str:
    key = private_key(cfg)
    if key is None:
        raise ValueError("no private key configured")
    jwk = public_jwk(key)
    now = int(time.time())
    claims = {
        "iss": cfg["SMART_CLIENT_ID"],
        "sub": cfg["SMART_CLIENT_ID"],
        "aud": token_endpoint,
        "exp": now + 240,  # SMART: no more than five minutes in the future
        "iat": now,
        "jti": secrets.token_urlsafe(24),
    }
    headers = {"kid": jwk["kid"], "typ": "JWT"}
    if jku:
        headers["jku"] = jku
    return jwt.encode(claims, key, algorithm=jwk["alg"], headers=headers)


def token_request_auth(
    cfg: dict[str, Any], smart_config: dict[str, Any], jku: str | None = None
) -> tuple[dict[str, str], tuple[str, str] | None, str]:
    """Form fields and HTTP basic auth for a token request, and the method's name."""
    token_endpoint = smart_config["token_endpoint"]
    methods = smart_config.get("token_endpoint_auth_methods_supported") or []
    if cfg.get("SMART_PRIVATE_KEY_PATH") and (not methods or "private_key_jwt" in methods):
        return (
            {
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": client_assertion(cfg, token_endpoint, jku),
            },
            None,
            "private_key_jwt",
        )
    if cfg.get("SMART_CLIENT_SECRET"):
        return {}, (cfg["SMART_CLIENT_ID"], cfg["SMART_CLIENT_SECRET"]), "client_secret_basic"
    return {"client_id": cfg["SMART_CLIENT_ID"]}, None, "none"
