"""The synthetic ICU patient the benchmark measures with, at any number of Observations.

Four days of a patient on pembrolizumab with a cytokine release syndrome picture: vital signs
charted every few minutes (temperature, heart rate, respiratory rate, blood pressure, mean
arterial pressure, SpO2), labs every six hours (CRP, ferritin, IL-6, ALT, AST, bilirubin,
creatinine, fibrinogen), one body weight, one pembrolizumab dose twelve days ago and a
norepinephrine infusion titrated in segments over the four days. The vital-sign interval is
chosen so that the total is exactly the number of Observations asked for.

The same resources come out three ways: as a CDS Hooks prefetch (keyed as the services declare
it), as a FHIR transaction Bundle to load into a FHIR server, and as separate lists.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
SPAN = timedelta(days=4)
LAB_EVERY = timedelta(hours=6)

# (LOINC code, display, UCUM unit, mean, spread): a febrile, hypotensive, tachycardic patient.
VITALS = (
    ("8310-5", "Body temperature", "Cel", 38.9, 0.5),
    ("8867-4", "Heart rate", "/min", 112, 10),
    ("9279-1", "Respiratory rate", "/min", 24, 3),
    ("8480-6", "Systolic blood pressure", "mm[Hg]", 86, 8),
    ("8462-4", "Diastolic blood pressure", "mm[Hg]", 50, 6),
    ("8478-0", "Mean arterial pressure", "mm[Hg]", 62, 5),
    ("59408-5", "Oxygen saturation by pulse oximetry", "%", 92, 2),
)
LABS = (
    ("1988-5", "C reactive protein", "mg/L", 160, 40),
    ("2276-4", "Ferritin", "ng/mL", 2400, 500),
    ("26881-3", "Interleukin 6", "pg/mL", 220, 60),
    ("1742-6", "ALT", "U/L", 58, 15),
    ("1920-8", "AST", "U/L", 64, 15),
    ("1975-2", "Total bilirubin", "mg/dL", 1.1, 0.3),
    ("2160-0", "Creatinine", "mg/dL", 1.3, 0.2),
    ("3255-7", "Fibrinogen", "mg/dL", 420, 60),
)
NOREPINEPHRINE_RATES = (2, 4, 6, 8, 10, 12)  # ug/min


@dataclass
class BenchPatient:
    pid: str
    patient: dict[str, Any]
    observations: list[dict[str, Any]]
    administrations: list[dict[str, Any]]
    vitals_every: timedelta  # interval between two charted sets of vital signs

    @property
    def resources(self) -> list[dict[str, Any]]:
        return [self.patient, *self.observations, *self.administrations]


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds").replace("+00:00", "Z")


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _observation(
    pid: str, oid: str, category: str, code: str, display: str, value: float, unit: str, at: str
) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": category}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": at,
        "valueQuantity": _quantity(value, unit),
    }


def _administration(
    pid: str, aid: str, drug: str, rxnorm: str, dosage: dict[str, Any], **when: Any
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": aid,
        "status": "completed",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": rxnorm, "display": drug}],
            "text": drug,
        },
        "subject": {"reference": f"Patient/{pid}"},
        **when,
        "dosage": dosage,
    }


def build_patient(
    n_obs: int, n_admin: int = 50, now: datetime | None = None, seed: int = 7
) -> BenchPatient:
    """`n_obs` Observations (at least 20) and `n_admin` MedicationAdministrations (at least 2)
    for patient `bench-<n_obs>`, the latest a few minutes before `now`."""
    if n_obs < 20 or n_admin < 2:
        raise ValueError("the bench patient needs at least 20 Observations and 2 administrations")
    rnd = random.Random(seed)
    pid = f"bench-{n_obs}"
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    end = now - timedelta(minutes=3)
    start = end - SPAN
    obs: list[dict[str, Any]] = []

    def add(category: str, code: str, display: str, value: float, unit: str, t: datetime) -> None:
        oid = f"{pid}-obs-{len(obs)}"
        obs.append(_observation(pid, oid, category, code, display, value, unit, _iso(t)))

    add("vital-signs", "29463-7", "Body weight", 78.0, "kg", start + timedelta(hours=2))
    # labs every six hours, as many as fit in a tenth of the budget (at least one draw)
    draws = max(1, min(int(SPAN / LAB_EVERY), (n_obs // 10) // len(LABS)))
    for d in range(draws):
        t = end - LAB_EVERY * (draws - 1 - d) - timedelta(minutes=30)
        for code, display, unit, mean, spread in LABS:
            value = round(max(0.1, rnd.gauss(mean, spread)), 1)
            add("laboratory", code, display, value, unit, t)
    # vital signs: the rest, in sets charted at one interval, the last set at `end` (the
    # oldest set is cut short when the count does not divide evenly)
    left = n_obs - len(obs)
    sets = -(-left // len(VITALS))
    every = SPAN / max(1, sets - 1)
    skip = sets * len(VITALS) - left
    for s in range(sets):
        t = end - every * (sets - 1 - s)
        for code, display, unit, mean, spread in VITALS:
            if skip:
                skip -= 1
                continue
            add("vital-signs", code, display, round(rnd.gauss(mean, spread / 2), 1), unit, t)

    admins = [
        _administration(
            pid,
            f"{pid}-ma-0",
            "pembrolizumab 200 mg/8 mL injection (Keytruda)",
            "1547545",
            {"dose": _quantity(200, "mg")},
            effectiveDateTime=_iso(now - timedelta(days=12)),
        )
    ]
    segment = SPAN / (n_admin - 1)
    for j in range(1, n_admin):
        seg_start = start + segment * (j - 1)
        admins.append(
            _administration(
                pid,
                f"{pid}-ma-{j}",
                "norepinephrine 4 mg in 250 mL infusion",
                "7512",
                {"rateQuantity": _quantity(rnd.choice(NOREPINEPHRINE_RATES), "ug/min")},
                effectivePeriod={"start": _iso(seg_start), "end": _iso(seg_start + segment)},
            )
        )
    admins[-1]["status"] = "in-progress"
    del admins[-1]["effectivePeriod"]["end"]
    patient = {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"family": "Bench", "given": [f"Patient{n_obs}"]}],
        "gender": "female",
        "birthDate": "1961-04-02",
    }
    return BenchPatient(pid, patient, obs, admins, every)


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


def prefetch(p: BenchPatient, baseline_codes: set[str] | None = None) -> dict[str, Any]:
    """The full prefetch of every key the services declare, as an EHR would fill it:
    `baselineLabs` holds the Observations whose `system|code` is in `baseline_codes` (all of
    them when None), at most 200 as the template's `_count` says."""

    def baseline(o: dict[str, Any]) -> bool:
        coding = o["code"]["coding"][0]
        return baseline_codes is None or f"{coding['system']}|{coding['code']}" in baseline_codes

    labs = [o for o in p.observations if baseline(o)][:200]
    empty = searchset([])
    return {
        "patient": p.patient,
        "observations": searchset(p.observations),
        "baselineLabs": searchset(labs),
        "medicationRequests": empty,
        "medicationAdministrations": searchset(p.administrations),
        "medicationStatements": empty,
        "conditions": empty,
        "oxygenProcedures": empty,
        "devices": empty,
        "allergies": empty,
    }


def transaction(p: BenchPatient) -> dict[str, Any]:
    """A FHIR transaction Bundle that PUTs every resource (loading it twice is harmless)."""
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{r['id']}",
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in p.resources
        ],
    }


def draft_order(pid: str, drug: str = "tocilizumab") -> dict[str, Any]:
    """A draft MedicationRequest as the demo EHR sends it in `context.draftOrders`:
    tocilizumab 1000 mg IV once (more than the plan for 78 kg) or pembrolizumab 200 mg."""
    rxnorm, mg = {"tocilizumab": ("612865", 1000), "pembrolizumab": ("1547545", 200)}[drug]
    return {
        "resourceType": "MedicationRequest",
        "id": f"draft-{drug}",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": rxnorm, "display": drug}],
            "text": drug,
        },
        "subject": {"reference": f"Patient/{pid}"},
        "requester": {"reference": "Practitioner/bench"},
        "dosageInstruction": [
            {
                "text": f"{drug} {mg} mg IV once",
                "route": {"text": "intravenous"},
                "doseAndRate": [{"doseQuantity": _quantity(mg, "mg")}],
            }
        ],
    }


def oxygen_flow(pid: str, lpm: float, now: datetime | None = None) -> dict[str, Any]:
    """An inhaled oxygen flow being charted now (org.immunotox.observation-create)."""
    at = (now or datetime.now(UTC)).replace(microsecond=0)
    return _observation(
        pid,
        f"{pid}-charted-o2",
        "vital-signs",
        "3151-8",
        "Inhaled oxygen flow rate",
        lpm,
        "L/min",
        _iso(at),
    )
