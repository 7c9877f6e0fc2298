"""The write-back of a CRS grade (`services.fhir_writer.crs_condition`, `adverse_event`): valid
FHIR R4 for every demo patient with CRS, and the ICD-10-CM code of each grade, as the tabular
list gives it (D89.831 "Cytokine release syndrome, grade 1" ... D89.835 "grade 5")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.adverseevent import AdverseEvent
from fhir.resources.R4B.condition import Condition

from services import fhir_writer
from services.assess import assess_bundle
from tests.fhir_factory import AT

PATIENTS = Path(__file__).resolve().parents[2] / "demo" / "patients"
# The demo patients graded with CRS (the others are afebrile, have no exposure, or sepsis).
WITH_CRS = (
    "cart-prior-pembrolizumab",
    "lee-case1",
    "lee-case2",
    "lee-case3",
    "no-weight-nivolumab",
    "seed-pembrolizumab",
    "toci-course-pembrolizumab",
)


@pytest.mark.parametrize("name", WITH_CRS)
def test_every_demo_patient_with_crs_gets_a_valid_condition_and_adverse_event(name):
    a = assess_bundle(json.loads((PATIENTS / f"{name}.json").read_text("utf-8")), at=AT)
    grade = a.primary_crs_grade
    assert grade
    refs = [ev.ref for c in a.crs[a.crs_primary_system].criteria for ev in c.evidence]
    cond = fhir_writer.crs_condition(a, grade, refs, "p1", "e1")
    Condition.model_validate(cond)
    assert fhir_writer.validation_problems(cond) == []
    assert cond["evidence"][0]["detail"]
    ae = fhir_writer.adverse_event(a, grade, "p1", "e1")
    AdverseEvent.model_validate(ae)
    assert fhir_writer.validation_problems(ae) == []
    assert ae["suspectEntity"][0]["instance"]["display"] == a.crs_attribution.agent


@pytest.mark.parametrize(
    ("grade", "code", "display", "severity"),
    [
        (1, "D89.831", "Cytokine release syndrome, grade 1", "mild"),
        (2, "D89.832", "Cytokine release syndrome, grade 2", "moderate"),
        (3, "D89.833", "Cytokine release syndrome, grade 3", "severe"),
        (4, "D89.834", "Cytokine release syndrome, grade 4", "severe"),
        (5, "D89.835", "Cytokine release syndrome, grade 5", "severe"),
    ],
)
def test_each_grade_has_its_icd10cm_code(grade, code, display, severity):
    a = assess_bundle(json.loads((PATIENTS / "lee-case1.json").read_text()), at=AT)
    cond = fhir_writer.crs_condition(a, grade, [], "p1")
    assert cond["code"]["coding"] == [
        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code, "display": display}
    ]
    assert "evidence" not in cond  # nothing to reference: no empty element
    ae = fhir_writer.adverse_event(a, grade, "p1")
    assert ae["severity"]["coding"][0]["code"] == severity
    Condition.model_validate(cond)
    AdverseEvent.model_validate(ae)


@pytest.mark.parametrize("grade", [0, 6, None])
def test_no_code_no_resource(grade):
    a = assess_bundle(json.loads((PATIENTS / "lee-case1.json").read_text()), at=AT)
    assert fhir_writer.crs_condition(a, grade, [], "p1") is None
    assert fhir_writer.adverse_event(a, grade, "p1") is None


def test_derived_evidence_and_resources_without_id_are_not_referenced():
    a = assess_bundle(json.loads((PATIENTS / "lee-case1.json").read_text()), at=AT)
    refs = [
        "Observation/t1",
        "derived/norepinephrine-equivalent",
        "Observation/(no id)",
        "Observation/t1",
    ]
    cond = fhir_writer.crs_condition(a, 2, refs, "p1")
    assert cond["evidence"] == [{"detail": [{"reference": "Observation/t1"}]}]


def test_validation_problems_name_the_path_not_the_value():
    bad = {"resourceType": "Condition", "subject": {"reference": "Patient/secret-id-42"}, "code": 7}
    problems = fhir_writer.validation_problems(bad)
    assert problems and any(p.startswith("code") for p in problems)
    assert not any("secret-id-42" in p for p in problems)
    assert fhir_writer.validation_problems({"resourceType": "NoSuchThing"}) == [
        "no FHIR R4 model for resourceType 'NoSuchThing'"
    ]
