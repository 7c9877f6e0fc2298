"""FHIR out: every resource the service emits is built here, from the domain's outputs.

Card suggestions (a dosed MedicationRequest, a consult ServiceRequest), the order check's
corrected draft, and the write-back of a CRS grade (a Condition and an AdverseEvent), which the
card layer offers only after `validation_problems` finds none. Pure functions returning FHIR R4 JSON; the tests validate each against the R4
model (`fhir.resources`). Text that may have come from FHIR goes through `format.plain`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from services import format
from services.ice_form import IceEntry
from services.knowledge.codes import UCUM, drug_by_name
from services.knowledge.icans import ICE_ITEMS, TOOLS
from services.knowledge.sources import GRADING_SYSTEMS, RULESET_VERSION
from services.knowledge.writeback import AE_SEVERITY_SYSTEM, GradeCode, ae_severity, grade_code
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


# --------------------------------------------------------------------------------------------
# Write-back of a grade: a Condition and an AdverseEvent (org.immunotox.observation-create)
# --------------------------------------------------------------------------------------------

CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_REF = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")
# AdverseEvent.suspectEntity.instance may reference these (FHIR R4).
_SUSPECT_TYPES = frozenset(
    {
        "Immunization",
        "Procedure",
        "Substance",
        "Medication",
        "MedicationAdministration",
        "MedicationStatement",
        "Device",
    }
)


def _references(refs: Iterable[str]) -> list[dict[str, str]]:
    """Resource references from evidence refs, once each; derived evidence (no resource) and
    resources without an id are left out."""
    out: list[dict[str, str]] = []
    for r in refs:
        if isinstance(r, str) and _REF.match(r) and {"reference": r} not in out:
            out.append({"reference": r})
    return out


class _Episode(NamedTuple):
    """The CRS (primary system) or the ICANS (ASTCT 2019) the assessment found, as written back."""

    system: str  # the grading system's name
    applies: bool  # attributed to a therapy
    agent: str | None  # the suspected drug
    reason: str  # why
    onset: datetime | None


def _episode(a: Assessment, kind: str) -> _Episode:
    if kind == "icans":
        r = a.icans
        if r is None:
            return _Episode(GRADING_SYSTEMS["astct2019"], False, None, "", None)
        return _Episode(GRADING_SYSTEMS["astct2019"], r.applies, r.agent, r.reason, r.onset)
    system = GRADING_SYSTEMS.get(a.crs_primary_system, a.crs_primary_system)
    att = a.crs_attribution
    if att is None:
        return _Episode(system, True, None, "", None)
    return _Episode(system, att.applies, att.agent, att.reason, att.onset)


def _grade_concept(gc: GradeCode, ep: _Episode) -> dict[str, Any]:
    """The code that carries the grade, named with its grading system."""
    return {
        "coding": [{"system": gc.system, "code": gc.code, "display": gc.display}],
        "text": f"{gc.display} ({ep.system})",
    }


def _recorded(a: Assessment, patient_id: str) -> dict[str, Any]:
    """Whose grade it is and when it was graded."""
    return {"subject": {"reference": f"Patient/{patient_id}"}, "recordedDate": a.at.isoformat()}


def _in_encounter(res: dict[str, Any], encounter_id: str | None) -> dict[str, Any]:
    if encounter_id:
        res["encounter"] = {"reference": f"Encounter/{encounter_id}"}
    return res


def crs_condition(
    a: Assessment,
    grade: int,
    evidence_refs: Iterable[str],
    patient_id: str,
    encounter_id: str | None = None,
    kind: str = "crs",
) -> dict[str, Any] | None:
    """A provisional Condition recording CRS of `grade` under the primary system (ICD-10-CM
    D89.83x), or with `kind="icans"` ICANS under ASTCT 2019 (G92.0x; `knowledge.writeback`):
    onset at the episode's onset, the grade as its stage, the evidence (Observations and
    administrations) referenced. None when no code carries the grade."""
    gc = grade_code(kind, grade)
    if gc is None:
        return None
    ep = _episode(a, kind)
    system, reason = ep.system, ep.reason
    refs = _references(evidence_refs)
    res: dict[str, Any] = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        # a grade computed from the record, recorded by a clinician's click: not confirmed
        "verificationStatus": {
            "coding": [{"system": CONDITION_VERIFICATION, "code": "provisional"}]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": CONDITION_CATEGORY,
                        "code": "problem-list-item",
                        "display": "Problem List Item",
                    }
                ]
            }
        ],
        "code": _grade_concept(gc, ep),
        **_recorded(a, patient_id),
        "stage": [
            {
                "summary": {"text": f"Grade {grade}"},
                "type": {"text": f"{system} grading"},
            }
        ],
        "note": [
            {
                "text": format.plain(
                    f"Grade {grade} under {system}, graded by immunotox ({a.ruleset_version})"
                    + (f"; {reason.rstrip('.')}" if reason else "")
                    + ". A grade is not a diagnosis: confirm it."
                )
            }
        ],
    }
    if ep.onset is not None:
        res["onsetDateTime"] = ep.onset.isoformat()
    observations = [r for r in refs if r["reference"].startswith("Observation/")]
    if observations:
        res["stage"][0]["assessment"] = observations
    if refs:
        res["evidence"] = [{"detail": refs}]
    return _in_encounter(res, encounter_id)


def adverse_event(
    a: Assessment,
    grade: int,
    patient_id: str,
    encounter_id: str | None = None,
    kind: str = "crs",
) -> dict[str, Any] | None:
    """An actual AdverseEvent: CRS (or with `kind="icans"` ICANS) of `grade`, the suspected drug
    being the therapy it is attributed to (`Assessment.crs_attribution`, `Assessment.icans`),
    its most recent administration referenced. None when it is attributed to no therapy, or no
    code carries the grade."""
    gc = grade_code(kind, grade)
    ep = _episode(a, kind)
    agent, reason = ep.agent, ep.reason
    if gc is None or not ep.applies or not agent:
        return None
    exposure = next((e for e in a.exposures if e.drug == agent), None)
    given = [r for r in (exposure.refs if exposure else ()) if r.split("/")[0] in _SUSPECT_TYPES]
    suspects: list[dict[str, Any]] = []
    for ref in given[-1:] or [None]:  # the most recent administration, else the drug by name
        instance: dict[str, Any] = {"display": format.plain(agent)}
        if ref and _REF.match(ref):
            instance["reference"] = ref
        suspects.append(
            {
                "instance": instance,
                "causality": [{"assessment": {"text": format.plain(reason)}}],
            }
        )
    res: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "actuality": "actual",
        "event": _grade_concept(gc, ep),
        **_recorded(a, patient_id),
        "suspectEntity": suspects,
    }
    if ep.onset is not None:
        res["date"] = ep.onset.isoformat()
    severity = ae_severity(grade)
    if severity:
        res["severity"] = {
            "coding": [
                {"system": AE_SEVERITY_SYSTEM, "code": severity, "display": severity.capitalize()}
            ]
        }
    return _in_encounter(res, encounter_id)


_MODELS = {"Condition": "condition", "AdverseEvent": "adverseevent"}


def validation_problems(resource: dict[str, Any]) -> list[str]:
    """Where a resource fails the FHIR R4 model (`fhir.resources`, R4B models): the paths and
    error types only, never the values (they may hold identifiers). Empty: valid."""
    import importlib

    from pydantic import ValidationError

    rt = resource.get("resourceType") if isinstance(resource, dict) else None
    name = _MODELS.get(rt or "") or (rt or "").lower()
    try:
        module = importlib.import_module(f"fhir.resources.R4B.{name}")
        model = getattr(module, rt)  # type: ignore[arg-type]
    except (ImportError, AttributeError, TypeError):
        return [f"no FHIR R4 model for resourceType {rt!r}"]
    try:
        model.model_validate(resource)
    except ValidationError as e:
        return [
            f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('type', 'invalid')}"
            for err in e.errors()
        ]
    return []


# -- The ICE score entered in the app (a separate builder: the bedside ICE form) ---------------
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"


def _local_coding(system_code: str, display: str) -> dict[str, str]:
    system, _, code = system_code.rpartition("|")
    return {"system": system, "code": code, "display": display}


def ice_observation(
    entry: IceEntry, patient_id: str, at: datetime, encounter_id: str | None = None
) -> dict[str, Any]:
    """The ICE score as a FHIR R4 Observation: category `survey` (an assessment tool), the
    product's ICE-score code (`knowledge.icans.TOOLS`: no LOINC code exists) with `code.text`
    "ICE score", the total as valueInteger and one component per task with its points."""
    tool = next(t for t in TOOLS if t.tool == "ice")
    items = {i.id: i for i in ICE_ITEMS}
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            {
                "coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}],
                "text": "Survey",
            }
        ],
        "code": {"coding": [_local_coding(tool.local_code, tool.label)], "text": tool.label},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": at.isoformat(),
        "valueInteger": entry.total,
        "component": [
            {
                "code": {
                    "coding": [_local_coding(items[i].local_code, items[i].text)],
                    "text": items[i].text,
                },
                "valueInteger": points,
            }
            for i, points in entry.points
        ],
    }
    if encounter_id:
        res["encounter"] = {"reference": f"Encounter/{encounter_id}"}
    return res
