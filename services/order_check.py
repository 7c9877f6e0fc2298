"""Check draft orders against an `Assessment`: pure functions, no web framework.

The checks (tables and citations in `services.knowledge.orders` and `knowledge.courses`):
- a checkpoint-inhibitor draft while an irAE finding says hold or discontinue;
- a draft above a label or guideline maximum (tocilizumab above 800 mg per infusion, the
  per-dose and daily maxima of the drugs the plan doses): critical, with or without a weight;
- a tocilizumab draft the course does not allow (the maximum number of doses reached, or
  sooner than the interval after the last dose): critical;
- a tocilizumab, corticosteroid or immune globulin draft whose dose disagrees with the plan's
  dose for this weight (a lower corticosteroid dose that is the next step of a taper in
  progress is not a disagreement);
- a dose that cannot be checked (a unit that is not a mass, a tablet count without a known
  strength, a per-kg dose or plan without a weight): an info finding that says why;
- a checkpoint-inhibitor draft, first exposure, with no baseline work-up on record.

Drafts are read by `services.fhir_adapter.read_draft_orders` (the one FHIR reader) into
`DraftOrder`s; outputs are `OrderFinding`s the card layer renders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.fhir_adapter import read_draft_orders
from services.fhir_writer import draft_with_dose
from services.format import num
from services.irae import strictest_action
from services.knowledge import orders as K
from services.knowledge.codes import drug_by_name
from services.model import Assessment, Dose, DraftOrder, IraeFinding, Recommendation
from services.timeutil import parse_instant

_BAD_OBS = {"entered-in-error", "cancelled"}


@dataclass(frozen=True)
class OrderFinding:
    # "checkpoint_hold" | "dose_over_max" | "course_limit" | "dose_mismatch" | "dose_over_cap"
    # | "dose_unchecked" | "taper_too_fast" | "baseline_missing"
    kind: str
    draft: DraftOrder
    irae: IraeFinding | None = None
    recommendation: Recommendation | None = None
    expected_mg: tuple[float, float] | None = None  # per administration, after caps
    corrected_dose_mg: float | None = None
    corrected_resource: dict[str, Any] | None = None
    assumed_once_daily: bool = False
    missing_baseline: tuple[K.BaselineItem, ...] = ()
    present_baseline: tuple[K.BaselineItem, ...] = ()
    notes: tuple[str, ...] = field(default=())
    maximum: K.DoseMaximum | None = None  # dose_over_max: the row exceeded
    ordered_mg: float | None = None  # dose_over_max: per the row's period (dose, day, course)
    limit_mg: float | None = None  # dose_over_max: the row's limit for this patient
    reason: str | None = None  # course_limit, dose_unchecked: why, in words
    sources: tuple[str, ...] = ()


def _codings(cc: Any) -> tuple[list[tuple[str | None, str | None]], str]:
    if not isinstance(cc, dict):
        return [], ""
    raw = cc.get("coding")
    coding = [c for c in raw if isinstance(c, dict)] if isinstance(raw, list) else []
    codings = [(c.get("system"), c.get("code")) for c in coding]
    texts = [cc.get("text") or ""] + [c.get("display") or "" for c in coding]
    return codings, " ".join(t for t in texts if isinstance(t, str))


def read_drafts(
    draft_orders: Any, weight_kg: float | None, contained_in: Any = ()
) -> list[DraftOrder]:
    """The draft MedicationRequests in a `draftOrders` Bundle that name a known drug."""
    return read_draft_orders(draft_orders, weight_kg, contained_in)


# --------------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------------


def _worst_stop(assessment: Assessment) -> IraeFinding | None:
    return strictest_action(assessment.irae, at_least="hold")


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


def _check_dose(
    draft: DraftOrder, assessment: Assessment, *, force: bool = False
) -> OrderFinding | None:
    """A finding when the draft disagrees with every dosed plan line for the drug; `force`: the
    correction to the plan's primary line even when the draft agrees with one of them."""
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
        if not force and _agrees(ordered, bounds[0], bounds[1], r.dose.capped):  # type: ignore[union-attr]
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
        corrected_resource=draft_with_dose(draft.resource, corrected),
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


def _planned(assessment: Assessment, drug: str) -> list[Recommendation]:
    return [r for r in assessment.recommendations if r.drug == drug]


def _maxima(
    draft: DraftOrder, assessment: Assessment, weight: float | None
) -> tuple[OrderFinding | None, list[str]]:
    """The strictest maximum the draft exceeds (None if none), and the maxima that could not
    be checked, in words."""
    drug = draft.drug.name
    planned = bool(_planned(assessment, drug))
    over: list[tuple[float, K.DoseMaximum, float]] = []
    unchecked: list[str] = []
    per_day = draft.doses_per_day or 1.0
    for m in K.DOSE_MAXIMA:
        if m.drug != drug or not (m.always or planned):
            continue
        if m.mg_per_kg is not None:
            if weight is None:
                unchecked.append(f"{m.text}: no body weight recorded")
                continue
            if m.min_weight_kg is not None and weight < m.min_weight_kg:
                continue
            if m.max_weight_kg is not None and weight >= m.max_weight_kg:
                continue
            limit = m.mg_per_kg * weight
            allowed = limit * (1 + K.DOSE_TOLERANCE_FRACTION)  # vial and tablet rounding
        else:
            limit = allowed = m.mg or 0.0
        ordered = draft.dose_mg * per_day if m.per == "day" else draft.dose_mg  # type: ignore[operator]
        if ordered > allowed + 1e-9:
            over.append((limit, m, ordered))
    if not over:
        return None, unchecked
    # The absolute (label) maximum first when it is exceeded; the others are named too.
    over.sort(key=lambda x: (x[1].mg is None, x[0]))
    limit, m, ordered = over[0]
    also = tuple(f"{num(lim)} mg: {row.text}" for lim, row, _o in over[1:])
    fix = _check_dose(draft, assessment, force=True)
    corrected = None
    if fix is not None and fix.corrected_dose_mg is not None:
        per = fix.corrected_dose_mg * (per_day if m.per == "day" else 1.0)
        if per <= limit + 1e-9:
            corrected = fix
    return (
        OrderFinding(
            "dose_over_max",
            draft,
            recommendation=corrected.recommendation if corrected else None,
            expected_mg=corrected.expected_mg if corrected else None,
            corrected_dose_mg=corrected.corrected_dose_mg if corrected else None,
            corrected_resource=corrected.corrected_resource if corrected else None,
            maximum=m,
            ordered_mg=ordered,
            limit_mg=limit,
            sources=(m.source,),
            notes=also,
        ),
        unchecked,
    )


def _course_limit(draft: DraftOrder, assessment: Assessment, at: datetime) -> OrderFinding | None:
    course = assessment.courses.tocilizumab
    if draft.drug.name != "tocilizumab" or course is None or course.allows_dose_at(at):
        return None
    return OrderFinding("course_limit", draft, reason=course.text, sources=course.sources)


def _taper_step(draft: DraftOrder, assessment: Assessment) -> str | None:
    """For a corticosteroid draft while a taper is in progress: "step" when its daily dose
    continues the taper, "fast" when it drops below the next step, None otherwise."""
    course = assessment.courses.corticosteroid
    if draft.drug.drug_class != "corticosteroid" or course is None or not course.tapering:
        return None
    if draft.dose_mg is None or course.taper_low is None:
        return None
    daily = draft.dose_mg * (draft.doses_per_day or 1.0) * _pred_eq(draft.drug.name)
    if course.accepts_daily(daily, K.DOSE_TOLERANCE_FRACTION):
        return "step"
    if daily < course.taper_low * (1 - K.DOSE_TOLERANCE_FRACTION):
        return "fast"
    return None


def _pred_eq(drug: str) -> float:
    concept = drug_by_name(drug)
    return float(concept.extra.get("pred_eq", 1.0)) if concept else 1.0


def _taper_too_fast(draft: DraftOrder, assessment: Assessment) -> OrderFinding:
    course = assessment.courses.corticosteroid
    assert course is not None and course.taper_low is not None
    per_day = draft.doses_per_day or 1.0
    daily = draft.dose_mg * per_day * _pred_eq(draft.drug.name)  # type: ignore[operator]
    target = course.taper_low / _pred_eq(draft.drug.name) / per_day
    return OrderFinding(
        "taper_too_fast",
        draft,
        expected_mg=(target, target),
        corrected_dose_mg=target,
        corrected_resource=draft_with_dose(draft.resource, target),
        ordered_mg=daily,
        limit_mg=course.taper_low,
        assumed_once_daily=draft.doses_per_day is None,
        reason=(
            f"{num(daily)} mg/day prednisone-equivalent drops below the next taper step "
            f"({num(course.taper_low)} mg/day from {num(course.pred_eq_per_day or 0)} mg/day now)"
        ),
        notes=course.taper_lines,
        sources=tuple(x for x in course.sources if x.startswith("asco2021: 12.4")),
    )


def _unchecked(draft: DraftOrder, why: list[str]) -> OrderFinding:
    return OrderFinding("dose_unchecked", draft, reason="; ".join(why))


def _dose_findings(
    draft: DraftOrder, assessment: Assessment, weight: float | None, at: datetime
) -> list[OrderFinding]:
    out: list[OrderFinding] = []
    course = _course_limit(draft, assessment, at)
    if course is not None:
        out.append(course)
    planned = _planned(assessment, draft.drug.name)
    checked_at_all = bool(planned) or any(
        m.always and m.drug == draft.drug.name for m in K.DOSE_MAXIMA
    )
    if draft.dose_mg is None:
        if checked_at_all:
            out.append(_unchecked(draft, [draft.dose_problem or "the dose could not be read"]))
        return out
    over, unchecked = _maxima(draft, assessment, weight)
    if over is not None:
        out.append(over)
        return out
    step = _taper_step(draft, assessment)
    if step == "step":
        return out
    if step == "fast":
        out.append(_taper_too_fast(draft, assessment))
        return out
    mismatch = _check_dose(draft, assessment)
    if mismatch is not None:
        out.append(mismatch)
        return out
    if planned and not any(r.dose for r in planned):
        reasons = {r.dose_missing_reason for r in planned if r.dose_missing_reason}
        unchecked.append(
            "not compared with the plan: " + ("; ".join(sorted(reasons)) or "the plan has no dose")
        )
    if unchecked and not course:
        out.append(_unchecked(draft, unchecked))
    return out


def check_orders(
    draft_orders: Any,
    assessment: Assessment,
    resources: list[dict[str, Any]],
    at: datetime | None = None,
) -> list[OrderFinding]:
    """Findings for the drafts in `draft_orders`, in the order of the drafts."""
    at = at or assessment.at
    weight = assessment.weight.kg if assessment.weight else None
    meds = [r for r in resources if isinstance(r, dict) and r.get("resourceType") == "Medication"]
    drafts = read_drafts(draft_orders, weight, meds)
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
            findings.extend(_dose_findings(d, assessment, weight, at))
    return findings
