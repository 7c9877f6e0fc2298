"""The management plan for one patient: what to do with the checkpoint inhibitor, immunosuppression
dosed for this weight, consults, supportive care. Which rows apply is decided here; every dose,
cap and source is a row of `knowledge.dosing`, every drug action a row of `knowledge.irae`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services import format as fmt
from services import plan as irae_plan
from services.courses import when
from services.irae import current_ici
from services.knowledge import codes, dosing
from services.knowledge import courses as KCO
from services.knowledge import crs_plan as KCP
from services.knowledge import irae as KI
from services.model import (
    Courses,
    CrsAttribution,
    Dose,
    Exposure,
    IraeExclusion,
    IraeFinding,
    PatientData,
    Recommendation,
    SteroidCourse,
    TocilizumabCourse,
    Weight,
)

NO_WEIGHT = "No body weight recorded: weigh the patient to get a dose"


def dose_for(
    regimen: dosing.Regimen, weight: Weight | None, at: datetime | None = None
) -> tuple[Dose | None, str | None]:
    """Turn a regimen row into a dose for this weight, capped where the row caps it; a stale
    weight is named on the dose's basis with its date and age."""
    if regimen.per_kg_low is None:
        lo, hi = regimen.fixed_low, regimen.fixed_high
        if hi is None:
            return Dose(unit=regimen.unit, value=lo), None
        return Dose(unit=regimen.unit, low=lo, high=hi), None
    if weight is None:
        return None, NO_WEIGHT
    kg = weight.kg
    lo = regimen.per_kg_low * kg
    hi = regimen.per_kg_high * kg if regimen.per_kg_high is not None else None
    capped = False
    if regimen.cap is not None:
        if lo > regimen.cap:
            lo, capped = regimen.cap, True
        if hi is not None and hi > regimen.cap:
            hi, capped = regimen.cap, True
    per = f"{_n(regimen.per_kg_low)}" + (
        f"-{_n(regimen.per_kg_high)}" if regimen.per_kg_high else ""
    )
    basis = f"{per} {fmt.per_kg(regimen.unit)} × {fmt.kg(kg)} kg"
    if weight.stale and weight.time is not None:
        days = (at - weight.time).days if at is not None else None
        basis += "; " + dosing.STALE_WEIGHT_BASIS[0].format(
            kg=fmt.kg(kg),
            date=f"{fmt.local(weight.time).day} {fmt.local(weight.time).strftime('%b %Y')}",
            days=days if days is not None else "?",
        )
    cap = f"{_n(regimen.cap)} {fmt.unit(regimen.unit)} ({regimen.cap_source})" if capped else None
    lo_r = _round_dose(lo, regimen.unit)
    if hi is None or _round_dose(hi, regimen.unit) == lo_r:
        return Dose(unit=regimen.unit, value=lo_r, basis=basis, capped=capped, cap=cap), None
    return Dose(
        unit=regimen.unit,
        low=lo_r,
        high=_round_dose(hi, regimen.unit),
        basis=basis,
        capped=capped,
        cap=cap,
    ), None


def _band_text(regimen_id: str, weight: Weight | None, age: float | None) -> str | None:
    """The text of the band that applies, or None when no band fits (`dosing.NoBand`)."""
    try:
        return dosing.select(regimen_id, weight.kg if weight else None, age).text
    except dosing.NoBand:
        return None


def _round_dose(v: float, unit: str) -> float:
    # Whole milligrams (mg, mg/d); grams to one decimal.
    return round(v, 1) if unit == "g" else float(round(v))


_n = fmt.exact  # a number quoted as the table gives it


class _Plan:
    def __init__(self, weight: Weight | None, age: float | None, at: datetime | None = None):
        self.weight = weight
        self.age = age
        self.at = at
        self.items: dict[str, Recommendation] = {}

    def drug(
        self,
        regimen_id: str,
        for_irae: tuple[str, ...],
        *,
        urgency: str = "routine",
        alternative_to: str | None = None,
        category: str = "immunosuppression",
        text: str | None = None,
        key: str | None = None,
        source: str | None = None,
        when: str | None = None,
    ) -> None:
        key = key or regimen_id
        try:
            reg = dosing.select(regimen_id, self.weight.kg if self.weight else None, self.age)
            dose, why = dose_for(reg, self.weight, self.at)
            reg_source = reg.source
        except dosing.NoBand as e:
            # No band fits this patient: every band's text, and the dose missing with the reason.
            rows = dosing.REGIMENS[regimen_id]
            reg, dose, why = rows[0], None, e.reason
            text = "; or ".join(r.text for r in rows)
            reg_source = "; ".join(dict.fromkeys(s for r in rows for s in _split(r.source)))
        cited = "; ".join(x for x in (source, reg_source) if x)
        if key in self.items:
            self._merge(key, for_irae, cited)
            return
        self.items[key] = Recommendation(
            id=key,
            category=category,
            text=text or reg.text,
            sources=_split(cited),
            drug=reg.drug,
            dose=dose,
            dose_missing_reason=why,
            route=reg.route,
            frequency=reg.frequency,
            duration=reg.duration,
            for_irae=for_irae,
            alternative_to=alternative_to,
            urgency=urgency,
            when=when,
        )

    def advice(
        self,
        rid: str,
        category: str,
        text: str,
        source: str,
        for_irae: tuple[str, ...],
        *,
        urgency: str = "routine",
        service: str | None = None,
        drug: str | None = None,
        dose_missing_reason: str | None = None,
        alternative_to: str | None = None,
    ) -> None:
        if rid in self.items:
            self._merge(rid, for_irae, source)
            return
        self.items[rid] = Recommendation(
            id=rid,
            category=category,
            text=text,
            sources=_split(source),
            drug=drug,
            dose=None,
            dose_missing_reason=dose_missing_reason,
            for_irae=for_irae,
            urgency=urgency,
            service=service,
            alternative_to=alternative_to,
        )

    def _merge(self, rid: str, for_irae: tuple[str, ...], source: str) -> None:
        old = self.items[rid]
        self.items[rid] = Recommendation(
            **{
                **{f: getattr(old, f) for f in old.__slots__},  # type: ignore[attr-defined]
                "for_irae": tuple(dict.fromkeys(old.for_irae + for_irae)),
                "sources": tuple(dict.fromkeys(old.sources + _split(source))),
            }
        )


def _split(source: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s.strip() for s in source.split(";") if s.strip()))


def plan(
    data: PatientData,
    at: datetime,
    weight: Weight | None,
    age: float | None,
    expos: list[Exposure],
    found: list[IraeFinding],
    crs_grade: int | None,
    courses: Courses | None = None,
    *,
    attribution: CrsAttribution | None = None,
    excluded: list[IraeExclusion] | None = None,
) -> list[Recommendation]:
    """`crs_grade`: the primary system's grade; `attribution`: whether CRS grading applies and
    to which therapy (the CRS plan only when it applies). A deceased patient gets no plan."""
    if data.deceased and (data.deceased_time is None or data.deceased_time <= at):
        return []
    crs_applies = attribution is None or attribution.applies
    p = _Plan(weight, age, at)
    toci = courses.tocilizumab if courses else None
    steroid_course = courses.corticosteroid if courses else None
    escalate = toci is not None and toci.status in ("no_improvement", "max_reached")
    ici = current_ici(expos, at)
    effector = [e for e in expos if e.drug_class in ("cellular_therapy", "bispecific")]
    kinds = {f.kind: f for f in found}
    neuro = [k for k in kinds if k in KI.NEUROLOGIC]

    # 1. The checkpoint inhibitor itself.
    acted = [f for f in found if f.checkpoint_inhibitor_action]
    if ici and acted:
        worst = max(acted, key=lambda f: KI.ACTION_ORDER[f.checkpoint_inhibitor_action])  # type: ignore[index]
        action = worst.checkpoint_inhibitor_action
        verb = {"discontinue": "Permanently discontinue", "hold": "Hold", "continue": "Continue"}[
            action
        ]  # type: ignore[index]
        for e in ici:
            p.advice(
                f"checkpoint_inhibitor.{action}.{e.drug}",
                "checkpoint_inhibitor",
                f"{verb} {e.drug} ({worst.action_reason[0].lower()}{worst.action_reason[1:]})",
                "; ".join(worst.sources),
                tuple(f.kind for f in acted),
                drug=e.drug,
                urgency="urgent" if action != "continue" else "routine",
                dose_missing_reason=f"No dose: this line is about whether to give {e.drug}",
            )
        if action == "hold":
            p.advice(
                "checkpoint_inhibitor.resume",
                "checkpoint_inhibitor",
                KI.RESUME_RULE[0],
                KI.RESUME_RULE[1],
                tuple(f.kind for f in acted),
            )

    # 1b. A T-cell engager behind the CRS: its label withholds it until CRS resolves.
    if (
        crs_applies
        and attribution is not None
        and attribution.drug_class == "bispecific"
        and attribution.agent
        and crs_grade is not None
        and crs_grade >= 1
    ):
        hold = KCP.ENGAGER_HOLD.get(attribution.agent)
        text, src = (
            (hold.text, hold.source)
            if hold
            else (
                KCP.ENGAGER_HOLD_UNREAD[0].format(drug=attribution.agent),
                KCP.ENGAGER_HOLD_UNREAD[1],
            )
        )
        p.advice(
            f"engager.hold.{attribution.agent}",
            "cancer_therapy",
            text,
            src,
            ("crs",),
            drug=attribution.agent,
            urgency="urgent",
            dose_missing_reason=f"No dose: this line is about whether to give {attribution.agent}",
        )

    # 2. CRS (Lee 2014 Figure 2): supportive care for every grade; immunosuppression by grade.
    if (
        crs_applies
        and crs_grade is not None
        and crs_grade >= 1
        and (ici or effector or "crs" in kinds)
    ):
        p.advice(
            "crs.supportive",
            "supportive",
            "Vigilant supportive care: fluids and blood-pressure support, antipyretics; treat presumed infection "
            "empirically (cultures, then antibiotics, above all with neutropenia) since fever and hypotension may be sepsis",
            "lee2014: Figure 2 and text",
            ("crs",),
        )
        if crs_grade == 1:
            p.advice(
                "crs.symptomatic",
                "supportive",
                "Grade 1: symptomatic treatment only; no immunosuppression",
                "lee2014: Figure 2",
                ("crs",),
            )
        if crs_grade == 2:
            p.advice(
                "crs.g2",
                "immunosuppression",
                "Grade 2: start immunosuppression if the patient is older or has extensive comorbidities; otherwise "
                "supportive care and close monitoring, watching cardiac function",
                "lee2014: Figure 2 and text",
                ("crs",),
            )
        if crs_grade >= 3:
            p.advice(
                "crs.icu",
                "consult",
                "Grade 3-4: immunosuppression for all; care in intensive care with close cardiac monitoring "
                "(echocardiography if cardiac dysfunction is suspected)",
                "lee2014: Figure 2 and text",
                ("crs",),
                urgency="urgent",
                service="Intensive care consult",
            )
        if crs_grade >= 2:
            refractory_first = (
                attribution.drug_class == "checkpoint_inhibitor"
                if attribution is not None
                else bool(ici) and not effector
            )
            # Tocilizumab: the label dose and the seed paper's dose, side by side.
            text_suffix = " if CRS is severe or steroid-refractory" if refractory_first else ""
            # Who says so besides the label: the seed Q&A for checkpoint-inhibitor CRS; for CRS
            # after CAR T cells or a T-cell engager, the ASCO 2021 CAR T guideline.
            toci_source = KCP.TOCILIZUMAB_SOURCE["ici" if refractory_first else "effector"]
            label_text = _band_text("tocilizumab.label", weight, age)
            if toci is None or toci.status in ("due", "no_improvement"):
                # What has been given decides whether a dose is proposed at all (the course).
                p.drug(
                    "tocilizumab.label",
                    ("crs",),
                    urgency="urgent" if crs_grade >= 3 else "routine",
                    category="immunosuppression",
                    source=toci_source,
                    # None when no band fits: p.drug then shows every band and why no dose
                    text=(label_text + text_suffix + (f". {toci.text}" if toci else ""))
                    if label_text
                    else None,
                )
                lee = KCO.TOCILIZUMAB_COURSE["tocilizumab.lee2014"]
                lee_next = (
                    toci.doses[-1].time + timedelta(hours=lee.min_interval_h) if toci else None
                )
                if lee_next is None or at >= lee_next:
                    p.drug("tocilizumab.lee2014", ("crs",), alternative_to="tocilizumab.label")
                else:
                    lee_text = _band_text("tocilizumab.lee2014", weight, age) or "; or ".join(
                        r.text for r in dosing.REGIMENS["tocilizumab.lee2014"]
                    )
                    p.advice(
                        "tocilizumab.lee2014",
                        "immunosuppression",
                        f"{lee_text}: not before {when(lee_next)} by this interval",
                        lee.source,
                        ("crs",),
                        drug="tocilizumab",
                        dose_missing_reason=_TOCI_NO_DOSE["wait"],
                        alternative_to="tocilizumab.label",
                    )
            else:
                p.advice(
                    "tocilizumab.label",
                    "immunosuppression",
                    toci.text,
                    "; ".join(toci.sources),
                    ("crs",),
                    drug="tocilizumab",
                    dose_missing_reason=_TOCI_NO_DOSE[toci.status],
                )
            if refractory_first or neuro:
                # Checkpoint-inhibitor CRS (seed case) and CRS with neurologic dysfunction: steroids first.
                p.drug(
                    "methylprednisolone.high",
                    ("crs",),
                    urgency="urgent" if crs_grade >= 3 else "routine",
                )
                p.drug("prednisone.taper", ("crs",))
            else:
                # CRS after CAR T cells or a T-cell engager: the ASCO 2021 CAR T corticosteroid
                # for this grade; Lee 2014's methylprednisolone beside it as the alternative.
                step = _effector_steroid(crs_grade, toci)
                refractory = escalate and _on_corticosteroid(steroid_course)
                if refractory and crs_grade < 4:
                    # "If refractory, manage as per G4".
                    regimen, src = KCP.REFRACTORY_STEROID
                    step = KCP.SteroidStep(regimen, crs_grade, True, None, src)
                if step is not None:
                    p.drug(
                        step.regimen,
                        ("crs",),
                        urgency="urgent" if crs_grade >= 3 or escalate else "routine",
                        source=step.source,
                        when=None if escalate else step.when,
                    )
                # With no corticosteroid step due yet (grade 2 before a tocilizumab trial), or a
                # conditional one, Lee's second-line steroid is conditional too: never an order
                # beside tocilizumab.
                # Never beside the grade-4 regimen: there it would be a de-escalation.
                if step is None or step.regimen not in KCP.LEE_NOT_BESIDE[0]:
                    p.drug(
                        "methylprednisolone.crs.lee2014",
                        ("crs",),
                        urgency="urgent" if escalate and step is None else "routine",
                        alternative_to=step.regimen if step is not None else None,
                        when=None
                        if escalate
                        else (KCP.SECOND_LINE_WHEN if step is None else step.when),
                    )
                if refractory:
                    _refractory_agents(p, crs_grade)
            if neuro:
                p.drug(
                    "dexamethasone.neuro", ("crs", *neuro), alternative_to="methylprednisolone.high"
                )

    # 3. Organ irAEs: one module per condition (services.plan), rows in knowledge.irae_plan.
    irae_plan.apply(p, found, data, ici, at)
    if ici and excluded:
        irae_plan.apply_exclusions(p, excluded, ici)

    # 4. PJP prophylaxis when steroid exposure reaches the threshold (planned or given).
    planned = _planned_prednisone_equivalent(p)
    if steroid_course is not None:
        given_due = steroid_course.pjp_due
        given_why = steroid_course.pjp_text
    else:
        given_days = _steroid_days_at_or_above(data, at, dosing.PJP_THRESHOLDS[0][0])
        given_due = given_days >= dosing.PJP_THRESHOLDS[0][1]
        given_why = f"{given_days} days at ≥{dosing.PJP_THRESHOLDS[0][0]:g} mg/day prednisone-equivalent recorded"
    if planned or given_due:
        rule_text = " or ".join(
            f"{'≥' if r.inclusive else '>'}{r.mg_per_day:g} mg/day for ≥{r.days} days"
            for r in KCO.PJP_RULES
        )
        why = (
            f"the plan gives {planned:g} mg/day prednisone-equivalent tapered over weeks"
            if planned
            else given_why
        )
        if planned and given_due:
            why += f"; {given_why}"
        p.advice(
            "pjp_prophylaxis",
            "supportive",
            f"Consider PJP prophylaxis (e.g. {KCO.PJP_FIRST_CHOICE[0]}): {why}"
            + (
                ""
                if steroid_course is not None and not planned
                else f"; ASCO suggests it at {rule_text} prednisone-equivalent"
            ),
            dosing.PJP_SOURCE,
            tuple(k for k in kinds),
            drug=KCO.PJP_FIRST_CHOICE[1],
            dose_missing_reason="Dose per local prophylaxis protocol and renal function",
        )

    # 5. Chronic steroids before CRS: relative adrenal insufficiency.
    chronic = KCP.CHRONIC_STEROIDS
    if (
        crs_applies
        and crs_grade is not None
        and crs_grade >= chronic.min_grade
        and _chronic_steroids(data, at)
    ):
        p.advice(
            "hydrocortisone.stress",
            "supportive",
            chronic.text,
            chronic.source,
            ("crs",),
            drug="hydrocortisone",
            dose_missing_reason="Stress dosing per local protocol",
        )
    irae_plan.reconcile(p, found)
    _consolidate_steroids(p)
    if steroid_course is not None:
        _respect_steroid_course(p, steroid_course, escalate)
    _drop_same_dose_alternatives(p)
    return list(p.items.values())


def _drop_same_dose_alternatives(p: _Plan) -> None:
    """An alternative that gives the same drug at the same dose as the line it is an alternative
    to (Lee 2014's 8 mg/kg tocilizumab for a child of 30 kg or more, the label's too) is no
    second choice: it is left out and its source cited on the line, where the two agree. When
    either dose is capped both lines stay, each citing its own cap."""
    for key, r in list(p.items.items()):
        main = p.items.get(r.alternative_to) if r.alternative_to else None
        if main is None or r.dose is None or main.dose is None or r.dose.capped or main.dose.capped:
            continue  # a capped dose keeps its line: it cites its cap's source
        if (r.drug, r.route, r.dose.unit, r.dose.value, r.dose.low, r.dose.high) != (
            main.drug,
            main.route,
            main.dose.unit,
            main.dose.value,
            main.dose.low,
            main.dose.high,
        ):
            continue
        fields = {f: getattr(main, f) for f in main.__slots__}  # type: ignore[attr-defined]
        fields["sources"] = tuple(dict.fromkeys([*main.sources, *r.sources]))
        p.items[r.alternative_to] = Recommendation(**fields)  # type: ignore[index]
        del p.items[key]


def _respect_steroid_course(p: _Plan, course: SteroidCourse, escalate: bool) -> None:
    """What is already running: a corticosteroid line at or below the current daily dose is not
    proposed again (it would add a second steroid or lower the dose); a higher one says it
    replaces the current course. CRS still active after tocilizumab on corticosteroids is
    escalated beyond both (Lee 2014)."""
    cur = course.pred_eq_per_day
    if cur is None or cur <= 0:
        return
    running = f"{course.drug} {cur:.4g} mg/day prednisone-equivalent (day {course.day_of_course})"
    below = False
    for key, r in list(p.items.items()):
        if key in _CONTINUATIONS or r.alternative_to is not None:
            continue
        top = _pred_eq_per_day(r)
        if top is None:
            continue
        fields = {f: getattr(r, f) for f in r.__slots__}  # type: ignore[attr-defined]
        if top <= cur:
            below = True
            fields.update(
                text=f"{r.text}. Already on {running}, at or above this dose: not proposed again",
                dose=None,
                dose_missing_reason="Already on an equal or higher corticosteroid dose",
            )
        elif course.tapering:
            # The course that answered this irAE is already tapering: starting it again is for a
            # flare, a judgement the data cannot make.
            fields.update(
                text=f"{r.text}. The course begun {course.start:%d %b} is tapering ({running}): "
                "the initial dose is not proposed again; re-escalate only for a flare",
                dose=None,
                dose_missing_reason="A course for this is already tapering",
            )
        else:
            fields.update(
                text=f"{r.text}. Corticosteroid already given: {running}; if it continues, "
                "change it to this dose rather than add a second corticosteroid"
            )
        p.items[key] = Recommendation(**fields)
    crs_planned = "crs" in {k for r in p.items.values() for k in r.for_irae}
    if (
        escalate
        and below
        and crs_planned
        and not any(k.startswith("crs.refractory.") for k in p.items)
    ):
        _refractory_agents(p, None)


def _effector_steroid(grade: int, toci: TocilizumabCourse | None) -> KCP.SteroidStep | None:
    """The ASCO 2021 CAR T corticosteroid step for this grade (None below it)."""
    given = toci is not None and toci.given > 0
    for step in KCP.EFFECTOR_STEROIDS:
        if grade < step.min_grade or (step.max_grade is not None and grade >= step.max_grade):
            continue
        if step.after_tocilizumab and not given:
            continue
        return step
    return None


def _on_corticosteroid(course: SteroidCourse | None) -> bool:
    return course is not None and (course.pred_eq_per_day or 0) > 0


def _refractory_agents(p: _Plan, grade: int | None) -> None:
    """CRS not controlled after tocilizumab and on corticosteroids: the off-label agents, each
    cited (never infliximab: an irAE agent, not a CRS one)."""
    for a in KCP.REFRACTORY_AGENTS:
        if a.regimen is not None:
            p.drug(
                a.regimen,
                ("crs",),
                key=a.id,
                when="if CRS is not controlled by tocilizumab and corticosteroids",
            )
        else:
            p.advice(
                a.id,
                "immunosuppression",
                a.text,
                a.source,
                ("crs",),
                drug=a.drug,
                dose_missing_reason="Dose per local protocol (off-label)",
            )
    if grade is not None and grade >= 4:
        p.advice("crs.refractory.g4", "immunosuppression", *KCP.REFRACTORY_G4_TEXT, ("crs",))


# Why no tocilizumab dose is proposed, by course status (services.courses).
_TOCI_NO_DOSE = {
    "wait": "Not yet: the interval since the last dose has not passed",
    "max_reached": "No more doses: the course maximum is reached",
    "improving": "No repeat dose while CRS improves",
}

# A continuation of the high-dose course, never folded into it.
# Physiological hydrocortisone replacement is not an immunosuppressive course either.
_CONTINUATIONS = frozenset(
    {"prednisone.taper", "hydrocortisone.replacement", "hydrocortisone.stress_oral"}
)


def _pred_eq_per_day(r: Recommendation) -> float | None:
    """Daily prednisone-equivalent of a planned corticosteroid: "mg/d" rows as they are, "mg"
    rows given several times a day (`doses_per_day` of the regimen) as their daily total."""
    if r.dose is None or r.drug is None:
        return None
    per_day = 1.0
    if r.dose.unit == "mg":
        rows = dosing.REGIMENS.get(r.id, ())
        n = rows[0].doses_per_day if rows else None
        if n is None:
            return None
        per_day = n
    elif r.dose.unit != "mg/d":
        return None
    concept = codes.drug_by_name(r.drug)
    if concept is None or concept.drug_class != "corticosteroid":
        return None
    top = r.dose.high if r.dose.high is not None else r.dose.value
    return None if top is None else top * per_day * concept.extra.get("pred_eq", 1.0)


def _consolidate_steroids(p: _Plan) -> None:
    """One systemic steroid course: a lower daily dose for another irAE is covered by the
    highest course, so it is folded into it (its irAEs and sources kept) rather than listed
    as a second concurrent steroid."""
    courses = {
        k: v
        for k, v in p.items.items()
        if v.alternative_to is None and k not in _CONTINUATIONS and _pred_eq_per_day(v) is not None
    }
    if len(courses) < 2:
        return
    top_key = max(courses, key=lambda k: _pred_eq_per_day(courses[k]) or 0.0)
    for k in list(courses):
        if k == top_key:
            continue
        r = p.items.pop(k)
        p._merge(top_key, r.for_irae, "; ".join(r.sources))


def _planned_prednisone_equivalent(p: _Plan) -> float:
    """Largest daily prednisone-equivalent of a planned taper lasting weeks (0 if none)."""
    best = 0.0
    for r in p.items.values():
        if r.drug == "prednisone" and r.dose is not None and r.duration and "week" in r.duration:
            mg = r.dose.high if r.dose.high is not None else r.dose.value
            if mg and mg >= dosing.PJP_THRESHOLDS[0][0]:
                best = max(best, mg)
    return best


def _steroid_days_at_or_above(data: PatientData, at: datetime, mg_per_day: float) -> int:
    days: dict[str, float] = {}
    for d in data.drugs:
        if (
            d.drug_class != "corticosteroid"
            or d.kind != "administration"
            or d.time is None
            or d.time > at
        ):
            continue
        if d.dose_value is None or (d.dose_unit or "").lower() not in ("mg", "milligram"):
            continue
        concept = codes.drug_by_name(d.drug)
        factor = concept.extra.get("pred_eq", 1.0) if concept else 1.0
        key = d.time.date().isoformat()
        days[key] = days.get(key, 0.0) + d.dose_value * factor
    return sum(1 for v in days.values() if v >= mg_per_day)


def _chronic_steroids(data: PatientData, at: datetime) -> bool:
    rule = KCP.CHRONIC_STEROIDS
    start = at - timedelta(days=rule.lookback_days)
    spans = [
        d
        for d in data.drugs
        if d.drug_class == "corticosteroid"
        and d.kind == "statement"
        and d.time is not None
        and d.time <= at
        and (d.end is None or d.end >= start)
    ]
    return any(d.end is None or (d.end - d.time) >= timedelta(days=rule.min_days) for d in spans)  # type: ignore[operator]
