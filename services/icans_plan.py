"""The ICANS plan (ASCO 2021 immune effector cell guideline, Table 2): which rows of
`knowledge.icans.PLAN` apply to this grade, with or without concurrent CRS; doses from
`knowledge.dosing` through the management plan's dosing. Tocilizumab only with CRS."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from services.knowledge import codes
from services.knowledge import icans as K
from services.management import _TOCI_NO_DOSE, _band_text, _Plan, _split
from services.model import (
    IcansResult,
    PatientData,
    Recommendation,
    TocilizumabCourse,
    Weight,
)

FOR = ("icans",)


def _tocilizumab_given_since(data: PatientData, since: datetime | None, at: datetime) -> bool:
    return any(
        d.drug == "tocilizumab"
        and d.kind == "administration"
        and d.time is not None
        and (since is None or d.time >= since)
        and d.time <= at
        for d in data.drugs
    )


def _therapy_time(data: PatientData, agent: str | None, at: datetime) -> datetime | None:
    times = [
        d.time
        for d in data.drugs
        if d.drug == agent and d.time is not None and d.time <= at and d.kind != "order"
    ]
    return max(times) if times else None


def plan(
    data: PatientData,
    at: datetime,
    weight: Weight | None,
    age: float | None,
    result: IcansResult | None,
    crs_grade: int | None,
    existing: list[Recommendation] | None = None,
    *,
    toci_course: TocilizumabCourse | None = None,
) -> list[Recommendation]:
    """`crs_grade`: the primary CRS grade now (0 or None: no concurrent CRS). `existing`: the
    plan so far; when it already offers a corticosteroid to sign, the ICANS corticosteroid
    lines are shown as an alternative, never as a second order, and when it already offers
    tocilizumab the ICANS line points to it. `toci_course`: the tocilizumab doses of this CRS
    episode (`services.courses`), which decide whether the ICANS line proposes a dose now."""
    if result is None or not result.applies or not result.grade:
        return []
    if data.deceased and (data.deceased_time is None or data.deceased_time <= at):
        return []
    g = result.grade
    with_crs = bool(crs_grade)
    domains = {c.id.split(".")[1] for c in result.criteria}
    toci_given = _tocilizumab_given_since(data, _therapy_time(data, result.agent, at), at)
    p = _Plan(weight, age, at)
    engager = codes.drug_by_name(result.agent) if result.agent else None
    if engager is not None and engager.drug_class == "bispecific":
        p.advice(
            f"engager.hold_icans.{engager.name}",
            "cancer_therapy",
            K.ENGAGER_HOLD_ICANS[0].format(drug=engager.name),
            K.ENGAGER_HOLD_ICANS[1],
            FOR,
            drug=engager.name,
            urgency="urgent",
            dose_missing_reason=f"No dose: this line is about whether to give {engager.name}",
        )
    steroid_row: tuple[str, str | None] | None = None  # (id, when) of the dexamethasone line
    steroid_ordered = any(
        r.drug in K.STEROID_DRUGS and r.dose is not None and r.when is None for r in existing or ()
    )
    for row in K.PLAN:
        if not row.min_grade <= min(g, 4) <= row.max_grade:
            continue
        if row.crs == "with" and (not with_crs or (crs_grade or 0) < row.crs_min):
            continue
        if row.crs == "without" and with_crs:
            continue
        if row.domain is not None and row.domain not in domains:
            continue
        if row.course_regimen is not None:
            _course_line(p, row, g, existing or [], toci_course, weight, age)
            continue
        when = row.when
        source = row.source
        if row.after_tocilizumab and toci_given:
            when = None
        elif row.after_tocilizumab and result.agent in K.EARLY_STEROID_PRODUCTS:
            # Earlier corticosteroids are recommended for this product: not held back.
            when = None
            source += f"; {K.EARLY_STEROID_SOURCE}"
        if row.regimen is not None and steroid_ordered and row.alternative_to is None:
            when = K.STEROID_WITH_CRS_PLAN
        if row.regimen is not None:
            alt = None
            if row.alternative_to is not None:
                if steroid_row is None:
                    continue
                alt, when = steroid_row
            p.drug(
                row.regimen,
                FOR,
                urgency=row.urgency,
                key=row.id,
                source=source
                + (
                    f"; {K.STEROID_WITH_CRS_PLAN_SOURCE}" if when == K.STEROID_WITH_CRS_PLAN else ""
                ),
                alternative_to=alt,
                when=when,
            )
            if row.regimen == "dexamethasone.icans":
                steroid_row = (row.id, when)
            continue
        p.items[row.id] = _row_line(row, when)
    return list(p.items.values())


def _course_line(
    p: _Plan,
    row: K.PlanRow,
    grade: int,
    existing: list[Recommendation],
    course: TocilizumabCourse | None,
    weight: Weight | None,
    age: float | None,
) -> None:
    """Tocilizumab for ICANS with concurrent CRS: the CRS line's order when the CRS plan has one
    (one order for both), otherwise the label dose within the course (doses already given, the
    interval, the maximum), or why no dose now."""
    reg = row.course_regimen
    assert reg is not None
    urgency = "urgent" if grade >= 3 else row.urgency
    crs_line = next((r for r in existing if r.id == reg and "crs" in r.for_irae), None)
    if crs_line is not None:
        p.items[row.id] = Recommendation(
            id=row.id,
            category=row.category,
            text=f"{row.text}. {K.TOCI_IN_CRS_LINE[0]}",
            sources=_split(f"{row.source}; {K.TOCI_IN_CRS_LINE[1]}"),
            drug=row.drug,
            dose_missing_reason=K.TOCI_IN_CRS_LINE[2],
            for_irae=FOR,
            urgency=urgency,
        )
        return
    if course is None or course.status in ("due", "no_improvement"):
        label = _band_text(reg, weight, age)
        p.drug(
            reg,
            FOR,
            key=row.id,
            urgency=urgency,
            source=row.source,
            text=(f"{label}. {row.text}" + (f". {course.text}" if course else ""))
            if label
            else None,
        )
        return
    p.items[row.id] = Recommendation(
        id=row.id,
        category=row.category,
        text=f"{row.text}. {course.text}",
        sources=_split("; ".join((row.source, *course.sources))),
        drug=row.drug,
        dose_missing_reason=_TOCI_NO_DOSE.get(course.status, course.text),
        for_irae=FOR,
        urgency=urgency,
    )


def reconcile(recs: list[Recommendation], result: IcansResult | None) -> list[Recommendation]:
    """With ICANS graded, the CRS grade-1 line ('no immunosuppression') says it is about CRS
    alone and that the ICANS lines govern immunosuppression."""
    if result is None or not result.applies or not result.grade:
        return recs
    text, source = K.CRS_G1_WITH_ICANS
    return [
        replace(
            r,
            text=text.format(grade=result.grade),
            sources=tuple(dict.fromkeys((*r.sources, *_split(source)))),
        )
        if r.id == "crs.symptomatic"
        else r
        for r in recs
    ]


def iec_hs_plan(
    data: PatientData, at: datetime, result: IcansResult | None
) -> list[Recommendation]:
    """The lines of `knowledge.icans.HS_PLAN` when the IEC-HS screen is positive (a flag, not a
    diagnosis: the lines say what to consider)."""
    hs = result.iec_hs if result is not None else None
    if not hs or not hs.get("flag"):
        return []
    if data.deceased and (data.deceased_time is None or data.deceased_time <= at):
        return []
    fired = {c["id"] for c in hs["criteria"]}
    return [
        _row_line(row, row.when)
        for row in K.HS_PLAN
        if row.criterion is None or row.criterion in fired
    ]


def adjust(
    recs: list[Recommendation], data: PatientData, at: datetime, result: IcansResult | None
) -> list[Recommendation]:
    """The ICANS lines said for this patient: no lumbar puncture suggested when cerebral oedema
    or raised intracranial pressure is recorded; the seizure-prophylaxis line says which
    antiseizure drug was already given; a child assessed with the CAPD is monitored with it."""
    if result is None or not result.applies or not result.grade:
        return recs
    domains = {c.id.split(".")[1] for c in result.criteria}
    given = sorted(
        {
            d.drug
            for d in data.drugs
            if d.kind == "administration"
            and d.time is not None
            and d.time <= at
            and (c := codes.drug_by_name(d.drug)) is not None
            and c.drug_class == "antiseizure"
        }
    )
    out = []
    for r in recs:
        if r.id == "icans.lumbar_puncture" and "icp" in domains:
            text, source = K.LP_WITHHELD
            r = replace(r, text=text, sources=_split(source), service=None)
        elif r.id == "icans.seizure_prophylaxis" and given:
            text, source = K.SEIZURE_DRUG_GIVEN
            r = replace(
                r,
                text=text.format(drugs=", ".join(given)),
                sources=_split(source),
                drug=None,
                dose_missing_reason=None,
            )
        elif r.id == "icans.monitor" and result.tool == "capd":
            r = replace(
                r,
                text=r.text.replace(K.MONITOR_TOOL["ice"], K.MONITOR_TOOL["capd"]),
                sources=tuple(dict.fromkeys((*r.sources, *_split(K.MONITOR_TOOL_SOURCE)))),
            )
        out.append(r)
    return out


def _row_line(row: K.PlanRow | K.HsPlanRow, when: str | None) -> Recommendation:
    """A plan line without a dose, as its knowledge row words it."""
    return Recommendation(
        id=row.id,
        category=row.category,
        text=row.text,
        sources=_split(row.source),
        drug=row.drug,
        dose_missing_reason=row.no_dose,
        for_irae=FOR,
        urgency=row.urgency,
        service=row.service,
        when=when,
    )
