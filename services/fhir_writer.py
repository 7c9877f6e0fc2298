"""FHIR out: every resource the service emits is built here, from the domain's outputs.

Card suggestions (a dosed MedicationRequest, a consult ServiceRequest) and the order check's
corrected draft. Pure functions returning FHIR R4 JSON; the tests validate each against the R4
model (`fhir.resources`). Text that may have come from FHIR goes through `format.plain`.
"""

from __future__ import annotations

import copy
from typing import Any

from services import format
from services.knowledge.codes import UCUM, drug_by_name
from services.knowledge.sources import RULESET_VERSION
from services.model import Assessment, Dose, Recommendation

DOSE_RATE_TYPE = "http://terminology.hl7.org/CodeSystem/dose-rate-type"


def _medication_concept(name: str) -> dict[str, Any]:
    concept = drug_by_name(name)
    coding = []
    if concept:
        for code in concept.codes:
            system, _, value = code.rpartition("|")
            coding.append({"system": system, "code": value, "display": name})
    cc: dict[str, Any] = {"text": name}
    if coding:
        cc["coding"] = coding
    return cc


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _reason(rec: Recommendation, a: Assessment) -> list[dict[str, Any]]:
    labels = {f.kind: f.label for f in a.irae}
    labels.setdefault("crs", "Cytokine release syndrome")
    kinds = rec.for_irae or ()
    text = ", ".join(labels.get(k, k.replace("_", " ")) for k in kinds)
    return [{"text": text or rec.category.replace("_", " ")}]


def medication_request(
    rec: Recommendation, a: Assessment, patient_id: str, encounter_id: str | None = None
) -> dict[str, Any]:
    """A complete draft MedicationRequest (FHIR R4) for a dosed recommendation."""
    assert rec.drug and rec.dose
    dose = rec.dose
    per_day = dose.unit.endswith("/d")
    mass_unit = dose.unit[:-2] if per_day else dose.unit
    dosage: dict[str, Any] = {
        "text": format.plain(
            f"{rec.drug} {format.dose(dose)}"
            + (f" {rec.route}" if rec.route else "")
            + (f", {rec.frequency}" if rec.frequency else "")
            + (f", {rec.duration}" if rec.duration else "")
        )
    }
    if rec.route:
        dosage["route"] = {"text": rec.route}
    freq = (rec.frequency or "").strip().lower()
    if per_day:
        high = dose.value if dose.value is not None else dose.high
        dosage["maxDosePerPeriod"] = {
            "numerator": _quantity(float(high or 0), mass_unit),
            "denominator": {"value": 1, "unit": "d", "system": UCUM, "code": "d"},
        }
        if freq in ("", "daily", "once daily"):
            dosage["timing"] = {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}
            dosage["doseAndRate"] = [_dose_and_rate(dose, mass_unit)]
        else:
            dosage["timing"] = {"code": {"text": rec.frequency}}
    else:
        dosage["doseAndRate"] = [_dose_and_rate(dose, mass_unit)]
        if freq == "once":
            dosage["timing"] = {"repeat": {"count": 1}}
        elif freq:
            dosage["timing"] = {"code": {"text": rec.frequency}}
    note = rec.text + (f" Dose basis: {dose.basis}." if dose.basis else "")
    if dose.capped and dose.cap:
        note += f" Capped: {dose.cap}."
    note += f" Sources: {'; '.join(rec.sources)}. {RULESET_VERSION}."
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "order",
        "priority": "urgent" if rec.urgency == "urgent" else "routine",
        "medicationCodeableConcept": _medication_concept(rec.drug),
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": a.at.isoformat(),
        "reasonCode": _reason(rec, a),
        "note": [{"text": format.plain(note)}],
        "dosageInstruction": [dosage],
    }
    if encounter_id:
        res["encounter"] = {"reference": f"Encounter/{encounter_id}"}
    return res


def _dose_and_rate(dose: Dose, unit: str) -> dict[str, Any]:
    dr: dict[str, Any] = {
        "type": {"coding": [{"system": DOSE_RATE_TYPE, "code": "ordered", "display": "Ordered"}]}
    }
    if dose.value is not None:
        dr["doseQuantity"] = _quantity(dose.value, unit)
    else:
        dr["doseRange"] = {
            "low": _quantity(float(dose.low or 0), unit),
            "high": _quantity(float(dose.high or 0), unit),
        }
    return dr


def service_request(
    rec: Recommendation, a: Assessment, patient_id: str, encounter_id: str | None = None
) -> dict[str, Any]:
    """A complete draft ServiceRequest (FHIR R4) for a consult or procedure."""
    assert rec.service
    res: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "priority": "urgent" if rec.urgency == "urgent" else "routine",
        "code": {"text": rec.service},
        "subject": {"reference": f"Patient/{patient_id}"},
        "authoredOn": a.at.isoformat(),
        "reasonCode": _reason(rec, a),
        "note": [{"text": format.plain(f"{rec.text} Sources: {'; '.join(rec.sources)}.")}],
    }
    if encounter_id:
        res["encounter"] = {"reference": f"Encounter/{encounter_id}"}
    return res


def draft_with_dose(resource: dict[str, Any], mg: float) -> dict[str, Any]:
    """A copy of a draft MedicationRequest whose first dosage gives `mg` per dose (the order
    check's corrected order); its free-text dosage, which would contradict it, is dropped."""
    updated = copy.deepcopy(resource)
    dosages = updated.get("dosageInstruction") or [{}]
    first = dict(dosages[0]) if isinstance(dosages[0], dict) else {}
    first["doseAndRate"] = [
        {
            "type": {
                "coding": [
                    {
                        "system": DOSE_RATE_TYPE,
                        "code": "ordered",
                        "display": "Ordered",
                    }
                ]
            },
            "doseQuantity": {"value": round(mg, 1), "unit": "mg", "system": UCUM, "code": "mg"},
        }
    ]
    first.pop("text", None)
    updated["dosageInstruction"] = [first, *dosages[1:]]
    return updated
