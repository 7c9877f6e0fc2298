"""The one entry point: FHIR resources in, an `Assessment` out. Cards, pages and the command
line are views of what this returns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from services import (
    allergy,
    attribution,
    courses,
    crs,
    fhir_adapter,
    icans,
    icans_plan,
    iec_hs,
    irae,
    management,
    timeline,
)
from services.knowledge import crs as KC
from services.knowledge.sources import RULESET_VERSION
from services.model import Assessment, Grades, IraeExclusion, PatientData, Weight
from services.timeutil import now


class InputError(ValueError):
    """Input that cannot be assessed at all (not a Bundle, no Patient)."""


def assess_bundle(
    doc: Any, at: datetime | None = None, *, crs_primary: str | None = None
) -> Assessment:
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        kind = doc.get("resourceType") if isinstance(doc, dict) else type(doc).__name__
        raise InputError(f"expected a FHIR Bundle, got {kind!r}")
    if not isinstance(doc.get("entry", []), list):
        raise InputError("Bundle.entry must be a list")
    resources = fhir_adapter.flatten([doc])
    if not any(r.get("resourceType") == "Patient" for r in resources):
        raise InputError("the Bundle holds no Patient resource")
    return assess(resources, at, crs_primary=crs_primary)


def primary_system(name: str | None) -> str:
    """The configured primary CRS system (IMMUNOTOX_CRS_PRIMARY), checked."""
    if not name:
        return KC.DEFAULT_PRIMARY
    key = name.strip().lower()
    if key not in KC.PRIMARY_SYSTEMS:
        raise ValueError(
            f"CRS primary system {name!r} is not one of {', '.join(KC.PRIMARY_SYSTEMS)}"
        )
    return key


def assess(
    resources: Iterable[Any],
    at: datetime | None = None,
    *,
    with_timeline: bool = True,
    crs_primary: str | None = None,
) -> Assessment:
    """`with_timeline=False` leaves `Assessment.timeline` empty: the trends are drawn only by
    the app, and a hook answering in milliseconds need not build them. `crs_primary`: the
    grading system whose grade drives the plan (default ASTCT 2019)."""
    at = at or now()
    data = fhir_adapter.to_patient_data(resources)
    return assess_data(data, at, with_timeline=with_timeline, crs_primary=crs_primary)


def assess_data(
    data: PatientData,
    at: datetime,
    *,
    with_timeline: bool = True,
    crs_primary: str | None = None,
) -> Assessment:
    primary = primary_system(crs_primary)
    weight = latest_weight(data, at)
    age = age_years(data, at)
    expos = irae.exposures(data, at)
    attr = attribution.attribute(data, at, expos)
    evaluation = crs.evaluate(data, at, None if attr.applies else attr.reason)
    crs_grade = evaluation.now[primary].grade if attr.applies else 0
    excluded: list[IraeExclusion] = []
    found = irae.findings(
        data, at, expos, evaluation.now, excluded, attribution=attr, primary=primary
    )
    course = courses.build(data, at, weight, evaluation.trajectory, crs_grade, found, expos)
    recs = management.plan(
        data,
        at,
        weight,
        age,
        expos,
        found,
        crs_grade,
        courses=course,
        attribution=attr,
        excluded=excluded,
    )
    icans_result = icans.evaluate(data, at, expos)
    if icans_result is not None and icans_result.applies:
        icans_result = replace(
            icans_result,
            other_causes=icans.other_causes(data, at, icans_result.onset),
        )
    if icans_result is not None:
        iec_hs.crs_phase(icans_result.iec_hs, crs_grade, attr.onset if attr.applies else None)
    recs += icans_plan.plan(
        data,
        at,
        weight,
        age,
        icans_result,
        crs_grade,
        recs,
        toci_course=course.tocilizumab if course else None,
    )
    recs = icans_plan.reconcile(recs, icans_result)
    recs = icans_plan.adjust(recs, data, at, icans_result)
    recs += icans_plan.iec_hs_plan(data, at, icans_result)
    recs = allergy.guard(recs, data.allergies)
    return Assessment(
        at=at,
        ruleset_version=RULESET_VERSION,
        age_years=int(age) if age is not None else None,
        weight=weight,
        deceased=data.deceased,
        crs=evaluation.now,
        crs_worst=evaluation.worst,
        trajectory=evaluation.trajectory,
        window_start=evaluation.window_start,
        exposures=expos,
        irae=found,
        irae_excluded=excluded,
        recommendations=recs,
        data_quality=[{"ref": ref, "problem": why} for ref, why in data.unreadable],
        disclaimer=KC.DISCLAIMER,
        timeline=timeline.build(data, evaluation.window_start, at, course) if with_timeline else {},
        courses=course,
        allergies=list(data.allergies),
        crs_attribution=attr,
        crs_primary_system=primary,
        crs_higher_than_primary=higher_than_primary(evaluation.now, primary)
        if attr.applies
        else [],
        icans=icans_result,
    )


def grades(data: PatientData, at: datetime, *, crs_primary: str | None = None) -> Grades:
    """The grades `assess_data` would give now (CRS under every system and the attribution,
    the irAEs, ICANS), without the plan, the courses, the trajectories or the timeline: for
    comparing two versions of a record (`services.changes`)."""
    primary = primary_system(crs_primary)
    expos = irae.exposures(data, at)
    attr = attribution.attribute(data, at, expos)
    now_ = crs.evaluate(data, at, None if attr.applies else attr.reason, trajectory=False).now
    found = irae.findings(data, at, expos, now_, [], attribution=attr, primary=primary)
    return Grades(
        at=at,
        crs=now_,
        crs_attribution=attr,
        crs_primary_system=primary,
        irae=found,
        icans=icans.evaluate(data, at, expos, trajectory=False),
    )


def higher_than_primary(now: dict[str, Any], primary: str) -> list[dict[str, Any]]:
    """The systems grading higher than the primary one, with why; their treatment lines are
    not added to the plan."""
    base = now[primary].grade
    out = []
    for system, r in now.items():
        if system == primary or r.grade is None or r.grade <= (base or 0):
            continue
        fired = list(dict.fromkeys(c.text for c in r.criteria if c.grade == r.grade))
        why = (
            f"its grade {r.grade} criterion: {'; '.join(fired)}" if fired else KC.WHY_HIGHER[system]
        )
        if base is None:
            why += f"; {KC.PRIMARY_UNGRADED}"
        out.append(
            {"system": system, "grade": r.grade, "why": why, "why_general": KC.WHY_HIGHER[system]}
        )
    return out


def latest_weight(data: PatientData, at: datetime) -> Weight | None:
    ws = [s for s in data.samples("weight") if s.time <= at]
    if not ws:
        return None
    s = ws[-1]
    stale = at - s.time > timedelta(days=KC.value("weight_max_age"))
    return Weight(kg=s.value, time=s.time, ref=s.ref, stale=stale)


def age_years(data: PatientData, at: datetime) -> float | None:
    if data.birth_date is None:
        return None
    b = data.birth_date
    d = at.date()
    years = d.year - b.year - ((d.month, d.day) < (b.month, b.day))
    return float(years)
