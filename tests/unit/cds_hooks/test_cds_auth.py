"""Client JWT verification with real ES384 and RS384 signatures: each rule that refuses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
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
# the same EC key published for another algorithm, and as an encryption key
EC_JWK_ES256_ONLY = {
    **jwk(EC_KEY.public_key(), "ec-alg", ECAlgorithm(ECAlgorithm.SHA384)),
    "alg": "ES256",
}
EC_JWK_ENC = {**jwk(EC_KEY.public_key(), "ec-enc", ECAlgorithm(ECAlgorithm.SHA384)), "use": "enc"}
ISS_HTTP = "https://ehr-http.example"
ISS_TENANT = "https://ehr-tenant.example"


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
        {"iss": ISS2, "jwks": {"keys": [RSA_JWK, EC_JWK_ES256_ONLY, EC_JWK_ENC]}},
        {"iss": ISS_HTTP, "jwks_url": "http://ehr-http.example/jwks"},  # not https: skipped
        {"iss": ISS_TENANT, "jwks": {"keys": [EC_JWK]}, "tenant": "hospital-a"},
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


def refused(client, tok, caplog) -> str:
    """Call with `tok`, check the bare 401, and return the rule that refused (the log's
    reason code): each refusal test names its rule, so removing one check fails its test."""
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="immunotox.cds_hooks"):
        r = call(client, tok)
    assert r.status_code == 401 and r.data == b"" and r.headers["WWW-Authenticate"] == "Bearer"
    [msg] = [m for m in caplog.messages if m.startswith("client JWT refused")]
    return re.search(r"reason=(\w+)", msg).group(1)


def unsigned(header: dict, claims: dict) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.c2ln"


def claims_now(**extra) -> dict:
    now = int(time.time())
    return {"iss": ISS, "aud": DISCOVERY, "exp": now + 300, "iat": now, "jti": "x", **extra}


def test_a_valid_es384_token_from_the_jwks_url_is_accepted(client, jwks):
    assert call(client, token()).status_code == 200


def test_a_valid_rs384_token_with_inline_jwks_is_accepted_on_a_service_call(
    client, jwks, monkeypatch
):
    from tests.unit.cds_hooks.fixtures import assessment

    monkeypatch.setattr("cds_hooks.pipeline.run_assessment", lambda r, at=None, **kw: assessment())
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


def test_no_authorization_header_is_401(client, jwks, caplog):
    assert client.get("/cds-services").status_code == 401
    assert "reason=no_bearer" in caplog.text
    assert client.post("/cds-services/immunotox-patient-view", json=hook_body()).status_code == 401


def test_alg_none_is_refused(client, jwks, caplog):
    now = int(time.time())
    claims = {"iss": ISS, "aud": DISCOVERY, "exp": now + 300, "iat": now, "jti": "n1"}
    tok = f"{b64(json.dumps({'alg': 'none', 'typ': 'JWT', 'kid': 'ec1'}).encode())}.{b64(json.dumps(claims).encode())}."
    assert refused(client, tok, caplog) == "alg"


def test_hs256_signed_with_the_public_key_is_refused(client, jwks, caplog):
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
    assert refused(client, f"{header}.{payload}.{sig}", caplog) == "alg"


def test_wrong_audience_is_refused(client, jwks, caplog):
    tok = token(aud=f"{BASE}/cds-services/immunotox-patient-view")
    assert refused(client, tok, caplog) == "aud"


def test_expired_token_is_refused(client, jwks, caplog):
    now = int(time.time())
    assert refused(client, token(exp=now - 120, iat=now - 400), caplog) == "exp"


def test_iat_in_the_future_is_refused_beyond_the_skew(client, jwks, caplog):
    now = int(time.time())
    # 2 minutes ahead: beyond the 60 s skew, while exp - iat and exp - now stay within 5 min
    assert refused(client, token(iat=now + 120, exp=now + 180), caplog) == "iat_future"
    assert call(client, token(iat=now + 30, exp=now + 300)).status_code == 200


def test_an_iat_that_is_not_a_number_is_refused(client, jwks, caplog):
    assert refused(client, token(iat="soon"), caplog) in ("iat", "malformed")


@pytest.mark.parametrize(
    ("iat_ago", "exp_ahead", "accepted"),
    [(0, 300, True), (0, 301 + 60, False), (200, 100, True), (400, 100, False)],
)
def test_the_token_lifetime_is_capped_at_five_minutes(
    client, jwks, caplog, iat_ago, exp_ahead, accepted
):
    """CDS Hooks 2.0 asks for a short-lived JWT: exp at most 300 s after iat (and after now,
    with the 60 s skew)."""
    now = int(time.time())
    tok = token(iat=now - iat_ago, exp=now + exp_ahead)
    if accepted:
        assert call(client, tok).status_code == 200
    else:
        assert refused(client, tok, caplog) == "lifetime"


def test_a_token_valid_for_a_day_is_refused(client, jwks, caplog):
    now = int(time.time())
    assert refused(client, token(exp=now + 86400), caplog) == "lifetime"


def test_unknown_issuer_is_refused(client, jwks, caplog):
    assert refused(client, token(iss="https://stranger.example"), caplog) == "iss"


def test_a_client_with_an_http_key_set_url_is_not_trusted(client, jwks, caplog):
    jwks.get("http://ehr-http.example/jwks", json={"keys": [EC_JWK]})
    assert refused(client, token(iss=ISS_HTTP), caplog) == "iss"
    assert not any(c.request.url.startswith("http://ehr-http") for c in jwks.calls)


def test_an_http_key_set_url_is_refused_at_load_with_its_reason(tmp_path, caplog):
    from cds_hooks.auth import load_clients

    path = tmp_path / "c.json"
    path.write_text(json.dumps([{"iss": ISS, "jwks_url": "http://ehr.example/jwks"}]))
    with caplog.at_level(logging.ERROR):
        assert load_clients(path) == {}
    assert "reason=jwks_url_not_https" in caplog.text
    path.write_text(json.dumps([{"iss": ISS, "jwks_url": "http://localhost:9/jwks"}]))
    assert ISS in load_clients(path)  # loopback over http: the local demo


@pytest.mark.parametrize(
    ("where", "value", "rule"),
    [
        ("claims", {"iss": ["https://ehr.example"]}, "iss"),
        ("claims", {"iss": {"a": 1}}, "iss"),
        ("header", {"alg": ["ES384"]}, "alg"),
        ("header", {"alg": {"a": "ES384"}}, "alg"),
        ("header", {"kid": ["ec1"]}, "malformed"),  # PyJWT refuses it first
        ("header", {"jku": ["https://x"]}, "signature"),  # the jku ignored, the key decides
    ],
)
def test_a_claim_or_header_of_the_wrong_json_type_is_a_401_not_a_500(
    client, jwks, caplog, where, value, rule
):
    header = {"alg": "ES384", "typ": "JWT", "kid": "ec1"}
    claims = claims_now()
    (header if where == "header" else claims).update(value)
    assert refused(client, unsigned(header, claims), caplog) == rule
    assert "Traceback" not in caplog.text


def test_exp_of_the_wrong_json_type_is_a_401(client, jwks, caplog):
    assert refused(client, token(exp=[1]), caplog) in ("malformed", "exp")


def test_typ_other_than_jwt_is_refused(client, jwks, caplog):
    assert refused(client, token(headers={"typ": "at+jwt"}), caplog) == "typ"


def test_a_token_without_kid_is_refused(client, jwks, caplog):
    no_kid = jwt.encode(claims_now(jti=str(uuid.uuid4())), EC_KEY, "ES384", headers={"typ": "JWT"})
    assert "kid" not in jwt.get_unverified_header(no_kid)
    assert refused(client, no_kid, caplog) == "kid"
    assert refused(client, token(kid=""), caplog) == "kid"


def test_a_key_published_for_another_algorithm_is_refused(client, jwks, caplog):
    assert refused(client, token(iss=ISS2, kid="ec-alg"), caplog) == "key_alg"


def test_a_key_published_for_encryption_is_refused(client, jwks, caplog):
    assert refused(client, token(iss=ISS2, kid="ec-enc"), caplog) == "key_use"


def test_a_configured_tenant_must_match(client, jwks, caplog):
    assert call(client, token(iss=ISS_TENANT, tenant="hospital-a")).status_code == 200
    assert refused(client, token(iss=ISS_TENANT, tenant="hospital-b"), caplog) == "tenant"
    assert refused(client, token(iss=ISS_TENANT), caplog) == "tenant"
    assert call(client, token(tenant="anything")).status_code == 200  # no tenant configured


def test_jku_off_the_allowlist_is_ignored_never_fetched_and_the_configured_keys_decide(
    client, jwks, caplog
):
    caplog.set_level(logging.INFO, logger="immunotox.cds_hooks.auth")
    # signed with the client's registered key: accepted, the jku ignored (and logged)
    assert call(client, token(headers={"jku": JKU_BAD})).status_code == 200
    assert any("not on the client's allowlist: ignored" in r.getMessage() for r in caplog.records)
    # signed with the attacker's own key, published at the jku: refused
    assert call(client, token(OTHER_EC, headers={"jku": JKU_BAD})).status_code == 401
    assert call(client, token(OTHER_EC, kid="evil", headers={"jku": JKU_BAD})).status_code == 401
    assert not any(c.request.url == JKU_BAD for c in jwks.calls)


def test_a_jku_that_is_not_a_string_is_ignored_too(client, jwks):
    assert call(client, token(headers={"jku": ["x"]})).status_code == 200
    assert call(client, token(OTHER_EC, headers={"jku": {"a": 1}})).status_code == 401


def test_signed_like_the_cds_hooks_sandbox_es384_kid_and_jku_with_inline_keys(tmp_path):
    """The sandbox (cds-hooks/sandbox) signs ES384 with a `kid` and always sends a `jku`
    header naming its own JWKS URL; the service's operator registers its keys inline."""
    sandbox_key = ec.generate_private_key(ec.SECP384R1())
    kid = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
    public = jwk(sandbox_key.public_key(), kid, ECAlgorithm(ECAlgorithm.SHA384))
    sandbox_iss = "https://sandbox.cds-hooks.org"
    path = tmp_path / "clients.json"
    path.write_text(json.dumps([{"iss": sandbox_iss, "jwks": {"keys": [public]}}]))
    app = create_app(
        {
            "INSTANCE_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
            "CDS_AUTH": "on",
            "CDS_CLIENTS": str(path),
            "PUBLIC_BASE_URL": BASE,
            "TESTING": True,
        }
    )
    http = app.test_client()
    sandbox_jku = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
    with responses.RequestsMock() as rsps:  # any outbound fetch would fail the test
        good = token(sandbox_key, "ES384", kid, iss=sandbox_iss, headers={"jku": sandbox_jku})
        assert call(http, good).status_code == 200
        forged = token(OTHER_EC, "ES384", kid, iss=sandbox_iss, headers={"jku": sandbox_jku})
        assert call(http, forged).status_code == 401
        assert len(rsps.calls) == 0


def test_jku_on_the_allowlist_is_used(client, jwks):
    assert call(client, token(headers={"jku": JKU_OK})).status_code == 200
    assert any(c.request.url == JKU_OK for c in jwks.calls)


def test_unknown_kid_is_refused_after_one_rate_limited_refetch(client, jwks, caplog):
    assert refused(client, token(OTHER_EC, kid="nope"), caplog) == "unknown_kid"
    assert refused(client, token(OTHER_EC, kid="nope"), caplog) == "unknown_kid"
    assert len([c for c in jwks.calls if c.request.url == JWKS_URL]) == 1


def test_a_rotated_key_is_found_by_refetching(client, monkeypatch):
    monkeypatch.setattr("cds_hooks.auth.JWKS_MIN_REFRESH_S", 0.0)
    new = jwk(OTHER_EC.public_key(), "ec2", ECAlgorithm(ECAlgorithm.SHA384))
    with responses.RequestsMock() as rsps:
        rsps.get(JWKS_URL, json={"keys": [EC_JWK]})
        assert call(client, token()).status_code == 200
        rsps.replace(responses.GET, JWKS_URL, json={"keys": [EC_JWK, new]})
        assert call(client, token(OTHER_EC, kid="ec2")).status_code == 200


def test_a_key_of_the_wrong_type_for_the_algorithm_is_refused(client, jwks, caplog):
    assert refused(client, token(RSA_KEY, "RS384", "ec1"), caplog) == "key_type"


def test_a_signature_by_another_key_is_refused(client, jwks, caplog):
    assert refused(client, token(OTHER_EC), caplog) == "signature"


def test_a_replayed_jti_is_refused(client, jwks, caplog):
    tok = token(jti="once")
    assert call(client, tok).status_code == 200
    assert refused(client, tok, caplog) == "replay"


@pytest.mark.parametrize(
    ("claim", "rule"),
    [
        ("iss", "iss"),
        ("aud", "missing_claim"),
        ("exp", "missing_claim"),
        ("iat", "missing_claim"),
        ("jti", "missing_claim"),
    ],
)
def test_missing_claims_are_refused(client, jwks, caplog, claim, rule):
    assert refused(client, token(drop=(claim,)), caplog) == rule


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


def test_jwt_checking_without_a_public_base_url_refuses_to_start(tmp_path):
    """Was: the expected `aud` came from the request's Host header, so a token minted for
    another deployment with the same path passed when sent with that Host."""
    with pytest.raises(RuntimeError, match="IMMUNOTOX_PUBLIC_BASE_URL"):
        create_app(
            {
                "INSTANCE_DIR": str(tmp_path),
                "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
                "CDS_AUTH": "on",
                "SECRET_KEY": "t",
            }
        )


def test_a_forged_host_header_does_not_change_the_audience(client, jwks, caplog):
    other = "https://other-deployment.example/cds-services"
    caplog.clear()
    r = client.get(
        "/cds-services",
        headers={
            "Authorization": f"Bearer {token(aud=other)}",
            "Host": "other-deployment.example",
            "X-Forwarded-Proto": "https",
        },
    )
    assert r.status_code == 401 and "reason=aud" in caplog.text
