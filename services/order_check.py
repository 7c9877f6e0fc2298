"""Check draft orders against an `Assessment`: pure functions, no web framework.

Three checks (tables and citations in `services.knowledge.orders`):
- a checkpoint-inhibitor draft while an irAE finding says hold or discontinue;
- a tocilizumab, corticosteroid or immune globulin draft whose dose disagrees with the plan's
  dose for this weight, or exceeds the plan's cap;
- a checkpoint-inhibitor draft, first exposure, with no baseline work-up on record.

Inputs are FHIR R4 JSON dicts (the `draftOrders` Bundle and the patient's resources) and the
`Assessment` built from those resources. Outputs are `OrderFinding`s the card layer renders.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.knowledge import orders as K
from services.knowledge.codes import UCUM, DrugConcept, match_drug
from services.model import Assessment, Dose, IraeFinding, Recommendation
from services.timeutil import parse_instant

_ACTION_RANK = {"discontinue": 2, "hold": 1}
_INACTIVE_ORDER = {"cancelled", "entered-in-error", "stopped", "completed", "revoked"}
_BAD_OBS = {"entered-in-error", "cancelled"}
_PERIOD_DAYS = {"s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.0}


@dataclass(frozen=True)
class DraftMed:
    """One draft MedicationRequest, with the drug it names and its dose in mg when readable."""

    id: str
    ref: str  # "MedicationRequest/<id>"
    resource: dict[str, Any]
    drug: DrugConcept
    dose_mg: float | None  # one administration
    doses_per_day: float | None
    dose_text: str  # as drafted, for display


@dataclass(frozen=True)
class OrderFinding:
    kind: str  # "checkpoint_hold" | "dose_mismatch" | "dose_over_cap" | "baseline_missing"
    draft: DraftMed
    irae: IraeFinding | None = None
    recommendation: Recommendation | None = None
    expected_mg: tuple[float, float] | None = None  # per administration, after caps
    corrected_dose_mg: float | None = None
    corrected_resource: dict[str, Any] | None = None
    assumed_once_daily: bool = False
    missing_baseline: tuple[K.BaselineItem, ...] = ()
    present_baseline: tuple[K.BaselineItem, ...] = ()
    notes: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------------------------
# Reading drafts
# --------------------------------------------------------------------------------------------


def _codings(cc: Any) -> tuple[list[tuple[str | None, str | None]], str]:
    if not isinstance(cc, dict):
        return [], ""
    raw = cc.get("coding")
    coding = [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
    codings = [(c.get("system"), c.get("code")) for c in coding]
    texts = [cc.get("text") or ""] + [c.get("display") or "" for c in coding]
    return codings, " ".join(t for t in texts if isinstance(t, str))


def _bundle_resources(bundle: Any) -> list[dict[str, Any]]:
    if not isinstance(bundle, dict):
        return []
    return [
        e["resource"]
        for e in bundle.get("entry") or []
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]


def _medication_concept(mr: dict[str, Any], others: list[dict[str, Any]]) -> DrugConcept | None:
    if "medicationCodeableConcept" in mr:
        codings, text = _codings(mr["medicationCodeableConcept"])
        return match_drug(codings, text)
    ref = (mr.get("medicationReference") or {}).get("reference")
    if not isinstance(ref, str):
        return None
    candidates: list[dict[str, Any]] = []
    if ref.startswith("#"):
        candidates = [c for c in mr.get("contained") or [] if c.get("id") == ref[1:]]
    else:
        rid = ref.rsplit("/", 1)[-1]
        candidates = [
            r for r in others if r.get("resourceType") == "Medication" and r.get("id") == rid
        ]
    for med in candidates:
        codings, text = _codings(med.get("code"))
        hit = match_drug(codings, text)
        if hit:
            return hit
    display = (mr.get("medicationReference") or {}).get("display") or ""
    return match_drug([], display) if display else None


def _to_mg(value: Any, unit: Any, weight_kg: float | None) -> float | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not isinstance(unit, str):
        return None
    u = unit.strip().lower().replace(" ", "")
    per_kg = u.endswith("/kg")
    if per_kg:
        u = u[: -len("/kg")]
    factor = K.MASS_TO_MG.get(u)
    if factor is None:
        return None
    mg = float(value) * factor
    if per_kg:
        if weight_kg is None:
            return None
        mg *= weight_kg
    return mg


def _dose_of(dosage: dict[str, Any], weight_kg: float | None) -> tuple[float | None, str]:
    for dr in dosage.get("doseAndRate") or []:
        q = dr.get("doseQuantity")
        if isinstance(q, dict):
            unit = q.get("code") or q.get("unit")
            return _to_mg(q.get("value"), unit, weight_kg), f"{q.get('value')} {unit}"
        rng = dr.get("doseRange")
        if isinstance(rng, dict) and isinstance(rng.get("high"), dict):
            hi = rng["high"]
            unit = hi.get("code") or hi.get("unit")
            return _to_mg(hi.get("value"), unit, weight_kg), f"up to {hi.get('value')} {unit}"
    return None, dosage.get("text") or "no structured dose"


def _doses_per_day(dosage: dict[str, Any]) -> float | None:
    rep = ((dosage.get("timing") or {}).get("repeat")) or {}
    freq = rep.get("frequency")
    period = rep.get("period")
    unit = rep.get("periodUnit")
    if not isinstance(freq, (int, float)) or not isinstance(period, (int, float)) or period <= 0:
        return None
    days = _PERIOD_DAYS.get(unit or "")
    if days is None:
        return None
    return float(freq) / (float(period) * days)


def read_drafts(draft_orders: Any, weight_kg: float | None) -> list[DraftMed]:
    """The draft MedicationRequests in a `draftOrders` Bundle that name a known drug."""
    resources = _bundle_resources(draft_orders)
    out: list[DraftMed] = []
    for r in resources:
        if r.get("resourceType") != "MedicationRequest" or r.get("status") in _INACTIVE_ORDER:
            continue
        rid = r.get("id")
        if not isinstance(rid, str) or not re.match(r"^[A-Za-z0-9\-.]{1,64}$", rid):
            continue
        drug = _medication_concept(r, resources)
        if drug is None:
            continue
        dosage = (r.get("dosageInstruction") or [{}])[0]
        if not isinstance(dosage, dict):
            dosage = {}
        mg, text = _dose_of(dosage, weight_kg)
        out.append(
            DraftMed(rid, f"MedicationRequest/{rid}", r, drug, mg, _doses_per_day(dosage), text)
        )
    return out


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def _worst_stop(assessment: Assessment) -> IraeFinding | None:
    stops = [f for f in assessment.irae if f.checkpoint_inhibitor_action in _ACTION_RANK]
    if not stops:
        return None
    return max(
        stops,
        key=lambda f: (_ACTION_RANK[f.checkpoint_inhibitor_action or ""], f.grade or 0),
    )


def _dose_bounds_mg(dose: Dose) -> tuple[float, float] | None:
    unit = dose.unit.lower()
    base = unit[:-2] if unit.endswith("/d") else unit
    factor = K.MASS_TO_MG.get(base)
    if factor is None:
        return None
    if dose.value is not None:
        return dose.value * factor, dose.value * factor
    if dose.low is not None and dose.high is not None:
        return dose.low * factor, dose.high * factor
    return None


def _per_day(dose: Dose) -> bool:
    return dose.unit.lower().endswith("/d")


def _agrees(ordered: float, lo: float, hi: float, capped: bool) -> bool:
    tol = K.DOSE_TOLERANCE_FRACTION
    upper = hi if capped else hi * (1 + tol)
    return lo * (1 - tol) <= ordered <= upper + 1e-9


def _with_dose(resource: dict[str, Any], mg: float) -> dict[str, Any]:
    updated = copy.deepcopy(resource)
    dosages = updated.get("dosageInstruction") or [{}]
    first = dict(dosages[0]) if isinstance(dosages[0], dict) else {}
    first["doseAndRate"] = [
        {
            "type": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/dose-rate-type",
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


def _check_dose(draft: DraftMed, assessment: Assessment) -> OrderFinding | None:
    recs = [r for r in assessment.recommendations if r.drug == draft.drug.name and r.dose]
    if not recs or draft.dose_mg is None:
        return None
    per_dose = draft.dose_mg
    daily_known = draft.doses_per_day is not None
    n = draft.doses_per_day or 1.0
    for r in recs:
        bounds = _dose_bounds_mg(r.dose)  # type: ignore[arg-type]
        if bounds is None:
            continue
        ordered = per_dose * n if _per_day(r.dose) else per_dose  # type: ignore[arg-type]
        if _agrees(ordered, bounds[0], bounds[1], r.dose.capped):  # type: ignore[union-attr]
            return None
    primary = next((r for r in recs if r.alternative_to is None), recs[0])
    bounds = _dose_bounds_mg(primary.dose)  # type: ignore[arg-type]
    if bounds is None:
        return None
    lo, hi = bounds
    per_day = _per_day(primary.dose)  # type: ignore[arg-type]
    ordered = per_dose * n if per_day else per_dose
    target = min(max(ordered, lo), hi)
    corrected = target / n if per_day else target
    over_cap = bool(primary.dose and primary.dose.capped and ordered > hi)
    return OrderFinding(
        kind="dose_over_cap" if over_cap else "dose_mismatch",
        draft=draft,
        recommendation=primary,
        expected_mg=(lo / n, hi / n) if per_day else (lo, hi),
        corrected_dose_mg=corrected,
        corrected_resource=_with_dose(draft.resource, corrected),
        assumed_once_daily=per_day and not daily_known,
    )


def _obs_time(o: dict[str, Any]) -> datetime | None:
    for key in ("effectiveDateTime", "effectiveInstant", "issued"):
        t = parse_instant(o.get(key))
        if t:
            return t
    period = o.get("effectivePeriod")
    if not isinstance(period, dict):
        return None
    return parse_instant(period.get("start")) or parse_instant(period.get("end"))


def _baseline_present(resources: list[dict[str, Any]], at: datetime) -> set[str]:
    since = at - timedelta(days=K.BASELINE_LOOKBACK_DAYS)
    by_code = {code: item.id for item in K.BASELINE_WORKUP for code in item.codes}
    terms = [(item.id, t) for item in K.BASELINE_WORKUP for t in item.terms]
    present: set[str] = set()
    for o in resources:
        if not isinstance(o, dict) or o.get("resourceType") != "Observation":
            continue
        status = o.get("status")
        if not isinstance(status, str | None) or status in _BAD_OBS:
            continue  # a malformed status is not read as final
        t = _obs_time(o)
        if t is None or t < since or t > at + timedelta(days=1):
            continue
        codings, text = _codings(o.get("code"))
        hit = False
        for system, code in codings:
            item = by_code.get(f"{system}|{code}")
            if item:
                present.add(item)
                hit = True
        if not hit and text:
            low = text.lower()
            for item_id, term in terms:
                if re.search(r"(?<![a-z0-9])" + re.escape(term) + r"(?![a-z0-9])", low):
                    present.add(item_id)
    return present


def _prior_checkpoint_exposure(assessment: Assessment, draft_refs: set[str]) -> bool:
    return any(
        any(ref not in draft_refs for ref in e.refs) for e in assessment.checkpoint_inhibitors
    )


def check_orders(
    draft_orders: Any,
    assessment: Assessment,
    resources: list[dict[str, Any]],
    at: datetime | None = None,
) -> list[OrderFinding]:
    """Findings for the drafts in `draft_orders`, in the order of the drafts."""
    at = at or assessment.at
    weight = assessment.weight.kg if assessment.weight else None
    drafts = read_drafts(draft_orders, weight)
    draft_refs = {d.ref for d in drafts}
    stop = _worst_stop(assessment)
    present: set[str] | None = None
    findings: list[OrderFinding] = []
    for d in drafts:
        if d.drug.drug_class == "checkpoint_inhibitor":
            if stop is not None:
                findings.append(OrderFinding("checkpoint_hold", d, irae=stop))
                continue
            if _prior_checkpoint_exposure(assessment, draft_refs):
                continue
            if present is None:
                present = _baseline_present(resources, at)
            missing = tuple(i for i in K.BASELINE_WORKUP if i.id not in present)
            if missing:
                findings.append(
                    OrderFinding(
                        "baseline_missing",
                        d,
                        missing_baseline=missing,
                        present_baseline=tuple(i for i in K.BASELINE_WORKUP if i.id in present),
                    )
                )
        elif d.drug.drug_class in K.DOSE_CHECK_CLASSES:
            f = _check_dose(d, assessment)
            if f is not None:
                findings.append(f)
    return findings
