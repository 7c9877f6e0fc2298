"""The shared store, its migrations, the JWT replay cache, SMART sessions and feedback on
each backend (`store_url`: a SQLite file, then a throw-away PostgreSQL database): several app
instances on one database behave as one service."""

from __future__ import annotations

import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from immunotox.app import create_app
from immunotox.store import Store
from immunotox.store import get_store as store_of

BASE = "https://cds.example.org"
ISS = "https://ehr.example"
KEY = ec.generate_private_key(ec.SECP384R1())
JWK = {**json.loads(ECAlgorithm(ECAlgorithm.SHA384).to_jwk(KEY.public_key())), "kid": "k1"}


def _app(url, tmp_path, **over):
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps([{"iss": ISS, "jwks": {"keys": [JWK]}}]))
    cfg = {
        "INSTANCE_DIR": str(tmp_path),
        "DATABASE_URL": url,
        "CDS_AUTH": "on",
        "CDS_CLIENTS": str(clients),
        "PUBLIC_BASE_URL": BASE,
        "SESSION_COOKIE_SECURE": False,
        "SECRET_KEY": "one secret on every host",  # the key sessions are sealed with
        "TESTING": True,
    }
    cfg.update(over)
    return create_app(cfg)


def _token(aud=f"{BASE}/cds-services"):
    now = int(time.time())
    claims = {"iss": ISS, "aud": aud, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, KEY, algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})


def test_key_value_with_expiry_and_one_time_pop(store_url):
    a, b = Store(store_url), Store(store_url)
    assert a.put_if_absent("jti", "abc", 1, ttl_s=60) is True
    assert b.put_if_absent("jti", "abc", 1, ttl_s=60) is False
    assert a.put_if_absent("jti", "old", 1, ttl_s=-1) is True
    assert b.put_if_absent("jti", "old", 1, ttl_s=60) is True  # the expired entry gave way
    a.put("session", "s1", {"token": "x", "n": [1, 2]}, ttl_s=60)
    assert b.get("session", "s1") == {"token": "x", "n": [1, 2]}
    assert b.pop("session", "s1") == {"token": "x", "n": [1, 2]}
    assert a.pop("session", "s1") is None
    a.put("session", "gone", 1, ttl_s=-1)
    assert b.get("session", "gone") is None


def test_the_schema_is_at_the_newest_migration_and_matches_the_tables_in_code(store_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import cds_hooks.feedback  # noqa: F401 - its tables join the store's metadata
    from immunotox import migrate
    from immunotox.store import METADATA

    st = Store(store_url)
    assert migrate.current(st.engine) == migrate.head()
    with st.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), METADATA)
    assert diff == []


def test_a_store_made_before_migrations_is_adopted(store_url):
    """Stores created by `create_all` (before versioned migrations) keep their data."""
    from sqlalchemy import create_engine, inspect

    import cds_hooks.feedback  # noqa: F401
    from immunotox import migrate
    from immunotox.store import KV, METADATA

    engine = create_engine(store_url)
    METADATA.create_all(engine)
    with engine.begin() as conn:
        conn.execute(KV.insert().values(namespace="n", key="k", value='"v"', expires_at=2e9))
    engine.dispose()
    st = Store(store_url)
    assert migrate.current(st.engine) == migrate.head()
    assert st.get("n", "k") == "v"
    assert "alembic_version" in inspect(st.engine).get_table_names()


def test_a_jti_accepted_by_one_instance_is_refused_by_the_other(store_url, tmp_path):
    a = _app(store_url, tmp_path).test_client()
    b = _app(store_url, tmp_path).test_client()
    tok = _token()
    assert a.get("/cds-services", headers={"Authorization": f"Bearer {tok}"}).status_code == 200
    assert b.get("/cds-services", headers={"Authorization": f"Bearer {tok}"}).status_code == 401
    fresh = _token()
    assert b.get("/cds-services", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200


def test_a_smart_session_stored_by_one_instance_is_loaded_by_the_other(store_url, tmp_path):
    from launch import session

    a, b = _app(store_url, tmp_path), _app(store_url, tmp_path)
    record = {"iss": "https://fhir.example/r4", "patient": "p1", "ctx": "c1", "access_token": "t"}
    session._put(a, session.NS_SESSION, "sid-1", record, session.SESSION_TTL_S)
    with b.test_request_context("/app/?ctx=c1", headers={"Cookie": f"{session.SID_COOKIE}=sid-1"}):
        from flask import request

        loaded = session.load(b, request)
    assert loaded["patient"] == "p1" and loaded["sid"] == "sid-1"


def test_feedback_sent_to_two_instances_lands_in_one_report(store_url, tmp_path):
    from cds_hooks import feedback as fb

    apps = [_app(store_url, tmp_path, CDS_AUTH="off") for _ in range(2)]
    for i, app in enumerate(apps):
        item = {
            "card": f"card-{i}",
            "outcome": "overridden" if i else "accepted",
            "outcomeTimestamp": "2026-12-01T10:00:00Z",
        }
        if not i:
            item["acceptedSuggestions"] = [{"id": "s1"}]
        else:
            item["overrideReason"] = {"reason": {"code": "x", "system": "urn:x"}}
        r = app.test_client().post(
            "/cds-services/immunotox-patient-view/feedback", json={"feedback": [item]}
        )
        assert r.status_code == 200, r.get_data(as_text=True)
    rows = fb.report(store_of(apps[0]).engine)
    totals = {(r["accepted"], r["overridden"]) for r in rows}
    assert sum(r["accepted"] for r in rows) == 1 and sum(r["overridden"] for r in rows) == 1, totals


@pytest.mark.parametrize("n", [6])
def test_instances_starting_together_on_a_fresh_database_all_migrate_it(store_url, n):
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(n) as pool:
        assert pool.map(_boot, [store_url] * n) == [True] * n


def _boot(url: str) -> bool:
    app = create_app({"DATABASE_URL": url, "CDS_AUTH": "off"})
    store_of(app).put("boot", uuid.uuid4().hex, 1, ttl_s=60)
    return True
