"""FHIR out (`services.fhir_writer`): every resource the service can emit is a valid FHIR R4
resource, for every demo patient, and says what the plan says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from services import fhir_writer
from services.assess import assess_bundle
from tests.fhir_factory import AT

PATIENTS = sorted((Path(__file__).resolve().parents[2] / "demo" / "patients").glob("*.json"))


@pytest.mark.parametrize("path", PATIENTS, ids=lambda p: p.stem)
def test_every_suggested_resource_of_every_demo_patient_is_valid_fhir_r4(path):
    a = assess_bundle(json.loads(path.read_text("utf-8")), at=AT)
    for rec in a.recommendations:
        if rec.drug and rec.dose:
            res = fhir_writer.medication_request(rec, a, "p1", "e1")
            MedicationRequest.model_validate(res)
            assert res["status"] == "draft" and res["subject"] == {"reference": "Patient/p1"}
            assert res["encounter"] == {"reference": "Encounter/e1"}
        elif rec.service:
            res = fhir_writer.service_request(rec, a, "p1")
            ServiceRequest.model_validate(res)
            assert "encounter" not in res


def test_the_seed_tocilizumab_suggestion_orders_624_mg_once_with_its_sources():
    seed = next(p for p in PATIENTS if p.stem == "seed-pembrolizumab")
    a = assess_bundle(json.loads(seed.read_text("utf-8")), at=AT)
    rec = next(r for r in a.recommendations if r.id == "tocilizumab.label" and r.dose)
    res = fhir_writer.medication_request(rec, a, "p1")
    [dosage] = res["dosageInstruction"]
    assert dosage["doseAndRate"][0]["doseQuantity"] == {
        "value": 624.0,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    assert res["medicationCodeableConcept"]["coding"][0]["code"] == "612865"  # RxNorm tocilizumab
    assert "Tocilizumab (Actemra) prescribing information" in res["note"][0]["text"]


def test_a_corrected_draft_keeps_the_order_and_replaces_only_the_dose():
    draft = {
        "resourceType": "MedicationRequest",
        "id": "d1",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "tocilizumab"},
        "dosageInstruction": [
            {"text": "1000 mg once", "doseAndRate": [{"doseQuantity": {"value": 1000}}]},
            {"text": "second dosage line"},
        ],
    }
    fixed = fhir_writer.draft_with_dose(draft, 624.0)
    MedicationRequest.model_validate(fixed)
    assert fixed["id"] == "d1" and fixed["medicationCodeableConcept"] == {"text": "tocilizumab"}
    first, second = fixed["dosageInstruction"]
    assert first["doseAndRate"][0]["doseQuantity"]["value"] == 624.0
    assert "text" not in first and second == {"text": "second dosage line"}
    assert draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] == {"value": 1000}
