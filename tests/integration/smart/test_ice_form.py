"""The bedside ICE form over real HTTP: an EHR launch (the app asks for and is granted
`patient/Observation.c`), the form submitted, the Observation created on the FHIR server through
the gateway, then the patient-view and observation-create hooks called for the same patient read
it from the server and grade ICANS from it (ASTCT 2019: ICE score 5 is grade 2)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from demo.runner import load_bundle

pytestmark = pytest.mark.integration

PID = "itx-test-ice"


def _entry(res: dict) -> dict:
    return {
        "fullUrl": f"http://example.org/fhir/{res['resourceType']}/{res['id']}",
        "resource": res,
        "request": {"method": "PUT", "url": f"{res['resourceType']}/{res['id']}"},
    }


@pytest.fixture(scope="module")
def ice_patient(fhir_upstream):
    """A woman 4 days after axicabtagene ciloleucel, afebrile, no ICE score yet."""
    now = datetime.now(UTC)
    subject = {"reference": f"Patient/{PID}"}
    resources = [
        {
            "resourceType": "Patient",
            "id": PID,
            "name": [{"family": "Icetest", "given": ["Ida"]}],
            "gender": "female",
            "birthDate": "1966-04-02",
        },
        {
            "resourceType": "MedicationAdministration",
            "id": f"{PID}-cart",
            "status": "completed",
            "medicationCodeableConcept": {"text": "axicabtagene ciloleucel"},
            "subject": subject,
            "effectiveDateTime": (now - timedelta(days=4)).isoformat(),
        },
        {
            "resourceType": "Observation",
            "id": f"{PID}-temp",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5"}]},
            "subject": subject,
            "effectiveDateTime": (now - timedelta(hours=1)).isoformat(),
            "valueQuantity": {
                "value": 36.9,
                "unit": "Cel",
                "system": "http://unitsofmeasure.org",
                "code": "Cel",
            },
        },
    ]
    load_bundle(
        fhir_upstream,
        {"resourceType": "Bundle", "type": "transaction", "entry": [_entry(r) for r in resources]},
    )
    return PID


def _launch(smart, browser, pid):
    launch = smart.dev.create_launch(pid)
    resp = browser.get(
        f"{smart.app_base}/smart/launch", params={"iss": smart.fhir_base, "launch": launch}
    )
    assert resp.status_code == 200, resp.text[:500]
    return resp


def _form(page: str) -> dict[str, str]:
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    # ICE 5: orientation to year and month, two objects named, the sentence written
    return {
        "csrf": token,
        "ice_orientation_year": "1",
        "ice_orientation_month": "1",
        "ice_orientation_city": "0",
        "ice_orientation_hospital": "0",
        "ice_naming": "2",
        "ice_commands": "0",
        "ice_writing": "1",
        "ice_attention": "0",
    }


def _hook(smart, service: str, hook: str, pid: str, context: dict | None = None) -> dict:
    token = smart.dev.issue_token(pid, "patient/*.rs", "ehr")["access_token"]
    body = {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": smart.fhir_base,
        "fhirAuthorization": {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.rs",
            "subject": "immunotox",
        },
        "context": {"userId": "Practitioner/demo", "patientId": pid, **(context or {})},
    }
    r = requests.post(f"{smart.app_base}/cds-services/{service}", json=body, timeout=60)
    assert r.status_code == 200, r.text[:500]
    return r.json()


def _fhir_ice_scores(smart, pid: str) -> list[dict]:
    token = smart.dev.issue_token(pid, "patient/*.rs", "ehr")["access_token"]
    r = requests.get(
        f"{smart.fhir_base}/Observation",
        params={
            "patient": pid,
            "code": "https://immunotox.example/fhir/CodeSystem/assessment|ice-score",
        },
        headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"},
        timeout=30,
    )
    r.raise_for_status()
    return [e["resource"] for e in r.json().get("entry") or []]


def test_the_ice_form_writes_an_observation_that_the_next_hook_call_grades(
    smart, browser, ice_patient
):
    smart.app.config.update(HOOK_DEADLINE_S=30.0, FHIR_TIMEOUT_S=15.0)  # a loaded test machine
    page = _launch(smart, browser, ice_patient)
    assert "Score, grade and save" in page.text  # the gateway granted patient/Observation.c
    before = _hook(smart, "immunotox-patient-view", "patient-view", ice_patient)
    assert not any("ICANS grade" in c["summary"] for c in before["cards"])
    assert _fhir_ice_scores(smart, ice_patient) == []

    ctx = parse_qs(urlparse(page.url).query)["ctx"][0]
    creates = smart.dev.counters["fhir_creates"]
    resp = browser.http.post(
        f"{smart.app_base}/app/ice",
        params={"ctx": ctx},
        data=_form(page.text),
        headers={"Origin": smart.app_base},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text[:800]
    assert 'data-ice-score="5" data-ice-grade="2"' in resp.text
    assert "Saved to the chart." in resp.text
    assert 'data-icans-applies="true" data-grade="2"' in resp.text  # the page re-read the record
    assert smart.dev.counters["fhir_creates"] == creates + 1

    stored = _fhir_ice_scores(smart, ice_patient)
    assert [o["valueInteger"] for o in stored] == [5]
    assert stored[0]["category"][0]["coding"][0]["code"] == "survey"
    assert stored[0]["subject"]["reference"] == f"Patient/{ice_patient}"

    after = _hook(smart, "immunotox-patient-view", "patient-view", ice_patient)
    summaries = [c["summary"] for c in after["cards"]]
    assert any("ICANS grade 2" in s for s in summaries), summaries
    detail = next(c["detail"] for c in after["cards"] if "ICANS grade 2" in c["summary"])
    assert "ICE score 5/10" in detail

    created = _hook(
        smart,
        "immunotox-observation-create",
        "org.immunotox.observation-create",
        ice_patient,
        {
            "observations": {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": stored[0]}],
            }
        },
    )
    assert any("ICANS" in c["summary"] for c in created["cards"]), created


def test_without_the_create_scope_the_form_grades_and_writes_nothing(smart, browser, ice_patient):
    from demo.authserver import DevClient

    smart.dev.register_client(
        DevClient(
            "immunotox-readonly",
            [f"{smart.app_base}/smart/callback"],
            allowed_scopes=["launch", "online_access"]
            + [f"patient/{t}.rs" for t in ("Patient", "Observation", "MedicationAdministration")],
        )
    )
    smart.app.config["SMART_CLIENT_ID"] = "immunotox-readonly"
    page = _launch(smart, browser, ice_patient)
    assert "the EHR did not grant this app write access" in page.text
    creates = smart.dev.counters["fhir_creates"]
    n = len(_fhir_ice_scores(smart, ice_patient))
    ctx = parse_qs(urlparse(page.url).query)["ctx"][0]
    resp = browser.http.post(
        f"{smart.app_base}/app/ice",
        params={"ctx": ctx},
        data=_form(page.text),
        headers={"Origin": smart.app_base},
        timeout=60,
    )
    assert resp.status_code == 200
    assert 'data-ice-score="5" data-ice-grade="2"' in resp.text
    assert "Not saved to the chart: the EHR did not grant this app write access." in resp.text
    assert smart.dev.counters["fhir_creates"] == creates
    assert len(_fhir_ice_scores(smart, ice_patient)) == n
