"""Every hook against a real FHIR server over HTTP: with empty prefetch the service fetches
everything itself, and its cards must equal the cards it gives with full prefetch.

By default a local sekmet FHIR server is started and loaded with the demo patients. Set
IMMUNOTOX_IT_FHIR_BASE to a FHIR R4 base URL (a public sandbox, a test EHR) to run the same
suite there: the patients are created with a transaction and deleted afterwards.
"""

from __future__ import annotations

import copy
import json
import os
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from cds_hooks.registry import SERVICES
from demo.runner import free_port, load_bundle, sekmet_executable, sekmet_server, shift_dates
from tests.ci import require_or_skip

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
PATIENTS = ("seed-pembrolizumab", "lee-case3", "no-weight-nivolumab", "negative-pembrolizumab")
EXTERNAL = os.environ.get("IMMUNOTOX_IT_FHIR_BASE", "").rstrip("/")


def _bundle(name: str) -> dict:
    return json.loads((ROOT / "demo" / "patients" / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def fhir(tmp_path_factory):
    """(base URL, {demo name: patient id}); patients removed afterwards on external servers."""
    if EXTERNAL:
        suffix = uuid.uuid4().hex[:8]
        ids, created = {}, []
        for name in PATIENTS:
            doc = _bundle(name)
            text = json.dumps(doc).replace(
                name, f"{name}-{suffix}"
            )  # unique ids on a shared server
            doc = shift_dates(json.loads(text))
            r = requests.post(
                EXTERNAL, json=doc, headers={"Content-Type": "application/fhir+json"}, timeout=60
            )
            r.raise_for_status()
            locs = [
                (e.get("response") or {}).get("location", "") for e in r.json().get("entry", [])
            ]
            created += [loc.split("/_history")[0] for loc in locs if loc]
            ids[name] = f"{name}-{suffix}"
        yield EXTERNAL, ids
        for loc in reversed(created):
            url = loc if loc.startswith("http") else f"{EXTERNAL}/{loc}"
            requests.delete(url, timeout=30)
        return
    if sekmet_executable() is None:
        require_or_skip("the sekmet FHIR server is not installed (the demo extra)")
    cm = sekmet_server(free_port(), tmp_path_factory.mktemp("sekmet-hooks"))
    try:
        base = cm.__enter__()
    except RuntimeError as e:
        pytest.fail(f"the sekmet FHIR server could not start: {e}", pytrace=False)
    try:
        for name in PATIENTS:
            load_bundle(base, _bundle(name))
        yield base, {name: name for name in PATIENTS}
    finally:
        cm.__exit__(None, None, None)


@pytest.fixture
def hook_client(fhir, tmp_path):
    from immunotox.app import create_app

    base, _ = fhir
    app = create_app(
        {
            "INSTANCE_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}",
            "CDS_AUTH": "off",
            "FHIR_ALLOWLIST": base,
            "HOOK_DEADLINE_S": 20.0,
            "FHIR_TIMEOUT_S": 15.0,
            "TESTING": True,
        }
    )
    return app.test_client()


def _fetch_all(base: str, url: str) -> dict:
    """One prefetch value: a searchset Bundle with every page, or one resource."""
    r = requests.get(f"{base}/{url}", headers={"Accept": "application/fhir+json"}, timeout=30)
    r.raise_for_status()
    doc = r.json()
    if doc.get("resourceType") != "Bundle":
        return doc
    entries = list(doc.get("entry") or [])
    nxt = next(
        (link["url"] for link in doc.get("link", []) if link.get("relation") == "next"), None
    )
    while nxt:
        page = requests.get(nxt, headers={"Accept": "application/fhir+json"}, timeout=30).json()
        entries += page.get("entry") or []
        nxt = next(
            (link["url"] for link in page.get("link", []) if link.get("relation") == "next"), None
        )
    doc["entry"] = entries
    doc.pop("link", None)
    return doc


def _request(
    service_id: str,
    base: str,
    pid: str,
    full_prefetch: bool,
    draft: dict | None = None,
    condition: dict | None = None,
) -> dict:
    svc = SERVICES[service_id]
    ctx: dict = {"userId": "Practitioner/demo", "patientId": pid}
    if svc.hook == "encounter-start":
        ctx["encounterId"] = "enc-1"
    if svc.hook in ("order-select", "order-sign"):
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]}
        ctx["draftOrders"] = bundle
        if svc.hook == "order-select":
            ctx["selections"] = [f"MedicationRequest/{draft['id']}"]
    if svc.hook == "problem-list-item-create":
        ctx["conditions"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": condition}],
        }
    if svc.hook == "org.immunotox.observation-create":
        ctx["observations"] = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": _fever(pid)}],
        }
    body = {
        "hook": svc.hook,
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": base,
        "fhirAuthorization": {
            "access_token": "it-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "immunotox",
        },
        "context": ctx,
    }
    if full_prefetch:
        body["prefetch"] = {
            key: _fetch_all(base, tpl.replace("{{context.patientId}}", quote(pid)))
            for key, tpl in svc.prefetch.items()
        }
    return body


# Fields that hold the moment of the call (or a random id) rather than clinical content.
_VOLATILE = frozenset({"uuid", "authoredOn"})


def _normalise(cards: list[dict]) -> list[dict]:
    """Cards without random ids and call times, for comparison."""

    def strip(node):
        if isinstance(node, dict):
            out = {k: strip(v) for k, v in node.items() if k not in _VOLATILE}
            if "appContext" in out:  # carries the assessment time: compare the patient only
                out["appContext"] = json.loads(out["appContext"]).get("patient")
            return out
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(copy.deepcopy(cards))


def _pembro_draft(pid: str) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": "draft-pembro",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{pid}"},
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                    "code": "1547545",
                    "display": "pembrolizumab",
                }
            ]
        },
        "dosageInstruction": [
            {
                "doseAndRate": [
                    {
                        "doseQuantity": {
                            "value": 200,
                            "unit": "mg",
                            "system": "http://unitsofmeasure.org",
                            "code": "mg",
                        }
                    }
                ]
            }
        ],
    }


def _fever(pid: str) -> dict:
    """A temperature being charted now (not stored: the hook grades with and without it); the
    clock the service reads, so a test that fixes it charts at that instant."""
    from services import assess

    return {
        "resourceType": "Observation",
        "id": "new-temp",
        "status": "final",
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
        "effectiveDateTime": assess.now().isoformat(),
        "valueQuantity": {
            "value": 38.9,
            "unit": "Cel",
            "system": "http://unitsofmeasure.org",
            "code": "Cel",
        },
    }


def _myelitis(pid: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": "new-tm",
        "subject": {"reference": f"Patient/{pid}"},
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {
            "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G37.3"}],
            "text": "Acute transverse myelitis",
        },
    }


@pytest.mark.parametrize("service_id", sorted(SERVICES))
@pytest.mark.parametrize("patient", PATIENTS)
def test_empty_prefetch_fetches_everything_and_gives_the_same_cards(
    hook_client, fhir, service_id, patient, monkeypatch
):
    from services.timeutil import now

    at = now()  # both calls assessed at one instant: card detail names the assessment time
    monkeypatch.setattr("services.assess.now", lambda: at)
    base, ids = fhir
    pid = ids[patient]
    draft, cond = _pembro_draft(pid), _myelitis(pid)
    full = hook_client.post(
        f"/cds-services/{service_id}", json=_request(service_id, base, pid, True, draft, cond)
    )
    empty = hook_client.post(
        f"/cds-services/{service_id}", json=_request(service_id, base, pid, False, draft, cond)
    )
    assert full.status_code == 200, full.get_data(as_text=True)
    assert empty.status_code == 200, empty.get_data(as_text=True)
    assert _normalise(empty.get_json()["cards"]) == _normalise(full.get_json()["cards"])


def test_seed_patient_view_over_http_names_the_grade_and_stops_pembrolizumab(hook_client, fhir):
    base, ids = fhir
    resp = hook_client.post(
        "/cds-services/immunotox-patient-view",
        json=_request("immunotox-patient-view", base, ids["seed-pembrolizumab"], False),
    )
    cards = resp.get_json()["cards"]
    assert len(cards) == 1
    card = cards[0]
    assert card["indicator"] == "critical"
    assert "grade 3" in card["summary"].lower()
    assert "pembrolizumab" in card["detail"].lower()
    assert "624 mg" in card["detail"]


def test_negative_patient_gets_no_cards_over_http(hook_client, fhir):
    base, ids = fhir
    resp = hook_client.post(
        "/cds-services/immunotox-patient-view",
        json=_request("immunotox-patient-view", base, ids["negative-pembrolizumab"], False),
    )
    assert resp.status_code == 200
    assert resp.get_json() == {"cards": []}


# -- `immunotox assess --fhir-base URL --patient ID` ----------------------------------------


def _types() -> list[str]:
    """The searches the record declaration asks for (the same list the app and the CLI use)."""
    from smart_app.fetch import SEARCHES

    return list(SEARCHES)


def _assess_cli(capsys, *args: str) -> dict:
    from immunotox.cli import main

    assert main(["assess", *args, "--format", "json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)


def _record_read_by_the_test(base: str, pid: str) -> dict:
    entries = [{"resource": _fetch_all(base, f"Patient/{pid}")}]
    for rtype in _types():
        entries += _fetch_all(base, f"{rtype}?patient={pid}").get("entry") or []
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


def test_assess_reads_the_record_from_the_fhir_server_and_gives_the_same_assessment(
    fhir, tmp_path, capsys, monkeypatch
):
    from datetime import UTC, datetime

    base, ids = fhir
    at = datetime.now(UTC).isoformat(timespec="seconds")
    pid = ids["seed-pembrolizumab"]
    from_server = _assess_cli(capsys, "--fhir-base", base, "--patient", pid, "--at", at)
    bundle = tmp_path / "record.json"
    bundle.write_text(json.dumps(_record_read_by_the_test(base, pid)))
    assert from_server == _assess_cli(capsys, str(bundle), "--at", at)
    # the seed case as the README states it (dates moved to now when it was loaded)
    grades = {s: g["grade"] for s, g in from_server["crs"].items()}
    assert grades == {"lee2014": 2, "astct2019": 3, "ctcae5": 3}, grades
    # paging: the same with pages of 5 resources
    monkeypatch.setattr("immunotox.fhir_read.PAGE_SIZE", 5)
    assert _assess_cli(capsys, "--fhir-base", base, "--patient", pid, "--at", at) == from_server


def test_assess_reads_through_a_compressing_proxy(fhir, capsys):
    """A proxy (or a server such as HAPI) that gzips every answer: same assessment."""
    import gzip
    from datetime import UTC, datetime

    from flask import Flask, Response
    from flask import request as freq

    from demo.runner import ThreadedServer

    base, ids = fhir
    port = free_port()
    proxy_base = f"http://127.0.0.1:{port}/fhir"
    proxy = Flask("gzip-proxy")
    seen: list[str] = []

    @proxy.get("/fhir/<path:path>")
    def forward(path: str):
        r = requests.get(
            f"{base}/{path}",
            params=list(freq.args.items(multi=True)),
            headers={"Accept": "application/fhir+json"},
            timeout=30,
        )
        body = r.content.replace(base.encode(), proxy_base.encode())
        seen.append(freq.headers.get("Accept-Encoding", ""))
        resp = Response(gzip.compress(body), status=r.status_code)
        resp.headers["Content-Type"] = "application/fhir+json"
        resp.headers["Content-Encoding"] = "gzip"
        return resp

    server = ThreadedServer(proxy, "127.0.0.1", port).start()
    try:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        pid = ids["seed-pembrolizumab"]
        direct = _assess_cli(capsys, "--fhir-base", base, "--patient", pid, "--at", at)
        gzipped = _assess_cli(capsys, "--fhir-base", proxy_base, "--patient", pid, "--at", at)
    finally:
        server.stop()
    assert gzipped == direct
    assert seen and all("gzip" in s for s in seen)


def test_assess_from_a_server_names_a_missing_patient_and_an_unreachable_server(fhir, capsys):
    from immunotox.cli import main

    base, _ = fhir
    assert main(["assess", "--fhir-base", base, "--patient", "no-such-patient-x1"]) == 1
    assert "Patient/no-such-patient-x1: not found" in capsys.readouterr().err
    dead = f"http://127.0.0.1:{free_port()}/fhir"
    assert main(["assess", "--fhir-base", dead, "--patient", "p", "--timeout", "3"]) == 1
    err = capsys.readouterr().err
    assert "could not be reached" in err and "Traceback" not in err
