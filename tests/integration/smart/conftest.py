"""Launch flows over real HTTP: a sekmet FHIR server (subprocess), the local SMART
authorization server and FHIR gateway, and the immunotox app, each on a free port.

The "browser" is a `requests.Session` that follows redirects across the three servers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from demo.runner import ThreadedServer, free_port, load_bundle, sekmet_executable, sekmet_server
from tests.ci import require_or_skip

FIXTURES = Path(__file__).parent / "fixtures"
PATIENT = "itx-test-pembro"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def fhir_upstream(tmp_path_factory):
    if sekmet_executable() is None:
        require_or_skip("the sekmet FHIR server is not installed (the demo extra)")
    cm = sekmet_server(free_port(), tmp_path_factory.mktemp("sekmet"))
    try:
        base = cm.__enter__()
    except RuntimeError as e:
        pytest.fail(f"the sekmet FHIR server could not start: {e}", pytrace=False)
    for path in sorted(FIXTURES.glob("*.json")):
        load_bundle(base, json.loads(path.read_text()))
    yield base
    cm.__exit__(None, None, None)


@pytest.fixture(scope="session")
def stack(fhir_upstream, tmp_path_factory):
    from flask import Flask

    from demo.authserver import DevClient, DevSmartServer
    from immunotox.app import create_app

    gw_port, app_port, dead_port = free_port(), free_port(), free_port()
    gw_base = f"http://127.0.0.1:{gw_port}"
    app_base = f"http://127.0.0.1:{app_port}"
    callback = f"{app_base}/smart/callback"

    dev = DevSmartServer(fhir_upstream, gw_base)
    dev.register_client(DevClient("immunotox", [callback]))
    dev.register_client(
        DevClient(
            "immunotox-limited",
            [callback],
            allowed_scopes=["launch", "launch/patient", "patient/Patient.rs"],
        )
    )
    dev.register_client(
        DevClient("immunotox-secret", [callback], "client_secret_basic", client_secret="s3cret")
    )
    dev.register_client(
        DevClient(
            "immunotox-jwt",
            [callback],
            "private_key_jwt",
            jwks_url=f"{app_base}/smart/.well-known/jwks.json",
        )
    )
    gateway = Flask("gateway")
    dev.init_app(gateway)

    tmp = tmp_path_factory.mktemp("app")
    app = create_app(
        {
            "INSTANCE_DIR": str(tmp),
            "DATABASE_URL": f"sqlite:///{tmp / 'store.sqlite3'}",
            "FHIR_ALLOWLIST": f"{gw_base}/fhir,http://127.0.0.1:{dead_port}/fhir",
            "SESSION_COOKIE_SECURE": False,
            "SECRET_KEY": "test-only",
            "PUBLIC_BASE_URL": app_base,
            "CDS_AUTH": "off",
        }
    )
    servers = [
        ThreadedServer(gateway, "127.0.0.1", gw_port).start(),
        ThreadedServer(app, "127.0.0.1", app_port).start(),
    ]

    class Stack:
        pass

    s = Stack()
    s.dev, s.app, s.gw_base, s.app_base = dev, app, gw_base, app_base
    s.fhir_base = f"{gw_base}/fhir"
    s.dead_fhir = f"http://127.0.0.1:{dead_port}/fhir"
    s.patient = PATIENT
    yield s
    for srv in servers:
        srv.stop()


@pytest.fixture
def smart(stack, monkeypatch):
    """The stack, with configuration and gateway switches restored after each test."""
    from launch import discovery

    discovery.clear_cache()  # tests switch what the server publishes
    saved = dict(stack.app.config)
    dev = stack.dev
    saved_dev = (dev.token_lifetime, dev.fhir_down, dev.serve_well_known)
    yield stack
    stack.app.config.clear()
    stack.app.config.update(saved)
    dev.token_lifetime, dev.fhir_down, dev.serve_well_known = saved_dev


@pytest.fixture
def browser():
    from smart_helpers import Browser

    return Browser()
