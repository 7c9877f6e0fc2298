"""Checkpoint-inhibitor exposure and the immune-related adverse events attributed to it.

Rules (what a grade means for the drug, how a rash grade is read from body surface area) are
rows of `knowledge.irae`; this module only applies them to one patient's data.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from services.knowledge import irae as K
from services.knowledge.codes import MARKER_ONLY_SOURCE, PREEXISTING_AUTOIMMUNE, SERIES
from services.knowledge.sources import GRADING_SYSTEMS
from services.model import (
    ConditionFact,
    CrsAttribution,
    Evidence,
    Exposure,
    GradeResult,
    IraeExclusion,
    IraeFinding,
    Missing,
    O2Level,
    PatientData,
    TestResult,
)

THERAPY_CLASSES = ("checkpoint_inhibitor", "cellular_therapy", "bispecific")


def _sys(system: str) -> str:
    """A grading system as clinicians name it ("ASTCT 2019"), never its id."""
    return GRADING_SYSTEMS.get(system, system)


def exposures(data: PatientData, at: datetime) -> list[Exposure]:
    """One row per drug of the CRS-causing therapies, with its last dose up to `at`."""
    by_drug: dict[str, list] = {}
    for d in data.drugs:
        if d.drug_class in THERAPY_CLASSES and (d.time is None or d.time <= at):
            by_drug.setdefault(d.drug, []).append(d)
    out = []
    for drug, events in by_drug.items():
        given = [e for e in events if e.kind == "administration" and e.time is not None]
        basis = "administration"
        if not given:
            given = [e for e in events if e.kind == "statement" and e.time is not None]
            basis = "statement"
        if not given:
            given = [e for e in events if e.time is not None]
            basis = "order"
        times = [e.time for e in events if e.time is not None]
        last = (
            max((e.end or e.time for e in given), default=None)
            if basis == "statement"
            else (max((e.time for e in given), default=None))
        )
        out.append(
            Exposure(
                drug=drug,
                drug_class=events[0].drug_class,
                target=events[0].target,
                first_seen=min(times) if times else None,
                last_given=last,
                basis=basis,
                refs=tuple(dict.fromkeys(e.ref for e in events)),
            )
        )
    out.sort(key=lambda e: (e.drug_class, e.drug))
    return out


def current_ici(expos: list[Exposure], at: datetime) -> list[Exposure]:
    """The checkpoint inhibitors an irAE now can be attributed to: last given within the
    attribution window before `at` (`knowledge.irae.ATTRIBUTION_WINDOW_DAYS`); a course that
    ended years ago is neither the drug to hold nor the first dose to count from."""
    days, _src = K.ATTRIBUTION_WINDOW_DAYS
    return [
        e
        for e in expos
        if e.drug_class == "checkpoint_inhibitor"
        and (e.last_given is None or at - e.last_given <= timedelta(days=days))
    ]


def _first_dose(ici: list[Exposure]) -> tuple[datetime | None, str]:
    dated = [e for e in ici if e.first_seen is not None]
    if not dated:
        return None, ""
    e = min(dated, key=lambda x: x.first_seen)  # type: ignore[arg-type,return-value]
    return e.first_seen, e.drug


def _explaining_test(
    c: ConditionFact, data: PatientData, at: datetime, onset: datetime | None = None
) -> TestResult | None:
    """A positive test for an infection that explains this finding, near its onset."""
    days, _src = K.INFECTION_TEST_WINDOW_DAYS
    onset = onset or c.onset
    if onset is None:
        return None
    lo, hi = onset - timedelta(days=days), min(onset + timedelta(days=days), at)
    hits = [t for t in data.tests if t.positive and c.kind in t.kinds and lo <= t.time <= hi]
    return max(hits, key=lambda t: t.time) if hits else None


def _explaining_sepsis(
    c: ConditionFact, data: PatientData, at: datetime, onset: datetime
) -> ConditionFact | None:
    """A sepsis (A40-A41, R65.2x) recorded near this finding's onset, for the organ dysfunction
    sepsis mimics (`knowledge.irae.SEPSIS_MIMICS`)."""
    kinds, _src = K.SEPSIS_MIMICS
    if c.kind not in kinds:
        return None
    days, _src = K.INFECTION_TEST_WINDOW_DAYS
    lo, hi = onset - timedelta(days=days), min(onset + timedelta(days=days), at)
    for s in data.conditions:
        t = s.onset or s.recorded
        if s.kind == "infection" and s.active and t is not None and lo <= t <= hi:
            return s
    return None


def _marker_near(c: ConditionFact, data: PatientData) -> ConditionFact | None:
    """Another active Condition coded T45.AX5- recorded with this one."""
    days, _src = K.MARKER_WINDOW_DAYS
    t = c.onset or c.recorded
    for m in data.conditions:
        mt = m.onset or m.recorded
        if (
            m.kind == "ici_adverse_effect"
            and m.active
            and t is not None
            and mt is not None
            and abs(mt - t) <= timedelta(days=days)
        ):
            return m
    return None


def _attribution(
    c: ConditionFact, ici: list[Exposure], at: datetime, data: PatientData
) -> tuple[str | None, str, tuple[Evidence, ...], str | None]:
    """(reason it is excluded or None, why it is attributed, extra evidence, source)."""
    if c.excluded:
        return c.excluded, "", (), c.exclusion_source
    first, drug = _first_dose(ici)
    last = max((e.last_given for e in ici if e.last_given), default=None)
    extra: tuple[Evidence, ...] = ()
    marker = c.ici_coded
    if c.needs_marker:
        m = _marker_near(c, data)
        if m is None:
            return (
                "no adverse-effect code (T45.AX5-) or immune-related wording beside it: this "
                "code names no cause by itself",
                "",
                (),
                MARKER_ONLY_SOURCE,
            )
        marker = f"{m.code.partition('|')[2] if m.code else m.text} on {m.ref}"
        extra = (Evidence(m.ref, m.text, m.onset),)
    onset = c.onset
    if onset is None:
        if c.recorded is not None and first is not None and c.recorded < first:
            return (
                f"pre-existing: recorded {_d(c.recorded)}, before the first {drug} dose "
                f"({_d(first)})",
                "",
                (),
                K.ATTRIBUTION_SOURCE,
            )
        if first is None:
            return K.ONSET_UNKNOWN, "", (), K.ATTRIBUTION_SOURCE
        # The recording date is an upper bound for the onset; with no date at all the condition
        # is read as present now. The finding says so either way.
        onset = c.recorded or at
    if first is not None and onset < first:
        return (
            f"pre-existing: onset {_d(onset)}, before the first {drug} dose ({_d(first)})",
            "",
            (),
            K.ATTRIBUTION_SOURCE,
        )
    days, _src = K.ATTRIBUTION_WINDOW_DAYS
    if last is not None and onset - last > timedelta(days=days):
        return (
            f"onset {_d(onset)}, more than {days} days after the last checkpoint-inhibitor "
            f"dose ({_d(last)}): a delayed irAE is possible but is not assumed",
            "",
            (),
            K.ATTRIBUTION_WINDOW_DAYS[1],
        )
    test = _explaining_test(c, data, at, onset)
    if test is not None:
        return (
            f"positive {test.label} on {_d(test.time)}: an infection explains it (not an irAE); "
            "treat it and re-assess",
            "",
            (Evidence(test.ref, f"{test.label}: positive", test.time),),
            test.source,
        )
    sepsis = _explaining_sepsis(c, data, at, onset)
    if sepsis is not None:
        t = sepsis.onset or sepsis.recorded
        return (
            f"sepsis recorded {_d(t)} ({sepsis.text}): an infection explains the organ "  # type: ignore[arg-type]
            "dysfunction (not an irAE); treat it and re-assess",
            "",
            (Evidence(sepsis.ref, sepsis.text, t),),
            K.SEPSIS_MIMICS[1],
        )
    since = (
        f", {(onset - first).days} days after the first {drug} dose ({_d(first)})" if first else ""
    )
    how = "text-matched (no recognised code)" if c.text_matched else "coded"
    if c.onset is None and c.recorded is None:
        why = f"{K.ONSET_UNDATED[0].format(drug=drug, first=_d(first))}; {how}"  # type: ignore[arg-type]
    elif c.onset is None:
        why = f"{K.ONSET_ASSUMED[0].format(date=_d(onset))}{since}; {how}"
    else:
        why = f"onset {_d(onset)}{since}; {how}"
    if marker:
        why += "; " + K.MARKER_ATTRIBUTION.format(marker=marker)
    if c.competing_cause:
        why += f"; {c.competing_cause}"
    return None, why, extra, None


def _d(t: datetime) -> str:
    return t.date().isoformat()


def _rash_bsa(c: ConditionFact) -> float | None:
    if c.bsa_percent is not None:
        return c.bsa_percent
    m = re.search(
        r"(\d+(?:\.\d+)?)\s*%\s*(?:of\s*)?(?:bsa|body surface)", c.text, re.IGNORECASE
    ) or re.search(r"bsa\s*(\d+(?:\.\d+)?)\s*%", c.text, re.IGNORECASE)
    return float(m.group(1)) if m else None


def _num(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def _unit(series: str) -> str:
    c = next((c for c in SERIES if c.name == series), None)
    return c.unit if c else ""


def _label(series: str) -> str:
    c = next((c for c in SERIES if c.name == series), None)
    return c.label if c else series


def _lab_grade(
    kind: str, conds: list[ConditionFact], data: PatientData, at: datetime
) -> tuple[int | None, str, list[Evidence], list[Missing], list[str]]:
    """The grade CTCAE v5 gives this irAE from the record (labs, oxygen): (grade or None, what
    it rests on, evidence, missing data, sources). Never assumes a normal range or baseline."""
    if kind == "pneumonitis":
        return _o2_grade(data, at)
    rules = [r for r in K.LAB_GRADES if r.kind == kind]
    if not rules:
        return None, "", [], [], []
    days, _src = K.LAB_GRADE_MAX_AGE_DAYS
    onsets = [c.onset or c.recorded for c in conds if (c.onset or c.recorded) is not None]
    onset = min(onsets) if onsets else None  # type: ignore[type-var]
    best: tuple[int, str] | None = None
    ev: list[Evidence] = []
    missing: list[Missing] = []
    sources: list[str] = []
    parts: list[str] = []
    for series in dict.fromkeys(r.series for r in rules):
        recent = [s for s in data.samples(series) if at - timedelta(days=days) <= s.time <= at]
        if not recent:
            continue
        s = max(recent, key=lambda x: x.time)
        unit = _unit(series)
        label = _label(series)
        figures: dict[str, float] = {"value": s.value}
        said = f"{label} {_num(s.value)} {unit} ({_d(s.time)})"
        own = [r for r in rules if r.series == series]
        if any(r.basis == "uln" for r in own):
            if s.high is None or s.high <= 0:
                missing.append(
                    Missing(
                        f"upper limit of normal of {label}",
                        f"{label} {_num(s.value)} {unit} was sent without a reference range: "
                        "no grade from it (a normal range is never assumed)",
                    )
                )
                continue
            figures["uln"] = s.value / s.high
            said = f"{label} {_num(s.value)} {unit} = {figures['uln']:.1f} × ULN {_num(s.high)}"
        if any(r.basis in ("baseline", "rise") for r in own):
            look, _bsrc = K.CREATININE_BASELINE_DAYS
            ref_t = onset or s.time
            before = [
                b for b in data.samples(series) if ref_t - timedelta(days=look) <= b.time < ref_t
            ]
            if not before:
                missing.append(
                    Missing(
                        f"baseline {label.lower()}",
                        f"no {label.lower()} in the {look} days before the onset: no grade from "
                        f"{label} {_num(s.value)} {unit} (a baseline is never assumed)",
                    )
                )
                if not any(r.basis == "value" for r in own):
                    continue
            else:
                base = min(before, key=lambda b: b.value)
                if base.value > 0:
                    figures["baseline"] = s.value / base.value
                figures["rise"] = s.value - base.value
                said = (
                    f"{label} {_num(s.value)} {unit} = {figures.get('baseline', 0):.1f} × "
                    f"baseline {_num(base.value)} ({_d(base.time)}, lowest in the {look} days "
                    "before the onset)"
                )
                ev.append(
                    Evidence(
                        base.ref,
                        f"baseline {label} {_num(base.value)} {unit}",
                        base.time,
                        base.value,
                        unit,
                    )
                )
                sources.append(_bsrc)
        hit = None
        for r in own:
            f = figures.get(r.basis)
            if f is None:
                continue
            reached = f > r.above or (r.inclusive and f >= r.above)
            if reached and (hit is None or r.grade > hit.grade):
                hit = r
        ev.append(Evidence(s.ref, said, s.time, s.value, unit))
        if hit is None:
            parts.append(f"{said}: below grade 1")
            continue
        parts.append(f"{said}: {hit.text}, grade {hit.grade}")
        sources.append(hit.source)
        if best is None or hit.grade > best[0]:
            best = (hit.grade, hit.text)
    if best is None:
        if parts and not missing:
            return 0, "; ".join(parts), ev, missing, list(dict.fromkeys(sources))
        return None, "; ".join(parts), ev, missing, list(dict.fromkeys(sources))
    return best[0], "; ".join(parts), ev, missing, list(dict.fromkeys(sources))


def _conduction_beside(
    conds: list[ConditionFact], data: PatientData
) -> tuple[int, ConditionFact | None]:
    """A conduction block or ventricular arrhythmia recorded with this myocarditis."""
    floor, days, _t, _s = K.MYOCARDITIS_CONDUCTION
    times = [c.onset or c.recorded for c in conds if (c.onset or c.recorded) is not None]
    for x in data.conditions:
        if x.kind != "cardiac_conduction" or not x.active:
            continue
        t = x.onset or x.recorded
        if t is None or not times or any(abs(t - m) <= timedelta(days=days) for m in times):  # type: ignore[operator]
            return floor, x
    return floor, None


def _o2_grade(
    data: PatientData, at: datetime
) -> tuple[int | None, str, list[Evidence], list[Missing], list[str]]:
    hours, _src = K.PNEUMONITIS_O2_WINDOW_HOURS
    lo = at - timedelta(hours=hours)
    ev: list[Evidence] = []
    level = None
    for e in data.o2_episodes:
        if e.start <= at and (e.end is None or e.end >= lo) and e.level > O2Level.ROOM_AIR:
            ev.append(Evidence(e.ref, e.label, e.start))
            level = max(level or e.level, e.level)
    for s in data.samples("o2_flow"):
        if lo <= s.time <= at and s.value > 0:
            ev.append(Evidence(s.ref, f"oxygen {_num(s.value)} L/min", s.time, s.value, "L/min"))
            level = max(level or O2Level.LOW_FLOW_CANNULA, O2Level.LOW_FLOW_CANNULA)
    if level is None:
        return None, "", [], [], []
    (g3, t3), (g4, t4) = K.PNEUMONITIS_O2
    grade, text = (g4, t4) if level >= O2Level.INVASIVE_VENTILATION else (g3, t3)
    said = ", ".join(dict.fromkeys(e.what for e in ev))
    return grade, f"{said}: {text}", ev, [], [K.PNEUMONITIS_O2_SOURCE, _src]


def findings(
    data: PatientData,
    at: datetime,
    expos: list[Exposure],
    crs: dict[str, GradeResult],
    excluded: list[IraeExclusion] | None = None,
    *,
    attribution: CrsAttribution | None = None,
    primary: str = "astct2019",
) -> list[IraeFinding]:
    """The irAEs attributed to the checkpoint inhibitor. Conditions that look like irAEs but
    are not attributed (an infection, present before the first dose, onset unknown) are added
    to `excluded` with their reason when a list is given."""
    if excluded is None:
        excluded = []
    ici = current_ici(expos, at)
    out: list[IraeFinding] = []
    # CRS: an irAE only when attributed to the checkpoint inhibitor (services.attribution); its
    # grade is the primary system's, and the finding says so.
    coded_crs = [c for c in data.conditions if c.kind == "crs" and c.active]
    graded = {s: r.grade for s, r in crs.items() if r.grade is not None}
    if attribution is None:
        top, ours = max(graded.values(), default=None), True
    else:
        top = graded.get(primary)
        ours = attribution.applies and attribution.drug_class == "checkpoint_inhibitor"
    if ici and ours and ((top is not None and top >= 1) or coded_crs):
        ev = [Evidence(c.ref, c.text, c.onset) for c in coded_crs]
        if attribution is not None:
            ev.append(Evidence("derived/attribution", attribution.reason, attribution.onset))
        recorded = [c for c in coded_crs if c.grade]
        coded_top = max(recorded, key=lambda c: c.grade or 0) if recorded else None
        if top is not None and top >= 1 and attribution is None:
            grade = top
            basis = "highest of " + ", ".join(f"{_sys(s)} grade {g}" for s, g in graded.items())
        elif top is not None and top >= 1:
            grade = top
            basis = f"{_sys(primary)} grade {top} (the primary system); " + ", ".join(
                f"{_sys(s)} grade {g}" for s, g in graded.items() if s != primary
            )
        else:
            grade = coded_top.grade if coded_top else None
            basis = "recorded on the condition" if recorded else "CRS recorded without a grade"
        if coded_top is not None and top is not None and (coded_top.grade or 0) > grade:  # type: ignore[operator]
            # A grade recorded on the condition (D89.832: grade 2) is kept: the findings of the
            # last 24 hours can miss what the recording clinician saw.
            grade = coded_top.grade
            code = (coded_top.code or "").partition("|")[2]
            basis = (
                f"grade {grade} recorded on the condition"
                + (f" ({code})" if code else "")
                + f", above the grade from the findings ({basis})"
            )
        out.append(_finding("crs", grade, basis, ev, []))
    # Conditions attributed to the checkpoint inhibitor; the others are excluded with a reason.
    seen: dict[str, list[ConditionFact]] = {}
    why: dict[str, list[str]] = {}
    more: dict[str, list[Evidence]] = {}
    for c in data.conditions:
        if (
            c.kind in ("crs", "ici_adverse_effect", "infection", "cardiac_conduction")
            or not c.active
            or not ici
        ):
            continue
        if (c.onset or c.recorded) is not None and (c.onset or c.recorded) > at:  # type: ignore[operator]
            continue
        reason, attribution, extra, src = _attribution(c, ici, at, data)
        if reason is not None:
            excluded.append(
                IraeExclusion(
                    kind=c.kind,
                    label=K.KINDS.get(c.kind, c.kind.replace("_", " ")),
                    reason=reason,
                    evidence=(Evidence(c.ref, c.text, c.onset), *extra),
                    sources=tuple(x for x in (src,) if x),
                    text_matched=c.text_matched,
                )
            )
            continue
        seen.setdefault(c.kind, []).append(c)
        why.setdefault(c.kind, []).append(attribution)
        more.setdefault(c.kind, []).extend(extra)
    if "inflammatory_arthritis" in seen:
        for x in [
            x
            for x in excluded
            if x.kind == "inflammatory_arthritis" and x.reason == PREEXISTING_AUTOIMMUNE[0]
        ]:
            excluded.remove(x)
            why["inflammatory_arthritis"].append(
                K.PREEXISTING_FLARE.format(what=x.evidence[0].what)
            )
            more.setdefault("inflammatory_arthritis", []).extend(x.evidence)
    for kind, conds in seen.items():
        grade: int | None = None
        basis = ""
        missing: list[Missing] = []
        extra_sources: list[str] = []
        if kind == "rash":
            bsa = max((b for b in (_rash_bsa(c) for c in conds) if b is not None), default=None)
            if bsa is not None:
                for limit, g, text, src in K.RASH_BSA:
                    if bsa < limit or (limit == 30.0 and bsa <= 30.0):
                        grade, basis = g, f"{text} (recorded {bsa:g}% BSA)"
                        extra_sources.append(src)
                        break
                if grade == 3:
                    missing.append(
                        Missing(
                            "symptoms and self-care limitation",
                            "Only mild symptoms without limits on self-care would make it grade 2",
                        )
                    )
        recorded_grade: int | None = None
        if grade is None:
            recorded = [c.grade for c in conds if c.grade is not None]
            if recorded:
                recorded_grade = max(recorded)
                grade, basis = recorded_grade, "grade recorded on the condition"
        if kind == "myocarditis":
            floor, hit = _conduction_beside(conds, data)
            if hit is not None and (grade is None or grade < floor):
                _g, _days, text, src = K.MYOCARDITIS_CONDUCTION
                said = f"{text} ({hit.text})"
                basis = (
                    f"grade {grade} recorded on the condition; {said}: the higher drives the plan"
                    if grade is not None
                    else said
                )
                grade = floor
                extra_sources.append(src)
                more.setdefault(kind, []).append(Evidence(hit.ref, hit.text, hit.onset))
        computed, rests_on, lab_ev, lab_missing, lab_src = _lab_grade(kind, conds, data, at)
        missing.extend(lab_missing)
        more.setdefault(kind, []).extend(lab_ev)
        if computed is not None and computed >= 1:
            what = "oxygen" if kind == "pneumonitis" else "labs"
            said = K.GRADE_FROM_RECORD.format(what=what, evidence=rests_on)
            extra_sources.extend(lab_src)
            if recorded_grade is not None and recorded_grade != computed:
                top = max(recorded_grade, computed)
                basis = K.GRADE_BOTH.format(recorded=recorded_grade, computed=said, top=top)
                grade = top
            elif recorded_grade is not None:
                basis = f"grade recorded on the condition; {said}"
            elif grade is None:
                grade, basis = computed, said
        elif computed == 0 and grade is None:
            extra_sources.extend(lab_src)
            missing.append(
                Missing(
                    "a CTCAE grade on the condition",
                    f"The labs do not reach grade 1 ({rests_on}); record the grade to get a "
                    "graded plan",
                )
            )
        if grade is None:
            basis = "no grade recorded"
            what = (
                "body surface area of the rash"
                if kind == "rash"
                else "a CTCAE grade on the condition"
            )
            if not any(m.data == what for m in missing):
                missing.append(
                    Missing(what, "The grade decides the plan; record it to get a graded plan")
                )
        undated = [c for c in conds if c.onset is None]
        if undated and len(undated) == len(conds):
            first, drug = _first_dose(ici)
            recorded = [_d(c.recorded) for c in undated if c.recorded]
            said = (
                K.ONSET_ASSUMED[0].format(date=", ".join(recorded))
                if recorded
                else K.ONSET_UNDATED[0].format(drug=drug, first=_d(first) if first else "?")
            )
            missing.append(
                Missing(
                    "onset date",
                    f"{said}: confirm it began after the first {drug} dose (a disease present "
                    "before it is not an irAE)",
                )
            )
        ev = [Evidence(c.ref, c.text, c.onset) for c in conds] + more.get(kind, [])
        f = _finding(kind, grade, basis, ev, missing, extra_sources)
        rechallenge = K.rechallenge_for(kind, grade)
        out.append(
            IraeFinding(
                **{
                    **{k: getattr(f, k) for k in f.__slots__},  # type: ignore[attr-defined]
                    "attribution": "; ".join(dict.fromkeys(why[kind])),
                    "text_matched": all(c.text_matched for c in conds),
                    "rechallenge": rechallenge[0] if rechallenge else None,
                }
            )
        )
    return _thyroid_phase(out)


def _thyroid_phase(out: list[IraeFinding]) -> list[IraeFinding]:
    """Thyroiditis beside hypothyroidism takes the hypothyroidism's action (one answer)."""
    by = {f.kind: f for f in out}
    th, hypo = by.get("thyroiditis"), by.get("hypothyroidism")
    if th is None or hypo is None:
        return out
    text, src = K.THYROIDITIS_HYPOTHYROID_PHASE
    action = hypo.checkpoint_inhibitor_action
    new = IraeFinding(
        **{
            **{k: getattr(th, k) for k in th.__slots__},  # type: ignore[attr-defined]
            "checkpoint_inhibitor_action": action,
            "action_reason": text.format(
                action=f"{action}: {hypo.action_reason}" if action else hypo.action_reason
            ),
            "sources": tuple(dict.fromkeys([*th.sources, *hypo.sources, src])),
        }
    )
    return [new if f is th else f for f in out]


def _finding(
    kind: str,
    grade: int | None,
    basis: str,
    ev: list[Evidence],
    missing: list[Missing],
    extra_sources: list[str] | None = None,
) -> IraeFinding:
    rule = K.action_for(kind, grade)
    action = rule.action if rule else None
    reason = rule.text if rule else "No action without a grade: the grade is missing"
    sources = tuple(dict.fromkeys([*(extra_sources or []), *([rule.source] if rule else [])]))
    return IraeFinding(
        kind=kind,
        label=K.KINDS.get(kind, kind),
        grade=grade,
        grade_basis=basis,
        checkpoint_inhibitor_action=action,
        action_reason=reason,
        evidence=tuple(ev),
        sources=sources,
        missing=tuple(missing),
    )


def strictest_action(found: list[IraeFinding], at_least: str = "continue") -> IraeFinding | None:
    """The finding whose checkpoint-inhibitor action is strictest (`knowledge.irae.ACTION_ORDER`;
    the higher grade on a tie), among those at least as strict as `at_least`; None if none."""
    floor = K.ACTION_ORDER[at_least]
    acted = [
        f
        for f in found
        if f.checkpoint_inhibitor_action is not None
        and K.ACTION_ORDER[f.checkpoint_inhibitor_action] >= floor
    ]
    return max(
        acted,
        key=lambda f: (K.ACTION_ORDER[f.checkpoint_inhibitor_action or ""], f.grade or 0),
        default=None,
    )
