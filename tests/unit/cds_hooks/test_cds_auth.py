"""Client JWT verification with real ES384 and RS384 signatures: each rule that refuses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from immunotox.app import create_app
from tests.unit.cds_hooks.fixtures import hook_body

BASE = "https://cds.example.org"
ISS = "https://ehr.example"
ISS2 = "https://ehr2.example"
JWKS_URL = "https://ehr.example/jwks"
JKU_OK = "https://ehr.example/jwks-rotating"
JKU_BAD = "https://attacker.example/jwks"
DISCOVERY = f"{BASE}/cds-services"

EC_KEY = ec.generate_private_key(ec.SECP384R1())
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_EC = ec.generate_private_key(ec.SECP384R1())


def jwk(public_key, kid, algo):
    d = json.loads(algo.to_jwk(public_key))
    d.update(kid=kid, use="sig")
    return d


EC_JWK = jwk(EC_KEY.public_key(), "ec1", ECAlgorithm(ECAlgorithm.SHA384))
RSA_JWK = jwk(RSA_KEY.public_key(), "rsa1", RSAAlgorithm(RSAAlgorithm.SHA384))


def token(
    key=EC_KEY, alg="ES384", kid="ec1", iss=ISS, aud=DISCOVERY, drop=(), headers=None, **claims
):
    now = int(time.time())
    body = {
        "iss": iss,
        "aud": aud,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
        "sub": "client",
    }
    body.update(claims)
    for k in drop:
        body.pop(k)
    return jwt.encode(
        body, key, algorithm=alg, headers={"kid": kid, "typ": "JWT", **(headers or {})}
    )


def b64(d: bytes) -> str:
    return base64.urlsafe_b64encode(d).rstrip(b"=").decode()


@pytest.fixture
def client(tmp_path):
    clients = [
        {"iss": ISS, "jwks_url": JWKS_URL, "jku_allowlist": [JKU_OK]},
        {"iss": ISS2, "jwks": {"keys": [RSA_JWK]}},
    ]
    path = tmp_path / "clients.json"
    path.write_text(json.dumps(clients))
    app = create_app(
        {
            "INSTANCE_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
            "CDS_AUTH": "on",
            "CDS_CLIENTS": str(path),
            "PUBLIC_BASE_URL": BASE,
            "SECRET_KEY": "t",
            "TESTING": True,
        }
    )
    return app.test_client()


@pytest.fixture
def jwks():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(JWKS_URL, json={"keys": [EC_JWK]})
        rsps.get(JKU_OK, json={"keys": [EC_JWK]})
        rsps.get(JKU_BAD, json={"keys": [EC_JWK]})
        yield rsps


def call(client, tok):
    return client.get("/cds-services", headers={"Authorization": f"Bearer {tok}"})


def test_a_valid_es384_token_from_the_jwks_url_is_accepted(client, jwks):
    assert call(client, token()).status_code == 200


def test_a_valid_rs384_token_with_inline_jwks_is_accepted_on_a_service_call(
    client, jwks, monkeypatch
):
    from tests.unit.cds_hooks.fixtures import assessment

    monkeypatch.setattr("cds_hooks.pipeline.run_assessment", lambda r, at=None: assessment())
    aud = f"{BASE}/cds-services/immunotox-patient-view"
    tok = token(RSA_KEY, "RS384", "rsa1", iss=ISS2, aud=aud)
    r = client.post(
        "/cds-services/immunotox-patient-view",
        json=hook_body(),
        headers={"Authorization": f"Bearer {tok}"},
    )
    assert r.status_code == 200 and r.json == {"cards": []}


def test_the_jwks_is_cached(client, jwks):
    assert call(client, token()).status_code == 200
    assert call(client, token()).status_code == 200
    assert len([c for c in jwks.calls if c.request.url == JWKS_URL]) == 1


def test_a_refusal_is_a_bare_401_and_the_token_is_not_logged(client, jwks, caplog):
    tok = token(aud="https://elsewhere.example/cds-services")
    with caplog.at_level(logging.INFO):
        r = call(client, tok)
    assert r.status_code == 401 and r.data == b"" and r.headers["WWW-Authenticate"] == "Bearer"
    assert tok not in caplog.text and tok.split(".")[2] not in caplog.text


def test_no_authorization_header_is_401(client, jwks):
    assert client.get("/cds-services").status_code == 401
    assert client.post("/cds-services/immunotox-patient-view", json=hook_body()).status_code == 401


def test_alg_none_is_refused(client, jwks):
    now = int(time.time())
    claims = {"iss": ISS, "aud": DISCOVERY, "exp": now + 300, "iat": now, "jti": "n1"}
    tok = f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT', 'kid': 'ec1'}).encode())}.{b64(json.dumps(claims).encode())}."
    assert call(client, tok).status_code == 401


def test_hs256_signed_with_the_public_key_is_refused(client, jwks):
    pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa1"}).encode())
    payload = b64(
        json.dumps(
            {"iss": ISS2, "aud": DISCOVERY, "exp": now + 300, "iat": now, "jti": "h1"}
        ).encode()
    )
    sig = b64(hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    assert call(client, f"{header}.{payload}.{sig}").status_code == 401


def test_wrong_audience_is_refused(client, jwks):
    assert call(client, token(aud=f"{BASE}/cds-services/immunotox-patient-view")).status_code == 401


def test_expired_token_is_refused(client, jwks):
    now = int(time.time())
    assert call(client, token(exp=now - 120, iat=now - 400)).status_code == 401


def test_iat_in_the_future_is_refused_beyond_the_skew(client, jwks):
    now = int(time.time())
    assert call(client, token(iat=now + 300, exp=now + 600)).status_code == 401
    assert call(client, token(iat=now + 30, exp=now + 600)).status_code == 200


def test_unknown_issuer_is_refused(client, jwks):
    assert call(client, token(iss="https://stranger.example")).status_code == 401


def test_jku_off_the_allowlist_is_refused_and_never_fetched(client, jwks):
    assert call(client, token(headers={"jku": JKU_BAD})).status_code == 401
    assert not any(c.request.url == JKU_BAD for c in jwks.calls)


def test_jku_on_the_allowlist_is_used(client, jwks):
    assert call(client, token(headers={"jku": JKU_OK})).status_code == 200
    assert any(c.request.url == JKU_OK for c in jwks.calls)


def test_unknown_kid_is_refused_after_one_rate_limited_refetch(client, jwks):
    assert call(client, token(OTHER_EC, kid="nope")).status_code == 401
    assert call(client, token(OTHER_EC, kid="nope")).status_code == 401
    assert len([c for c in jwks.calls if c.request.url == JWKS_URL]) == 1


def test_a_rotated_key_is_found_by_refetching(client, monkeypatch):
    monkeypatch.setattr("cds_hooks.auth.JWKS_MIN_REFRESH_S", 0.0)
    new = jwk(OTHER_EC.public_key(), "ec2", ECAlgorithm(ECAlgorithm.SHA384))
    with responses.RequestsMock() as rsps:
        rsps.get(JWKS_URL, json={"keys": [EC_JWK]})
        assert call(client, token()).status_code == 200
        rsps.replace(responses.GET, JWKS_URL, json={"keys": [EC_JWK, new]})
        assert call(client, token(OTHER_EC, kid="ec2")).status_code == 200


def test_a_key_of_the_wrong_type_for_the_algorithm_is_refused(client, jwks):
    assert call(client, token(RSA_KEY, "RS384", "ec1")).status_code == 401


def test_a_signature_by_another_key_is_refused(client, jwks):
    assert call(client, token(OTHER_EC)).status_code == 401


def test_a_replayed_jti_is_refused(client, jwks):
    tok = token(jti="once")
    assert call(client, tok).status_code == 200
    assert call(client, tok).status_code == 401


@pytest.mark.parametrize("claim", ["iss", "aud", "exp", "iat", "jti"])
def test_missing_claims_are_refused(client, jwks, claim):
    assert call(client, token(drop=(claim,))).status_code == 401


def test_no_trusted_clients_refuses_everything(tmp_path, jwks):
    app = create_app(
        {
            "INSTANCE_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
            "CDS_AUTH": "on",
            "PUBLIC_BASE_URL": BASE,
            "SECRET_KEY": "t",
        }
    )
    assert call(app.test_client(), token()).status_code == 401


def test_preflight_needs_no_token(client):
    assert client.options("/cds-services/immunotox-patient-view").status_code == 204
