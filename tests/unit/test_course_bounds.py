"""An open-ended record (a statement of use from the year 1900, or 0001) cannot make the
corticosteroid course unbounded: the course is read over at most the 365 days before the
assessment (knowledge.courses STEROID_COURSE_LOOKBACK_DAYS)."""

from __future__ import annotations

from services.assess import assess
from tests.fhir_factory import AT, patient


def statement(start: str) -> dict:
    return {
        "resourceType": "MedicationStatement",
        "id": "ms1",
        "status": "active",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "8640"}]
        },
        "effectivePeriod": {"start": start},
        "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg", "code": "mg"}}]}],
    }


def test_a_statement_from_long_ago_counts_from_365_days_before_the_assessment():
    for start in ("1900-01-01", "0001-01-01"):
        course = assess([patient(), statement(start)], at=AT).courses.corticosteroid
        assert course is not None
        assert course.start.date().isoformat() == "2025-11-20"  # 365 days before 2026-11-20
        assert course.day_of_course == 366


def test_a_statement_from_200_days_ago_counts_from_its_start():
    course = assess([patient(), statement("2026-05-04")], at=AT).courses.corticosteroid
    assert course is not None and course.day_of_course == 201
