"""Hand-built Assessments, hook requests and FHIR resources for the CDS Hooks tests, and an
independent checker of the specification's card rules (written from the spec text, not from
`cds_hooks.spec`, so a bug there cannot hide itself)."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from services.knowledge.sources import RULESET_VERSION
from services.model import (
    Assessment,
    Criterion,
    Dose,
    Evidence,
    Exposure,
    GradeResult,
    IraeFinding,
    Missing,
    Recommendation,
    TrajectoryPoint,
    Weight,
)

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PID = "pat-1"
FHIR = "https://fhir.example.org/r4"
TOKEN = "fhir-access-token-xyz"


# --------------------------------------------------------------------------------------------
# Assessment parts
# --------------------------------------------------------------------------------------------


def exposure(
    drug: str = "pembrolizumab",
    cls: str = "checkpoint_inhibitor",
    ref: str = "MedicationAdministration/ma1",
) -> Exposure:
    return Exposure(
        drug,
        cls,
        "PD-1" if cls == "checkpoint_inhibitor" else None,
        AT - timedelta(days=20),
        AT - timedelta(days=10),
        "administration",
        (ref,),
    )


def grade(
    system: str, g: int | None, evidence_what: str = "Body temperature 38.9 Cel"
) -> GradeResult:
    crit = ()
    if g:
        crit = (
            Criterion(
                f"{system}.g{g}.x",
                g,
                f"Grade {g} criterion text",
                f"{system}: Table 2",
                (Evidence("Observation/t1", evidence_what, AT - timedelta(hours=2), 38.9, "Cel"),),
            ),
        )
    return GradeResult(
        system, g, crit, (Missing("FiO2", "A measured FiO2 of 40% or more would raise it"),), AT
    )


def finding(
    kind: str = "transverse_myelitis",
    label: str = "Acute transverse myelitis",
    g: int | None = 3,
    action: str | None = "discontinue",
) -> IraeFinding:
    return IraeFinding(
        kind,
        label,
        g,
        "grade recorded on the condition",
        action,
        "Transverse myelitis: permanently discontinue",
        (Evidence("Condition/c1", label, AT - timedelta(days=1)),),
        ("asco2021: neurologic toxicities",),
    )


def rec_toci(value: float = 560.0, capped: bool = False) -> Recommendation:
    return Recommendation(
        "tocilizumab.label",
        "immunosuppression",
        "Tocilizumab 8 mg/kg IV over 1 hour",
        ("actemra_label: section 2",),
        drug="tocilizumab",
        dose=Dose(
            "mg",
            value=value,
            basis="8 mg/kg x 70 kg",
            capped=capped,
            cap="800 mg per dose (label)" if capped else None,
        ),
        route="IV",
        frequency="once",
        for_irae=("crs",),
        urgency="urgent",
    )


def rec_mp(low: float = 70.0, high: float = 140.0) -> Recommendation:
    return Recommendation(
        "methylprednisolone.asco",
        "immunosuppression",
        "Methylprednisolone 1-2 mg/kg/day IV",
        ("asco2021: general recommendations",),
        drug="methylprednisolone",
        dose=Dose("mg/d", low=low, high=high, basis="1-2 mg/kg/d x 70 kg"),
        route="IV",
        frequency="daily",
        duration="3-5 days",
        for_irae=("transverse_myelitis",),
    )


def rec_ivig(value: float = 140.0) -> Recommendation:
    return Recommendation(
        "ivig.asco",
        "immunosuppression",
        "IVIG 2 g/kg total over 2-5 days",
        ("asco2021: neurologic toxicities",),
        drug="immune globulin",
        dose=Dose("g", value=value, basis="2 g/kg x 70 kg"),
        route="IV",
        frequency="total dose divided over 2-5 days",
        for_irae=("transverse_myelitis",),
    )


def rec_consult() -> Recommendation:
    return Recommendation(
        "neurology.consult",
        "consult",
        "Urgent neurology consult",
        ("pembro_crs_qa",),
        service="Neurology consult",
        urgency="urgent",
        for_irae=("transverse_myelitis",),
    )


def assessment(
    crs: dict[str, int | None] | None = None,
    irae: list[IraeFinding] | None = None,
    recs: list[Recommendation] | None = None,
    exposures: list[Exposure] | None = None,
    weight: float | None = 70.0,
) -> Assessment:
    crs = crs if crs is not None else {"lee2014": 0, "astct2019": 0, "ctcae5": 0}
    results = {s: grade(s, g) for s, g in crs.items()}
    return Assessment(
        at=AT,
        ruleset_version=RULESET_VERSION,
        age_years=60,
        weight=Weight(weight, AT - timedelta(days=1), "Observation/w1") if weight else None,
        deceased=False,
        crs=results,
        crs_worst={s: TrajectoryPoint(AT, {s: g}) for s, g in crs.items()},
        trajectory=[],
        window_start=AT - timedelta(days=1),
        exposures=exposures if exposures is not None else [exposure()],
        irae=irae or [],
        recommendations=recs or [],
        data_quality=[],
        disclaimer="A grade is not a diagnosis; attribution needs clinical judgement.",
    )


# --------------------------------------------------------------------------------------------
# FHIR resources and hook requests
# --------------------------------------------------------------------------------------------


def patient(pid: str = PID, name: str = "Test") -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": name}],
        "birthDate": "1966-01-01",
    }


def bundle(*resources: dict[str, Any], next_url: str | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r} for r in resources],
    }
    if next_url:
        b["link"] = [{"relation": "next", "url": next_url}]
    return b


def observation(
    oid: str, loinc: str, when: datetime, value: float = 1.0, text: str | None = None
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {
            "coding": [{"system": "http://loinc.org", "code": loinc}],
            **({"text": text} if text else {}),
        },
        "subject": {"reference": f"Patient/{PID}"},
        "effectiveDateTime": when.isoformat(),
        "valueQuantity": {"value": value},
    }


def med_request(
    mid: str,
    drug: str,
    rxnorm: str | None = None,
    value: float | None = None,
    unit: str = "mg",
    per_day: int | None = None,
    status: str = "draft",
) -> dict[str, Any]:
    coding = (
        [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rxnorm}]
        if rxnorm
        else []
    )
    dosage: dict[str, Any] = {"text": f"{drug} {value} {unit}"}
    if value is not None:
        dosage["doseAndRate"] = [
            {
                "doseQuantity": {
                    "value": value,
                    "unit": unit,
                    "system": "http://unitsofmeasure.org",
                    "code": unit,
                }
            }
        ]
    if per_day:
        dosage["timing"] = {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}}
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {"coding": coding, "text": drug},
        "subject": {"reference": f"Patient/{PID}"},
        "dosageInstruction": [dosage],
    }


def condition(cid: str, icd: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": cid,
        "code": {
            "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": icd}],
            "text": text,
        },
        "subject": {"reference": f"Patient/{PID}"},
    }


def full_prefetch(extra_obs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "patient": patient(),
        "observations": bundle(*(extra_obs or [])),
        "baselineLabs": bundle(*(extra_obs or [])),
        "medicationRequests": bundle(),
        "medicationAdministrations": bundle(),
        "medicationStatements": bundle(),
        "conditions": bundle(),
        "oxygenProcedures": bundle(),
        "devices": bundle(),
        "allergies": bundle(),
    }


CONTEXTS: dict[str, dict[str, Any]] = {
    "patient-view": {},
    "encounter-start": {"encounterId": "enc-1"},
    "order-select": {"selections": ["MedicationRequest/d1"], "draftOrders": bundle()},
    "order-sign": {"draftOrders": bundle()},
    "problem-list-item-create": {"conditions": bundle()},
}
SERVICE_FOR_HOOK = {
    "patient-view": "immunotox-patient-view",
    "encounter-start": "immunotox-encounter-start",
    "order-select": "immunotox-order-select",
    "order-sign": "immunotox-order-sign",
    "problem-list-item-create": "immunotox-problem-list",
    "org.immunotox.observation-create": "immunotox-observation-create",
}


def hook_body(
    hook: str = "patient-view",
    prefetch: dict[str, Any] | str | None = "full",
    fhir_server: str | None = None,
    token: str | None = None,
    **context: Any,
) -> dict[str, Any]:
    ctx = {"userId": "Practitioner/dr1", "patientId": PID, **CONTEXTS[hook], **context}
    body: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": ctx}
    if prefetch == "full":
        body["prefetch"] = full_prefetch()
    elif prefetch is not None:
        body["prefetch"] = prefetch
    if fhir_server:
        body["fhirServer"] = fhir_server
    if token:
        body["fhirAuthorization"] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "immunotox",
        }
    return body


# --------------------------------------------------------------------------------------------
# Independent card-rule checker (CDS Hooks 2.0, "Card Attributes", "Suggestion", "Action", "Link")
# --------------------------------------------------------------------------------------------

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def check_card_rules(card: dict[str, Any]) -> None:
    assert isinstance(card["summary"], str) and 0 < len(card["summary"]) < 140, card["summary"]
    assert card["indicator"] in ("info", "warning", "critical")
    assert isinstance(card["source"], dict) and card["source"]["label"]
    assert _UUID.match(card["uuid"])
    if "detail" in card:
        assert isinstance(card["detail"], str) and card["detail"]
    for key in ("suggestions", "links", "overrideReasons"):
        if key in card:
            assert card[key], f"{key} must be omitted rather than empty"
    if card.get("suggestions"):
        assert card["selectionBehavior"] in ("at-most-one", "any")
        for s in card["suggestions"]:
            assert s["label"] and _UUID.match(s["uuid"])
            for a in s.get("actions", []):
                assert a["type"] in ("create", "update", "delete") and a["description"]
                if a["type"] == "delete":
                    assert re.match(r"^[A-Z][A-Za-z]+/[^/]+$", a["resourceId"])
                else:
                    assert a["resource"]["resourceType"]
    for r in card.get("overrideReasons", []):
        assert r["code"] and r["system"] and r["display"]
    for link in card.get("links", []):
        assert (
            link["label"]
            and link["url"].startswith("http")
            and link["type"] in ("absolute", "smart")
        )
        if "appContext" in link:
            assert link["type"] == "smart" and isinstance(link["appContext"], str)
            json.loads(link["appContext"])
    for v in card.values():
        assert v is not None and v != "" and v != [] and v != {}


def check_response(body: dict[str, Any]) -> list[dict[str, Any]]:
    assert set(body) <= {"cards", "systemActions"} and isinstance(body["cards"], list)
    for c in body["cards"]:
        check_card_rules(c)
    return body["cards"]
