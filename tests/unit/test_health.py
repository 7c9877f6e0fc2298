"""/healthz (liveness) and /readyz (store and configuration)."""

from __future__ import annotations

import json

from immunotox.app import create_app
from immunotox.store import get_store


def _app(tmp_path, **over):
    cfg = {
        "INSTANCE_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
        "CDS_AUTH": "off",
        "FHIR_ALLOWLIST": "https://fhir.example/r4",
        "PUBLIC_BASE_URL": "https://cds.example.org",
        "TESTING": True,
    }
    cfg.update(over)
    return create_app(cfg)


def test_healthz_answers_with_the_version(tmp_path):
    r = _app(tmp_path).test_client().get("/healthz")
    assert r.status_code == 200 and r.json["status"] == "ok" and r.json["version"]


def test_readyz_is_ready_when_the_store_answers_and_the_configuration_can_serve(tmp_path):
    r = _app(tmp_path).test_client().get("/readyz")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "ready"
    assert {"store", "cds_clients", "fhir_allowlist"} <= set(r.json["checks"])


def test_readyz_names_a_store_that_does_not_answer(tmp_path):
    app = _app(tmp_path)
    (tmp_path / "s.db").unlink()
    (tmp_path / "s.db").mkdir()  # the file is gone and cannot come back
    get_store(app).engine.dispose()
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    assert r.json["checks"]["store"]["ok"] is False


def test_readyz_is_not_ready_with_auth_on_and_no_trusted_client(tmp_path):
    r = _app(tmp_path, CDS_AUTH="on").test_client().get("/readyz")
    assert r.status_code == 503
    assert "IMMUNOTOX_CDS_CLIENTS" in r.json["checks"]["cds_clients"]["why"]


def test_readyz_is_not_ready_without_a_fhir_server_and_says_nothing_secret(tmp_path):
    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps([{"iss": "https://ehr.example", "jwks": {"keys": []}}]))
    app = _app(tmp_path, CDS_AUTH="on", CDS_CLIENTS=str(clients), FHIR_ALLOWLIST="")
    r = app.test_client().get("/readyz")
    assert r.status_code == 503
    assert r.json["checks"]["cds_clients"]["ok"] is True
    assert r.json["checks"]["fhir_allowlist"]["ok"] is False
    assert "ehr.example" not in r.get_data(as_text=True)
