"""Platform findings of the attack review: the store's file mode, session ids and tokens at rest,
a read-only store, SMART discovery caching, the SMART callback's refusals and the proactive
token refresh (each refusal asserts its reason code)."""

from __future__ import annotations

import json
import logging
import os
import stat
import time

import pytest
import responses
from sqlalchemy import event, select, text

from immunotox.app import create_app
from immunotox.store import KV, Store, StoreUnavailable
from launch import discovery, session

ISS = "https://fhir.example.org/r4"
TOKEN_URL = "https://auth.example.org/token"
SMART_CONFIG = {
    "authorization_endpoint": "https://auth.example.org/authorize",
    "token_endpoint": TOKEN_URL,
}


def _app(tmp_path, **extra):
    cfg = {
        "INSTANCE_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        "CDS_AUTH": "off",
        "SECRET_KEY": "test-only",
        "SESSION_COOKIE_SECURE": False,
        "FHIR_ALLOWLIST": ISS,
        "PUBLIC_BASE_URL": "https://cds.example.org",
        "TESTING": True,
        **extra,
    }
    return create_app(cfg)


@pytest.fixture(autouse=True)
def _fresh_discovery():
    discovery.clear_cache()
    yield
    discovery.clear_cache()


# -- finding 12: tokens at rest ------------------------------------------------------------


def test_the_sqlite_store_is_created_readable_by_its_owner_only(tmp_path):
    _app(tmp_path)
    for name in ("store.sqlite3", "store.sqlite3-wal", "store.sqlite3-shm"):
        path = tmp_path / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name


def test_an_existing_world_readable_store_is_made_private(tmp_path):
    path = tmp_path / "old.sqlite3"
    Store(f"sqlite:///{path}").engine.dispose()
    os.chmod(path, 0o644)
    Store(f"sqlite:///{path}").engine.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _launch(app, token_body: dict) -> dict:
    """authorize_url then the callback with `token_body` from the token endpoint."""
    with app.test_request_context("/smart/launch"):
        _url, state = session.authorize_url(
            app, SMART_CONFIG, ISS, "https://cds.example.org/smart/callback", "L1", False
        )
    with responses.RequestsMock() as rsps:
        rsps.post(TOKEN_URL, json=token_body)
        with app.test_request_context(
            f"/smart/callback?state={state}&code=C1",
            headers={"Cookie": f"{session.LAUNCH_COOKIE}={state}"},
        ):
            from flask import request

            return session.complete(app, request)


TOKENS = {
    "access_token": "AT-secret-access-0123456789",
    "refresh_token": "RT-secret-refresh-0123456789",
    "token_type": "Bearer",
    "expires_in": 3600,
    "scope": "launch patient/*.rs openid fhirUser",
    "patient": "patient-id-77",
}


def _all_rows(app) -> list:
    with app.extensions["immunotox.store"].engine.connect() as conn:
        return list(conn.execute(select(KV.c.namespace, KV.c.key, KV.c.value)))


def test_session_ids_are_hashed_and_tokens_encrypted_at_rest(tmp_path, monkeypatch):
    monkeypatch.setattr("launch.scopes.missing_required", lambda granted: [])
    app = _app(tmp_path)
    sess = _launch(app, TOKENS)
    rows = [r for r in _all_rows(app) if r.namespace == session.NS_SESSION]
    assert len(rows) == 1
    assert rows[0].key != sess["sid"] and sess["sid"] not in rows[0].key
    raw = (tmp_path / "store.sqlite3").read_bytes()
    wal = tmp_path / "store.sqlite3-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    for secret in ("AT-secret-access", "RT-secret-refresh", "patient-id-77", sess["sid"]):
        assert secret not in rows[0].value
        assert secret.encode() not in raw, secret
    # and the app still reads its session back
    with app.test_request_context(
        f"/app/?ctx={sess['ctx']}", headers={"Cookie": f"{session.SID_COOKIE}={sess['sid']}"}
    ):
        from flask import request

        loaded = session.load(app, request)
    assert loaded["access_token"] == TOKENS["access_token"]


def test_a_session_sealed_with_another_key_reads_as_expired(tmp_path, monkeypatch):
    monkeypatch.setattr("launch.scopes.missing_required", lambda granted: [])
    sess = _launch(_app(tmp_path), TOKENS)
    other = _app(tmp_path, SECRET_KEY="another-secret")
    with other.test_request_context(
        "/app/", headers={"Cookie": f"{session.SID_COOKIE}={sess['sid']}"}
    ):
        from flask import request

        with pytest.raises(Exception) as e:
            session.load(other, request)
    assert getattr(e.value, "kind", None) == "expired"


def test_a_token_key_that_is_not_a_fernet_key_stops_the_start(tmp_path):
    with pytest.raises(RuntimeError, match="IMMUNOTOX_TOKEN_KEY"):
        _app(tmp_path, TOKEN_KEY="not-a-key")


def test_statement_parameters_are_not_in_store_errors(tmp_path):
    st = Store(f"sqlite:///{tmp_path / 's.sqlite3'}")
    with pytest.raises(Exception) as e, st.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO kv (namespace, key, value, expires_at) VALUES (:a, :b, :c, :d)"),
            [
                {"a": "n", "b": "k", "c": "TOKEN-XYZ", "d": 1},
                {"a": "n", "b": "k", "c": "TOKEN-XYZ", "d": 1},
            ],
        )
    assert "TOKEN-XYZ" not in str(e.value)


# -- finding 9: a full or read-only store --------------------------------------------------


def _make_read_only(app) -> None:
    engine = app.extensions["immunotox.store"].engine

    @event.listens_for(engine, "connect")
    def _ro(dbapi_conn, _rec):
        dbapi_conn.execute("PRAGMA query_only = ON")

    engine.dispose()


def _assert_503(r) -> None:
    assert r.status_code == 503, (r.status_code, r.get_data(as_text=True)[:200])
    assert r.mimetype == "application/json" and r.get_json()["error"] == 503
    assert int(r.headers["Retry-After"]) > 0


def test_a_read_only_store_is_a_json_503_and_hooks_that_write_nothing_still_answer(
    tmp_path, monkeypatch
):
    from tests.unit.cds_hooks.fixtures import assessment, hook_body

    monkeypatch.setattr("cds_hooks.pipeline.run_assessment", lambda r, at=None: assessment())
    app = _app(tmp_path)
    client = app.test_client()
    _make_read_only(app)
    assert client.get("/cds-services").status_code == 200
    r = client.post("/cds-services/immunotox-patient-view", json=hook_body())
    assert r.status_code == 200 and "cards" in r.get_json()
    _assert_503(
        client.post(
            "/cds-services/immunotox-patient-view/feedback",
            json={
                "feedback": [
                    {
                        "card": "c1",
                        "outcome": "accepted",
                        "acceptedSuggestions": [{"id": "s1"}],
                        "outcomeTimestamp": "2024-01-01T00:00:00Z",
                    }
                ]
            },
        )
    )
    with responses.RequestsMock() as rsps:
        rsps.get(f"{ISS}/.well-known/smart-configuration", json=SMART_CONFIG)
        _assert_503(client.get(f"/smart/launch?iss={ISS}&launch=L1"))


def test_a_read_only_store_with_jwt_checking_is_a_json_503_not_an_html_500(tmp_path):
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps([{"iss": "https://ehr.example", "jwks": {"keys": []}}]))
    app = _app(tmp_path, CDS_AUTH="on", CDS_CLIENTS=str(clients))
    verifier = app.extensions["immunotox.cds_hooks"].verifier
    verifier.verify = lambda *_a: verifier.put_if_absent("jti", "x", 1, 60)
    _make_read_only(app)
    _assert_503(app.test_client().get("/cds-services"))


def test_a_store_that_cannot_be_written_stops_the_start(tmp_path):
    _app(tmp_path).extensions["immunotox.store"].engine.dispose()
    ro = f"sqlite:///file:{tmp_path / 'store.sqlite3'}?mode=ro&uri=true"
    with pytest.raises(StoreUnavailable, match="cannot be written"):
        _app(tmp_path, DATABASE_URL=ro)


# -- finding 13: SMART discovery -----------------------------------------------------------


@responses.activate
def test_smart_discovery_is_cached_and_follows_no_redirect(tmp_path):
    app = _app(tmp_path)
    client = app.test_client()
    responses.get(f"{ISS}/.well-known/smart-configuration", json=SMART_CONFIG)
    for _ in range(3):
        assert client.get(f"/smart/launch?iss={ISS}&launch=L1").status_code == 302
    assert len(responses.calls) == 1
    discovery.clear_cache()
    responses.replace(
        responses.GET,
        f"{ISS}/.well-known/smart-configuration",
        status=302,
        headers={"Location": "https://elsewhere.example/x"},
    )
    responses.get(
        f"{ISS}/metadata", status=302, headers={"Location": "https://elsewhere.example/m"}
    )
    responses.get("https://elsewhere.example/x", json=SMART_CONFIG)
    r = client.get(f"/smart/launch?iss={ISS}&launch=L1")
    assert r.status_code == 502
    assert not [c for c in responses.calls if "elsewhere" in c.request.url]


# -- issue 18: the SMART callback's refusals and the refresh, each by its reason ----------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"token_type": "MAC"}, "token_type_not_bearer"),
        ({"patient": None}, "token_without_patient"),
    ],
)
def test_the_callback_refuses_with_its_reason(tmp_path, monkeypatch, caplog, change, reason):
    monkeypatch.setattr("launch.scopes.missing_required", lambda granted: [])
    app = _app(tmp_path)
    body = {k: v for k, v in {**TOKENS, **change}.items() if v is not None}
    with pytest.raises(Exception) as e:
        _launch(app, body)
    assert getattr(e.value, "reason", None) == reason
    assert not [r for r in _all_rows(app) if r.namespace == session.NS_SESSION]


def test_the_refusal_reason_is_logged_by_the_error_page(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr("launch.scopes.missing_required", lambda granted: [])
    app = _app(tmp_path)
    client = app.test_client()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{ISS}/.well-known/smart-configuration", json=SMART_CONFIG)
        r = client.get(f"/smart/launch?iss={ISS}&launch=L1")
        state = r.headers["Location"].split("state=")[1].split("&")[0]
        rsps.post(TOKEN_URL, json={**TOKENS, "token_type": "MAC"})
        client.set_cookie(session.LAUNCH_COOKIE, state, path="/smart/")
        with caplog.at_level(logging.WARNING):
            r = client.get(f"/smart/callback?state={state}&code=C1")
    assert r.status_code == 502
    assert "reason=token_type_not_bearer" in caplog.text


@pytest.mark.parametrize(("expires_in_s", "refreshed"), [(30, True), (3600, False)])
def test_a_token_close_to_expiry_is_refreshed_before_use(
    tmp_path, monkeypatch, caplog, expires_in_s, refreshed
):
    """Refresh margin 60 s: a token expiring in 30 s is refreshed before any FHIR request; one
    expiring in an hour is used as is."""
    monkeypatch.setattr("launch.scopes.missing_required", lambda granted: [])
    app = _app(tmp_path)
    sess = _launch(app, {**TOKENS, "expires_in": 3600})
    sess["expires_at"] = time.time() + expires_in_s
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(TOKEN_URL, json={**TOKENS, "access_token": "AT-new"})
        with caplog.at_level(logging.INFO, logger="immunotox.launch"):
            got = session.access_token(app, sess)
        calls = len(rsps.calls)
    if refreshed:
        assert got == "AT-new" and calls == 1
        assert "reason=expiring" in caplog.text
    else:
        assert got == TOKENS["access_token"] and calls == 0


def test_workers_generating_the_record_key_at_once_all_read_the_same_whole_key(tmp_path):
    # Gunicorn boots its workers together: each finds no key file and races to write one. None
    # may read a half-written key (Fernet would refuse it and the worker would not boot).
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(6) as pool:
        keys = pool.map(_record_key, [str(tmp_path / "var")] * 12)
    assert len(set(keys)) == 1
    key_file = tmp_path / "var" / "token.key"
    assert key_file.read_bytes().strip() == keys[0]
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["token.key"]  # no temporary left


def _record_key(instance_dir: str) -> bytes:
    from cryptography.fernet import Fernet

    from immunotox.crypto import token_keys

    (key,) = token_keys({"INSTANCE_DIR": instance_dir})
    Fernet(key)  # a whole key
    return key
