"""`org.immunotox.observation-create`: the record graded without and with the observations being
charted, through the HTTP route with the real domain core; a card only when something changed.

Expected grades are the grading tables' (ASTCT 2019: fever ≥38.0 °C grade 1; hypotension without
vasopressors or low-flow oxygen ≤6 L/min grade 2; one vasopressor or high-flow oxygen grade 3),
written out here as literals.
"""

from __future__ import annotations

import copy
import uuid

import pytest

from cds_hooks.registry import SERVICES
from tests.fhir_factory import AT, RXNORM, given, infusion, iso, obs, patient, sbp, temp
from tests.unit.cds_hooks.fixtures import check_response
from tests.unit.cds_hooks.test_cds_http import make_app

SID = "immunotox-observation-create"
HOOK = "org.immunotox.observation-create"
PID = "p1"
KEYS = {
    "Observation": "observations",
    "MedicationAdministration": "medicationAdministrations",
    "MedicationRequest": "medicationRequests",
    "MedicationStatement": "medicationStatements",
    "Condition": "conditions",
    "Procedure": "oxygenProcedures",
    "DeviceUseStatement": "devices",
    "AllergyIntolerance": "allergies",
}


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.setattr("services.assess.now", lambda: AT)
    return make_app(tmp_path).test_client()


def searchset(*resources: dict) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }


def about(o: dict, pid: str = PID) -> dict:
    o = copy.deepcopy(o)
    o["subject"] = {"reference": f"Patient/{pid}"}
    return o


def car_t(*extra: dict, birth: str = "1970-01-01") -> list[dict]:
    """An adult 3 days after a CAR T-cell infusion, afebrile and normotensive 4 hours ago."""
    return [
        patient(PID, birth),
        given("axicabtagene ciloleucel", 72, by_text=True),
        temp(37.2, hours_before=4),
        sbp(120, hours_before=4),
        obs("29463-7", 70, "kg", 48),
        *extra,
    ]


def body(record: list[dict], new: list[dict], **ctx) -> dict:
    pf: dict = {"patient": record[0], **{k: searchset() for k in KEYS.values()}}
    for r in record[1:]:
        pf[KEYS[r["resourceType"]]]["entry"].append({"resource": r})
    context = {
        "userId": "Practitioner/n1",
        "patientId": PID,
        "observations": searchset(*[about(o) for o in new]),
        **ctx,
    }
    return {"hook": HOOK, "hookInstance": str(uuid.uuid4()), "context": context, "prefetch": pf}


def call(client, record, new, **ctx):
    r = client.post(f"/cds-services/{SID}", json=body(record, new, **ctx))
    assert r.status_code == 200, r.json
    return check_response(r.json)


def norepinephrine(rate: float, hours_before: float) -> dict:
    """A flowsheet row: the norepinephrine rate in µg/min."""
    return {
        "resourceType": "Observation",
        "id": f"ne{rate}-{hours_before}",
        "status": "final",
        "code": {"coding": [{"system": RXNORM, "code": "7512"}], "text": "norepinephrine"},
        "effectiveDateTime": iso(hours_before),
        "valueQuantity": {"value": rate, "unit": "ug/min", "code": "ug/min"},
    }


def o2_flow(lpm: float, hours_before: float = 0.1) -> dict:
    return obs("3151-8", lpm, "L/min", hours_before)


# -- discovery ---------------------------------------------------------------------------------


def test_discovery_lists_the_hook_with_the_same_prefetch_as_patient_view(client):
    services = {s["id"]: s for s in client.get("/cds-services").json["services"]}
    s = services[SID]
    assert s["hook"] == "org.immunotox.observation-create"
    assert s["prefetch"] == services["immunotox-patient-view"]["prefetch"]
    assert s["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    assert SERVICES[SID].hook == HOOK


# -- no change, no card ------------------------------------------------------------------------


def test_a_normal_temperature_changes_nothing_and_gets_no_card(client):
    assert call(client, car_t(), [temp(37.0, hours_before=0.1)]) == []


def test_a_second_fever_in_the_same_window_changes_nothing(client):
    record = car_t(temp(38.6, hours_before=3))
    assert call(client, record, [temp(39.0, hours_before=0.1)]) == []


def test_an_observation_the_service_does_not_read_gets_no_card(client):
    potassium = obs("2823-3", 3.1, "mmol/L", 0.1)
    assert call(client, car_t(), [potassium]) == []


def test_an_observation_the_service_does_not_read_is_not_graded_at_all(client, monkeypatch):
    def fail(*a, **kw):
        raise AssertionError("graded")

    monkeypatch.setattr("services.changes.compare", fail)
    assert call(client, car_t(), [obs("2823-3", 3.1, "mmol/L", 0.1)]) == []


def test_a_lower_pressure_while_already_hypotensive_changes_nothing(client):
    record = car_t(temp(38.6, hours_before=3), sbp(85, hours_before=2))
    assert call(client, record, [sbp(80, hours_before=0.1)]) == []


def test_a_patient_not_on_immunotherapy_gets_no_card_for_a_fever(client):
    record = [patient(PID), temp(37.2, hours_before=4), sbp(120, hours_before=4)]
    assert call(client, record, [temp(39.5, hours_before=0.1)]) == []


def test_a_deceased_patient_gets_no_card(client):
    record = car_t()
    record[0] = patient(PID, deceasedDateTime=temp(0, hours_before=1)["effectiveDateTime"])
    assert call(client, record, [temp(39.0, hours_before=2)]) == []


# -- thresholds crossed ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "card"), [(38.0, True), (37.9, False)])
def test_fever_onset_at_38_0_raises_crs_to_grade_1(client, value, card):
    cards = call(client, car_t(), [temp(value, hours_before=0.1)])
    if not card:
        assert cards == []
        return
    [c] = cards
    assert c["summary"] == "CRS grade 0 → 1 (ASTCT 2019): temperature 38 °C"
    assert c["indicator"] == "info"
    assert "| **ASTCT 2019** (primary) | 0 | 1 |" in c["detail"]
    assert "**Fever**" in c["detail"]


@pytest.mark.parametrize(("value", "card"), [(89, True), (90, False)])
def test_new_hypotension_below_90_systolic_raises_crs_1_to_2(client, value, card):
    record = car_t(temp(38.6, hours_before=3))
    cards = call(client, record, [sbp(value, hours_before=0.1)])
    if not card:
        assert cards == []
        return
    [c] = cards
    assert c["summary"] == f"CRS grade 1 → 2 (ASTCT 2019): systolic blood pressure {value} mmHg"
    assert c["indicator"] == "warning"
    assert "**New hypotension**" in c["detail"]


def test_hypotension_without_fever_is_a_crossing_not_graded_as_crs(client):
    [c] = call(client, car_t(), [sbp(82, hours_before=0.1)])
    assert c["summary"] == "New hypotension: systolic blood pressure 82 mmHg; not graded as CRS"
    assert c["indicator"] == "warning"
    assert "Not graded as CRS" in c["detail"]
    assert "| **ASTCT 2019** (primary) | 0 | 0 |" in c["detail"]


def test_a_child_s_hypotension_uses_the_age_limit(client):
    # 5 years old: systolic <70 + 2 × 5 = 80 mmHg (PALS); 82 is not hypotension, 79 is
    record = car_t(temp(38.6, hours_before=3), birth="2021-06-01")
    assert call(client, record, [sbp(82, hours_before=0.1)]) == []
    [c] = call(client, record, [sbp(79, hours_before=0.1)])
    assert c["summary"] == "CRS grade 1 → 2 (ASTCT 2019): systolic blood pressure 79 mmHg"


@pytest.mark.parametrize(("lpm", "grade"), [(6, 2), (6.5, 3)])
def test_a_new_oxygen_flow_raises_crs_by_the_low_flow_limit_of_6_l_min(client, lpm, grade):
    record = car_t(temp(38.6, hours_before=3))
    [c] = call(client, record, [o2_flow(lpm)])
    shown = f"{lpm:g}"
    assert c["summary"] == (
        f"CRS grade 1 → {grade} (ASTCT 2019): inhaled oxygen flow rate {shown} L/min"
    )
    assert "**New oxygen requirement**" in c["detail"]


def test_oxygen_without_fever_is_a_new_oxygen_requirement(client):
    [c] = call(client, car_t(), [o2_flow(2)])
    assert c["summary"] == (
        "New oxygen requirement: inhaled oxygen flow rate 2 L/min; not graded as CRS"
    )


def test_a_room_air_fio2_is_no_oxygen_requirement(client):
    assert call(client, car_t(), [obs("3150-0", 21, "%", 0.1)]) == []


# -- grade deltas ------------------------------------------------------------------------------


def test_crs_grade_2_to_3_when_norepinephrine_is_charted(client):
    record = car_t(temp(38.6, hours_before=3), sbp(85, hours_before=2))
    [c] = call(client, record, [norepinephrine(8, 0.2)])
    assert c["summary"] == "CRS grade 2 → 3 (ASTCT 2019): norepinephrine 8 µg/min"
    assert c["indicator"] == "critical"
    assert "| **ASTCT 2019** (primary) | 2 | 3 |" in c["detail"]
    # The rate row just charted has no later row yet: read, and held for a limited time. The
    # footer calls it a data note, never "could not be read" (the summary has just read it).
    assert "1 data note (a resource not read, or read with a limit)" in c["detail"]
    assert "could not be read" not in c["detail"]


def test_crs_grade_1_to_3_with_fever_and_oxygen_charted_together(client):
    record = car_t(temp(38.4, hours_before=5))
    [c] = call(client, record, [sbp(118, hours_before=0.1), o2_flow(10)])
    assert c["summary"].startswith("CRS grade 1 → 3 (ASTCT 2019): inhaled oxygen flow rate 10")


def test_crs_grade_0_to_2_from_fever_and_hypotension_charted_together(client):
    [c] = call(client, car_t(), [temp(38.8, hours_before=0.1), sbp(84, hours_before=0.1)])
    assert (
        c["summary"]
        == "CRS grade 0 → 2 (ASTCT 2019): systolic blood pressure 84 mmHg, temperature 38.8 °C"
    )


def test_a_fever_on_a_running_norepinephrine_infusion_is_grade_0_to_3(client):
    # no fever yet: the hypotension and the vasopressor are findings, not CRS (ASTCT: fever first)
    record = car_t(sbp(84, hours_before=3), infusion("norepinephrine", 6, "ug/min", start_h=2))
    [c] = call(client, record, [temp(39.2, hours_before=0.1)])
    assert c["summary"] == (
        "CRS grade 0 → 3 (ASTCT 2019): temperature 39.2 °C, norepinephrine 6 µg/min"
    )
    assert c["indicator"] == "critical"


def test_an_observation_already_stored_is_left_out_of_before(client):
    fever = temp(39.1, hours_before=0.1)
    stored = about(fever)
    [c] = call(client, car_t(stored), [fever])
    assert c["summary"] == "CRS grade 0 → 1 (ASTCT 2019): temperature 39.1 °C"


def test_the_primary_system_setting_names_the_system_in_the_summary(tmp_path, monkeypatch):
    monkeypatch.setattr("services.assess.now", lambda: AT)
    client = make_app(tmp_path, CRS_PRIMARY="lee2014").test_client()
    record = car_t(temp(38.6, hours_before=3))
    [c] = call(client, record, [obs("3150-0", 45, "%", 0.1)])
    # Lee 2014 Table 2: FiO2 ≥40% is grade 3
    assert c["summary"] == ("CRS grade 1 → 3 (Lee 2014): inhaled oxygen concentration (FiO2) 45 %")


# -- bad input ---------------------------------------------------------------------------------


def _bad(client, b: dict, field: str) -> str:
    r = client.post(f"/cds-services/{SID}", json=b)
    assert r.status_code == 400, r.json
    assert r.json["field"] == field
    return r.json["message"]


def test_missing_observations_is_400(client):
    b = body(car_t(), [temp(38.5, hours_before=0.1)])
    del b["context"]["observations"]
    assert "required" in _bad(client, b, "context.observations")


def test_observations_that_are_not_a_bundle_is_400(client):
    b = body(car_t(), [temp(38.5, hours_before=0.1)])
    b["context"]["observations"] = about(temp(38.5, hours_before=0.1))
    assert "Bundle" in _bad(client, b, "context.observations")


def test_an_empty_bundle_is_400(client):
    b = body(car_t(), [])
    assert "at least one Observation" in _bad(client, b, "context.observations.entry")


def test_a_resource_that_is_not_an_observation_is_400(client):
    b = body(car_t(), [temp(38.5, hours_before=0.1)])
    b["context"]["observations"]["entry"].append({"resource": patient(PID)})
    assert "Observation" in _bad(client, b, "context.observations.entry[1].resource")


def test_an_observation_about_another_patient_is_400(client):
    b = body(car_t(), [temp(38.5, hours_before=0.1)])
    b["context"]["observations"]["entry"][0]["resource"]["subject"] = {"reference": "Patient/p2"}
    msg = _bad(client, b, "context.observations.entry[0].resource.subject")
    assert "not the patient" in msg
    assert "p2" not in msg


def test_an_observation_without_subject_is_400(client):
    b = body(car_t(), [temp(38.5, hours_before=0.1)])
    del b["context"]["observations"]["entry"][0]["resource"]["subject"]
    _bad(client, b, "context.observations.entry[0].resource.subject")


def test_an_observation_without_effective_time_is_400(client):
    b = body(car_t(), [temp(38.5, hours_before=0.1)])
    del b["context"]["observations"]["entry"][0]["resource"]["effectiveDateTime"]
    assert "effective time" in _bad(client, b, "context.observations.entry[0].resource")


@pytest.mark.parametrize("value", ["hot", True, "38.5"])
def test_a_charted_value_that_is_not_a_number_is_400_not_silently_dropped(client, value):
    b = body(car_t(), [temp(38.5, hours_before=0.1)])
    b["context"]["observations"]["entry"][0]["resource"]["valueQuantity"]["value"] = value
    assert "number" in _bad(client, b, "context.observations.entry[0].resource.valueQuantity.value")


def test_a_blood_pressure_component_that_is_not_a_number_is_400(client):
    bp = temp(38.5, hours_before=0.1)
    del bp["valueQuantity"]
    bp["component"] = [{"code": {"text": "Systolic"}, "valueQuantity": {"value": "low"}}]
    b = body(car_t(), [bp])
    where = "context.observations.entry[0].resource.component[0].valueQuantity.value"
    assert "number" in _bad(client, b, where)


def test_an_observation_in_the_future_is_400_but_minutes_of_clock_skew_are_not(client):
    b = body(car_t(), [temp(38.5, hours_before=-1)])
    assert "future" in _bad(client, b, "context.observations.entry[0].resource")
    [c] = call(client, car_t(), [temp(38.5, hours_before=-5 / 60)])
    assert c["summary"] == "CRS grade 0 → 1 (ASTCT 2019): temperature 38.5 °C"


def test_a_full_url_subject_reference_is_accepted(client):
    b = body(car_t(), [temp(38.5, hours_before=0.1)])
    b["context"]["observations"]["entry"][0]["resource"]["subject"] = {
        "reference": "https://fhir.example.org/r4/Patient/p1"
    }
    r = client.post(f"/cds-services/{SID}", json=b)
    assert r.status_code == 200
    assert len(r.json["cards"]) == 1


# -- irAE grade deltas (observations do not grade irAEs today: the comparison is generic) -----


def test_an_irae_grade_that_rose_is_a_change_and_one_that_did_not_is_none():
    from cds_hooks.cards import CardContext
    from cds_hooks.observation import observation_cards
    from services.changes import ObservationDelta, _grade_changes
    from tests.unit.cds_hooks.fixtures import assessment, finding

    before = assessment(irae=[finding(g=2, action="hold")])
    after = assessment(irae=[finding(g=3, action="discontinue")])
    [change] = _grade_changes(before, after)
    assert (change.what, change.before, change.after) == ("transverse_myelitis", 2, 3)
    assert _grade_changes(after, after) == []
    assert _grade_changes(after, before) == []  # a grade that fell is no change

    delta = ObservationDelta(before, after, (change,), (), (), frozenset(), {"lee2014": (0, 0)})
    [c] = observation_cards(delta, CardContext("s", "p1", "https://cds.example.org"))
    assert c.summary == "Acute transverse myelitis grade 2 → 3"
    assert c.indicator == "critical"


def test_a_new_irae_is_a_change_from_none():
    from services.changes import _grade_changes
    from tests.unit.cds_hooks.fixtures import assessment, finding

    [change] = _grade_changes(assessment(), assessment(irae=[finding(g=2, action="hold")]))
    assert (change.before, change.after) == (None, 2)


# -- write-back: a Condition and an AdverseEvent, each valid FHIR R4 --------------------------


def _suggested(card: dict, resource_type: str) -> dict | None:
    for s in card.get("suggestions", ()):
        for a in s["actions"]:
            if a["resource"]["resourceType"] == resource_type:
                return a["resource"]
    return None


def test_a_grade_rise_offers_the_condition_and_the_adverse_event_both_valid_r4(client):
    from fhir.resources.R4B.adverseevent import AdverseEvent
    from fhir.resources.R4B.condition import Condition

    fever = temp(38.6, hours_before=3)
    record = car_t(fever, sbp(85, hours_before=2))
    car_t_dose = record[1]
    ne = norepinephrine(8, 0.2)
    [c] = call(client, record, [ne])
    assert c["selectionBehavior"] == "any"
    cond = _suggested(c, "Condition")
    Condition.model_validate(cond)
    assert cond["code"]["coding"] == [
        {
            "system": "http://hl7.org/fhir/sid/icd-10-cm",
            "code": "D89.833",
            "display": "Cytokine release syndrome, grade 3",
        }
    ]
    assert not any(x["system"] == "http://snomed.info/sct" for x in cond["code"]["coding"])
    assert cond["verificationStatus"]["coding"][0]["code"] == "provisional"
    assert cond["subject"] == {"reference": "Patient/p1"}
    assert cond["onsetDateTime"] == fever["effectiveDateTime"]  # the first fever
    detail = {d["reference"] for d in cond["evidence"][0]["detail"]}
    assert f"Observation/{ne['id']}" in detail and f"Observation/{fever['id']}" in detail
    assert cond["stage"][0]["summary"]["text"] == "Grade 3"
    ae = _suggested(c, "AdverseEvent")
    AdverseEvent.model_validate(ae)
    assert ae["actuality"] == "actual"
    [suspect] = ae["suspectEntity"]
    assert suspect["instance"] == {
        "display": "axicabtagene ciloleucel",
        "reference": f"MedicationAdministration/{car_t_dose['id']}",
    }
    assert ae["event"]["coding"][0]["code"] == "D89.833"
    assert ae["severity"]["coding"][0]["code"] == "severe"
    assert ae["date"] == fever["effectiveDateTime"]
    labels = [s["label"] for s in c["suggestions"]]
    assert labels == [
        "Record CRS grade 3 (D89.833) on the problem list",
        "Record an adverse event: CRS grade 3, suspected axicabtagene ciloleucel",
    ]


def test_fever_onset_writes_back_grade_1_as_d89_831_mild(client):
    from fhir.resources.R4B.adverseevent import AdverseEvent
    from fhir.resources.R4B.condition import Condition

    new = temp(38.3, hours_before=0.1)
    [c] = call(client, car_t(), [new], encounterId="enc-9")
    cond, ae = _suggested(c, "Condition"), _suggested(c, "AdverseEvent")
    Condition.model_validate(cond)
    AdverseEvent.model_validate(ae)
    assert cond["code"]["coding"][0]["code"] == "D89.831"
    assert cond["encounter"] == {"reference": "Encounter/enc-9"}
    assert cond["onsetDateTime"] == new["effectiveDateTime"]
    assert cond["stage"][0]["assessment"] == [{"reference": f"Observation/{new['id']}"}]
    assert ae["severity"]["coding"][0]["code"] == "mild"


def test_a_crossing_without_a_grade_offers_nothing_to_record(client):
    [c] = call(client, car_t(), [sbp(82, hours_before=0.1)])
    assert "suggestions" not in c


def test_a_resource_failing_validation_is_not_offered_and_logged_without_identifiers(
    client, monkeypatch, caplog
):
    from services import fhir_writer

    real = fhir_writer.crs_condition

    def broken(*args, **kw):
        res = real(*args, **kw)
        res["clinicalStatus"] = "active"  # a string where R4 wants a CodeableConcept
        return res

    monkeypatch.setattr(fhir_writer, "crs_condition", broken)
    [c] = call(client, car_t(), [temp(38.3, hours_before=0.1)])
    assert _suggested(c, "Condition") is None
    assert _suggested(c, "AdverseEvent") is not None
    [msg] = [r.getMessage() for r in caplog.records if "not offered" in r.getMessage()]
    assert "Condition" in msg and "clinicalStatus" in msg
    assert PID not in msg and "Patient/" not in msg


# -- ICANS (ASTCT 2019: ICE 7-9 grade 1, 3-6 grade 2, 0-2 grade 3) ----------------------------


def ice_score(score: int, hours_before: float) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"ice{score}-{hours_before}",
        "status": "final",
        "code": {"text": "ICE score"},
        "effectiveDateTime": iso(hours_before),
        "valueInteger": score,
    }


@pytest.mark.parametrize(("score", "grade"), [(6, 2), (7, 1)])
def test_an_ice_score_that_falls_raises_icans(client, score, grade):
    record = car_t(ice_score(10, 4))
    [c] = call(client, record, [ice_score(score, 0.1)])
    assert c["summary"] == f"ICANS grade 0 → {grade} (ASTCT 2019): ICE score {score}/10"
    assert f"**ICANS grade 0 → {grade}**" in c["detail"]
    assert "not gradable" not in c["detail"]


def test_an_icans_card_without_crs_has_no_table_of_crs_zeros_but_one_with_crs_keeps_it(client):
    [c] = call(client, car_t(ice_score(10, 4)), [ice_score(5, 0.1)])
    assert "| CRS | Before charting | Now |" not in c["detail"]
    # CRS grade 1 (fever 38.6 °C an hour ago) beside it: its grades stay in view.
    [c] = call(client, car_t(ice_score(10, 4), temp(38.6, hours_before=1)), [ice_score(5, 0.1)])
    assert "| CRS | Before charting | Now |" in c["detail"]
    assert "| **ASTCT 2019** (primary) | 1 | 1 |" in c["detail"]


def test_a_normal_ice_score_changes_nothing(client):
    assert call(client, car_t(ice_score(10, 4)), [ice_score(10, 0.1)]) == []


def test_an_icans_grade_that_rose_offers_g92_0x_and_the_adverse_event_both_valid_r4(client):
    from fhir.resources.R4B.adverseevent import AdverseEvent
    from fhir.resources.R4B.condition import Condition

    record = car_t(ice_score(10, 4))
    new = ice_score(5, 0.1)
    [c] = call(client, record, [new])
    cond, ae = _suggested(c, "Condition"), _suggested(c, "AdverseEvent")
    Condition.model_validate(cond)
    AdverseEvent.model_validate(ae)
    assert cond["code"]["coding"] == [
        {
            "system": "http://hl7.org/fhir/sid/icd-10-cm",
            "code": "G92.02",
            "display": "Immune effector cell-associated neurotoxicity syndrome, grade 2",
        }
    ]
    assert cond["stage"][0]["summary"]["text"] == "Grade 2"
    assert {"reference": f"Observation/{new['id']}"} in cond["evidence"][0]["detail"]
    assert ae["suspectEntity"][0]["instance"]["display"] == "axicabtagene ciloleucel"
    assert ae["severity"]["coding"][0]["code"] == "moderate"
    assert [s["label"] for s in c["suggestions"]] == [
        "Record ICANS grade 2 (G92.02) on the problem list",
        "Record an adverse event: ICANS grade 2, suspected axicabtagene ciloleucel",
    ]


# -- a steep ferritin rise (IEC-HS screen, Hines 2023: ferritin rising rapidly, read as at least
# doubled within 48 hours) ----------------------------------------------------------------------


def ferritin(value: float, hours_before: float) -> dict:
    return obs("2276-4", value, "ng/mL", hours_before)


@pytest.mark.parametrize(("value", "card"), [(1600, True), (1599, False)])
def test_a_ferritin_that_doubles_within_48_hours_is_a_steep_rise(client, value, card):
    record = car_t(ferritin(800, 30))
    cards = call(client, record, [ferritin(value, 0.1)])
    if not card:
        assert cards == []
        return
    [c] = cards
    assert c["summary"] == "Steep ferritin rise: ferritin 800 → 1600 ng/mL"
    assert c["indicator"] == "info"
    assert (
        "**Steep ferritin rise** (ferritin rising rapidly: at least doubled within 48"
        in (c["detail"])
    )
    assert "ferritin 1600 ng/mL (**just charted**)" in c["detail"]
    assert "Ferritin criterion met, no supporting finding: watch for IEC-HS." in c["detail"]
    assert "Not graded as CRS" not in c["detail"]


@pytest.mark.parametrize(("hours_before", "card"), [(47.9, True), (48.2, False)])
def test_a_steep_ferritin_rise_counts_against_values_of_the_48_hours_before(
    client, hours_before, card
):
    # the new value is charted 0.1 h ago: the earlier one 47.8 h before it counts, 48.1 h does not
    cards = call(client, car_t(ferritin(500, hours_before)), [ferritin(2500, 0.1)])
    assert (len(cards) == 1) is card


def test_a_ferritin_already_doubled_before_the_new_value_changes_nothing(client):
    record = car_t(ferritin(800, 30), ferritin(1700, 10))
    assert call(client, record, [ferritin(1800, 0.1)]) == []


def test_a_first_ferritin_is_no_rise(client):
    assert call(client, car_t(), [ferritin(5000, 0.1)]) == []


def test_a_steep_ferritin_rise_after_a_checkpoint_inhibitor_only_is_not_the_iec_hs_screen(client):
    # IEC-HS is a syndrome of immune effector cells (CAR T cells, T-cell engagers)
    record = [
        patient(PID, "1970-01-01"),
        given("pembrolizumab", 240),
        temp(37.2, hours_before=4),
        ferritin(800, 30),
    ]
    assert call(client, record, [ferritin(2400, 0.1)]) == []


def test_a_steep_ferritin_rise_with_a_fever_says_both(client):
    [c] = call(
        client, car_t(ferritin(800, 30)), [ferritin(2000, 0.1), temp(38.5, hours_before=0.1)]
    )
    assert c["summary"] == (
        "CRS grade 0 → 1 (ASTCT 2019): temperature 38.5 °C; "
        "Steep ferritin rise: ferritin 800 → 2000 ng/mL"
    )


def test_an_ice_score_where_none_was_charted_is_from_not_gradable(client):
    [c] = call(client, car_t(), [ice_score(5, 0.1)])
    assert c["summary"] == "ICANS grade – → 2 (ASTCT 2019): ICE score 5/10"
    assert "– : not gradable from the data." in c["detail"]
