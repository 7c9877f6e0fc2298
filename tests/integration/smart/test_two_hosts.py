"""Two hosts on one PostgreSQL: two `immunotox serve` processes (gunicorn, 2 workers each)
sharing one database behave as one service. A client JWT accepted by one is a replay on the
other; a SMART session begun on one continues on the other; feedback sent to both lands in
one report."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from smart_helpers import Browser

from demo.runner import ThreadedServer, app_server, free_port

pytestmark = pytest.mark.integration

ISS = "https://ehr.example"
KEY = ec.generate_private_key(ec.SECP384R1())
JWK = {**json.loads(ECAlgorithm(ECAlgorithm.SHA384).to_jwk(KEY.public_key())), "kid": "k1"}


def bearer(aud: str) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": ISS, "aud": aud, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
    tok = jwt.encode(claims, KEY, algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})
    return {"Authorization": f"Bearer {tok}"}


def test_two_serve_processes_on_one_postgresql_act_as_one_service(
    fhir_upstream, postgres_url, tmp_path
):
    from flask import Flask

    from demo.authserver import DevClient, DevSmartServer

    port_a, port_b, gw_port = free_port(), free_port(), free_port()
    host_a, host_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    gw_base = f"http://127.0.0.1:{gw_port}"
    public = host_a  # both hosts answer for one public name (a load balancer in front)
    dev = DevSmartServer(fhir_upstream, gw_base)
    dev.register_client(DevClient("immunotox", [f"{public}/smart/callback"]))
    gateway = Flask("gateway")
    dev.init_app(gateway)
    gw = ThreadedServer(gateway, "127.0.0.1", gw_port).start()

    clients = tmp_path / "clients.json"
    clients.write_text(json.dumps([{"iss": ISS, "jwks": {"keys": [JWK]}}]))
    env = {
        "IMMUNOTOX_DATABASE_URL": postgres_url,
        "IMMUNOTOX_CDS_CLIENTS": str(clients),
        "IMMUNOTOX_FHIR_ALLOWLIST": f"{gw_base}/fhir",
        "IMMUNOTOX_PUBLIC_BASE_URL": public,
        "IMMUNOTOX_SESSION_COOKIE_SECURE": "false",
        "IMMUNOTOX_SECRET_KEY": "one secret on every host",  # sessions sealed alike
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    try:
        with (
            app_server("127.0.0.1", port_a, 2, env, tmp_path / "a"),
            app_server("127.0.0.1", port_b, 2, env, tmp_path / "b"),
        ):
            # 1. replay: a token accepted by host A is refused by host B
            discovery = f"{public}/cds-services"
            once = bearer(discovery)
            assert (
                requests.get(f"{host_a}/cds-services", headers=once, timeout=30).status_code == 200
            )
            assert (
                requests.get(f"{host_b}/cds-services", headers=once, timeout=30).status_code == 401
            )
            fresh = bearer(discovery)
            assert (
                requests.get(f"{host_b}/cds-services", headers=fresh, timeout=30).status_code == 200
            )

            # 2. a SMART session begun on host A continues on host B
            browser = Browser()
            launch = dev.create_launch("itx-test-pembro")
            page = browser.get(
                f"{host_a}/smart/launch", params={"iss": f"{gw_base}/fhir", "launch": launch}
            )
            assert page.status_code == 200 and page.url.startswith(f"{host_a}/app/"), page.text[
                :300
            ]
            ctx = page.url.split("ctx=", 1)[1]
            other = browser.get(f"{host_b}/app/api/assessment", params={"ctx": ctx})
            assert other.status_code == 200, other.text[:300]
            assert other.json()["crs"]  # the assessment, read from FHIR with the session's token

            # 3. feedback sent to both hosts lands in one report
            for host, outcome in ((host_a, "accepted"), (host_b, "overridden")):
                item = {
                    "card": str(uuid.uuid4()),
                    "outcome": outcome,
                    "outcomeTimestamp": "2026-12-01T10:00:00Z",
                }
                if outcome == "accepted":
                    item["acceptedSuggestions"] = [{"id": str(uuid.uuid4())}]
                else:
                    item["overrideReason"] = {"reason": {"system": "urn:x", "code": "r"}}
                url = "/cds-services/immunotox-patient-view/feedback"
                r = requests.post(
                    f"{host}{url}",
                    json={"feedback": [item]},
                    headers=bearer(public + url),
                    timeout=30,
                )
                assert r.status_code == 200, r.text
    finally:
        gw.stop()
    report = subprocess.run(
        [sys.executable, "-m", "immunotox.cli", "feedback-report", "--format", "json"],
        env={
            "PATH": "/usr/bin:/bin",
            "IMMUNOTOX_DATABASE_URL": postgres_url,
            "HOME": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert report.returncode == 0, report.stderr
    rows = json.loads(report.stdout)["rows"]
    assert sum(r["accepted"] for r in rows) == 1 and sum(r["overridden"] for r in rows) == 1
