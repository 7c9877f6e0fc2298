"""End to end with the real domain core (`services.assess`) on the demo patients."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import responses
from fhir.resources.R4B.medicationrequest import MedicationRequest

from cds_hooks.registry import PREFETCH_KEY_FOR_TYPE
from tests.unit.cds_hooks.fixtures import (
    FHIR,
    TOKEN,
    bundle,
    check_response,
    condition,
    med_request,
)
from tests.unit.cds_hooks.test_cds_http import make_app

DEMO = Path(__file__).resolve().parents[3] / "demo" / "patients"
KEY_FOR_TYPE = {  # the registry's, plus what the demo Bundles carry alongside
    **PREFETCH_KEY_FOR_TYPE,
    "Medication": "medicationAdministrations",
    "Device": "devices",
}


def load(name: str) -> list[dict]:
    doc = json.loads((DEMO / f"{name}.json").read_text())
    return [e["resource"] for e in doc["entry"]]


def split(resources: list[dict]) -> tuple[str, dict]:
    pid = next(r["id"] for r in resources if r["resourceType"] == "Patient")
    pf: dict = {k: bundle() for k in set(KEY_FOR_TYPE.values()) if k != "patient"}
    pf["baselineLabs"] = bundle(*[r for r in resources if r["resourceType"] == "Observation"])
    for r in resources:
        key = KEY_FOR_TYPE.get(r["resourceType"])
        if key == "patient":
            pf["patient"] = r
        elif key:
            pf[key]["entry"].append({"resource": r})
    return pid, pf


@pytest.fixture
def client(tmp_path, monkeypatch):
    from services.timeutil import parse_instant

    anchor = parse_instant("2026-11-20T12:00:00Z")  # the demo data ends here
    monkeypatch.setattr("services.assess.now", lambda: anchor)
    return make_app(tmp_path).test_client()


def body(hook: str, pid: str, prefetch, **ctx) -> dict:
    import uuid

    b = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": pid, **ctx},
    }
    if prefetch is not None:
        b["prefetch"] = prefetch
    return b


def test_seed_case_patient_view_gives_one_critical_card_with_the_plan(client):
    pid, pf = split(load("seed-pembrolizumab"))
    r = client.post("/cds-services/immunotox-patient-view", json=body("patient-view", pid, pf))
    [card] = check_response(r.json)
    assert card["indicator"] == "critical"
    assert card["summary"].startswith("Discontinue pembrolizumab")
    toci = [s for s in card["suggestions"] if "tocilizumab" in s["label"]]
    assert toci
    MedicationRequest.model_validate(toci[0]["actions"][0]["resource"])
    assert "transverse myelitis" in card["detail"].lower()


@pytest.mark.parametrize("hook", ["patient-view", "order-sign"])
def test_a_hook_call_leaves_nothing_for_the_cyclic_collector(client, hook):
    """The request's resources are freed by reference counting when the call ends. A reference
    cycle (once: a recursive closure in Bundle flattening) kept every resource of every call
    alive until the cyclic collector ran, which raised memory and latency with chart size."""
    import gc

    pid, pf = split(load("seed-pembrolizumab"))
    drafts = bundle(med_request("draft-1", "tocilizumab", "612865", 2000))
    payload = json.dumps(body(hook, pid, pf, draftOrders=drafts))
    url = f"/cds-services/immunotox-{hook}"
    client.post(url, data=payload, content_type="application/json")  # warm: caches, imports
    gc.collect()
    gc.disable()
    try:
        r = client.post(url, data=payload, content_type="application/json")
        assert r.status_code == 200 and r.json["cards"]
        del r
        left = gc.collect()
    finally:
        gc.enable()
    assert left < 100, f"{left} objects were left in reference cycles by one {hook} call"


def test_seed_case_order_sign_blocks_a_new_pembrolizumab_dose(client):
    pid, pf = split(load("seed-pembrolizumab"))
    drafts = bundle(med_request("draft-1", "pembrolizumab", "1547545", 200))
    r = client.post(
        "/cds-services/immunotox-order-sign", json=body("order-sign", pid, pf, draftOrders=drafts)
    )
    cards = check_response(r.json)
    crit = [c for c in cards if c["indicator"] == "critical"]
    assert (
        crit
        and crit[0]["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/draft-1"
    )


def test_seed_case_order_sign_corrects_an_overdose_of_tocilizumab(client):
    pid, pf = split(load("seed-pembrolizumab"))
    drafts = bundle(med_request("draft-2", "tocilizumab", "612865", 2000))
    r = client.post(
        "/cds-services/immunotox-order-sign", json=body("order-sign", pid, pf, draftOrders=drafts)
    )
    [card] = check_response(r.json)
    action = card["suggestions"][0]["actions"][0]
    # Above the label's 800 mg per infusion: critical, corrected to 8 mg/kg × 78 kg = 624 mg.
    assert card["indicator"] == "critical" and action["type"] == "update"
    assert "800 mg" in card["summary"]
    dose = action["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]
    assert (dose["value"], dose["unit"]) == (624, "mg")
    assert action["resource"]["id"] == "draft-2"


def test_seed_case_problem_list_transverse_myelitis(client):
    pid, pf = split(load("seed-pembrolizumab"))
    conds = bundle(condition("new-1", "G37.3", "Acute transverse myelitis"))
    r = client.post(
        "/cds-services/immunotox-problem-list",
        json=body("problem-list-item-create", pid, pf, conditions=conds),
    )
    [card] = check_response(r.json)
    assert "myelitis" in card["summary"].lower() and "Discontinue" in card["summary"]


def test_sepsis_without_immunotherapy_gives_no_card(client):
    pid, pf = split(load("negative-sepsis"))
    r = client.post("/cds-services/immunotox-patient-view", json=body("patient-view", pid, pf))
    assert r.json == {"cards": []}


@responses.activate
def test_fetching_from_the_fhir_server_gives_the_same_card_as_the_prefetch(client):
    resources = load("seed-pembrolizumab")
    pid, pf = split(resources)

    def answer(request):
        path = urlsplit(request.url).path[len(urlsplit(FHIR).path) :].strip("/")
        rtype = path.split("/")[0]
        if rtype == "Patient":
            return 200, {}, json.dumps(pf["patient"])
        return 200, {}, json.dumps(bundle(*[r for r in resources if r["resourceType"] == rtype]))

    responses.add_callback(responses.GET, __import__("re").compile(rf"{FHIR}/.*"), callback=answer)
    with_prefetch = client.post(
        "/cds-services/immunotox-patient-view", json=body("patient-view", pid, pf)
    ).json
    fetched = client.post(
        "/cds-services/immunotox-patient-view",
        json={
            **body("patient-view", pid, None),
            "fhirServer": FHIR,
            "fhirAuthorization": {
                "access_token": TOKEN,
                "token_type": "Bearer",
                "expires_in": 60,
                "scope": "patient/*.read",
                "subject": "immunotox",
            },
        },
    ).json
    [a], [b] = check_response(with_prefetch), check_response(fetched)
    assert a["summary"] == b["summary"] and a["indicator"] == b["indicator"]
    assert all(c.request.headers["Authorization"] == f"Bearer {TOKEN}" for c in responses.calls)


def test_the_configured_primary_system_drives_the_card(tmp_path, monkeypatch):
    from services.timeutil import parse_instant

    monkeypatch.setattr("services.assess.now", lambda: parse_instant("2026-11-20T12:00:00Z"))
    lee = make_app(tmp_path, CRS_PRIMARY="lee2014").test_client()
    pid, pf = split(load("seed-pembrolizumab"))
    r = lee.post("/cds-services/immunotox-patient-view", json=body("patient-view", pid, pf))
    [card] = check_response(r.json)
    assert "CRS grade 2 (Lee 2014)" in card["summary"]
    assert "ASTCT 2019 grades higher" in card["detail"]
