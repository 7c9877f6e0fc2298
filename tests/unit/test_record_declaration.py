"""The parts of the record the assessment reads are declared once (`services.record`); the
prefetch templates, the SMART scopes and the app's searches all follow that declaration."""

from __future__ import annotations

from cds_hooks.registry import SERVICES, prefetch_catalogue
from launch import scopes
from services.record import RECORD
from smart_app import fetch

TYPES = [
    "Patient",
    "Observation",
    "MedicationAdministration",
    "MedicationRequest",
    "MedicationStatement",
    "Condition",
    "Procedure",
    "DeviceUseStatement",
    "AllergyIntolerance",
]


def test_the_record_is_these_nine_resource_types():
    assert [p.resource_type for p in RECORD] == TYPES


def test_every_assessing_hook_prefetches_each_part_of_the_record_by_patient():
    catalogue = prefetch_catalogue()
    for part in RECORD:
        template = catalogue[part.prefetch_key]
        assert template.startswith(f"{part.resource_type}?patient={{{{context.patientId}}}}") or (
            template == "Patient/{{context.patientId}}"
        )
    for sid in ("immunotox-patient-view", "immunotox-order-sign"):
        assert set(SERVICES[sid].prefetch) >= {p.prefetch_key for p in RECORD}


def test_the_app_asks_to_read_each_part_and_searches_every_type_but_the_patient():
    asked = scopes.requested("v2", standalone=False).split()
    assert [s for s in asked if s.startswith("patient/")] == [f"patient/{t}.rs" for t in TYPES]
    assert list(fetch.SEARCHES) == TYPES[1:]
    assert scopes.REQUIRED == ("Patient", "Observation")
