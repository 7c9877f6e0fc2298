"""Tiny builders for FHIR R4 resources used by the tests (hand-made, for exact assertions)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
_ids = itertools.count(1)

RX = {
    "norepinephrine": "7512",
    "epinephrine": "3992",
    "dopamine": "3628",
    "phenylephrine": "8163",
    "vasopressin": "11149",
    "pembrolizumab": "1547545",
    "nivolumab": "1597876",
    "tocilizumab": "612865",
    "methylprednisolone": "6902",
    "prednisone": "8640",
}


def iso(hours_before: float) -> str:
    return (AT - timedelta(hours=hours_before)).isoformat()


def patient(pid: str = "p1", birth: str = "1970-01-01", **extra) -> dict:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth, **extra}


def obs(code: str, value: float, unit: str | None, hours_before: float = 1, **extra) -> dict:
    q: dict = {"value": value}
    if unit is not None:
        q.update(unit=unit, system="http://unitsofmeasure.org", code=unit)
    return {
        "resourceType": "Observation",
        "id": f"o{next(_ids)}",
        "status": extra.pop("status", "final"),
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "effectiveDateTime": iso(hours_before),
        "valueQuantity": q,
        **extra,
    }


def temp(value: float, unit: str = "Cel", hours_before: float = 1) -> dict:
    return obs("8310-5", value, unit, hours_before)


def sbp(value: float, hours_before: float = 1) -> dict:
    return obs("8480-6", value, "mm[Hg]", hours_before)


def weight(value: float, unit: str = "kg", hours_before: float = 48) -> dict:
    return obs("29463-7", value, unit, hours_before)


def lab(code: str, value: float, unit: str, high: float | None, hours_before: float = 2) -> dict:
    extra = {}
    if high is not None:
        extra["referenceRange"] = [{"high": {"value": high, "unit": unit, "code": unit}}]
    return obs(code, value, unit, hours_before, **extra)


def infusion(
    drug: str,
    rate: float | None,
    unit: str | None,
    start_h: float,
    end_h: float | None = None,
    by_text: bool = False,
) -> dict:
    concept = {"text": drug} if by_text else {"coding": [{"system": RXNORM, "code": RX[drug]}]}
    period = {"start": iso(start_h)}
    if end_h is not None:
        period["end"] = iso(end_h)
    r: dict = {
        "resourceType": "MedicationAdministration",
        "id": f"ma{next(_ids)}",
        "status": "in-progress" if end_h is None else "completed",
        "medicationCodeableConcept": concept,
        "effectivePeriod": period,
    }
    if rate is not None:
        r["dosage"] = {"rateQuantity": {"value": rate, "unit": unit, "code": unit}}
    return r


def given(
    drug: str, hours_before: float, dose: tuple[float, str] | None = None, by_text: bool = False
) -> dict:
    concept = {"text": drug} if by_text else {"coding": [{"system": RXNORM, "code": RX[drug]}]}
    r: dict = {
        "resourceType": "MedicationAdministration",
        "id": f"ma{next(_ids)}",
        "status": "completed",
        "medicationCodeableConcept": concept,
        "effectiveDateTime": iso(hours_before),
    }
    if dose:
        r["dosage"] = {"dose": {"value": dose[0], "unit": dose[1], "code": dose[1]}}
    return r


def o2(snomed: str, start_h: float, end_h: float | None = None, text: str | None = None) -> dict:
    period = {"start": iso(start_h)}
    if end_h is not None:
        period["end"] = iso(end_h)
    code: dict = {"coding": [{"system": SNOMED, "code": snomed}]} if snomed else {}
    if text:
        code["text"] = text
    return {
        "resourceType": "Procedure",
        "id": f"pr{next(_ids)}",
        "status": "in-progress",
        "code": code,
        "performedPeriod": period,
    }


def condition(
    code: str, text: str, onset_h: float, system: str = ICD10CM, stage: str | None = None
) -> dict:
    r = {
        "resourceType": "Condition",
        "id": f"c{next(_ids)}",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": system, "code": code}], "text": text},
        "onsetDateTime": iso(onset_h),
    }
    if stage:
        r["stage"] = [{"summary": {"text": stage}}]
    return r


def bundle(*resources: dict) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }
