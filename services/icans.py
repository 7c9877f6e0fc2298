"""ICANS grading under ASTCT 2019, now and hour by hour.

The grade is the worst domain in the window (`knowledge.icans` "window"): the ICE score (adults
and children over 12) or the CAPD (children 12 and under), the level of consciousness, seizures,
motor findings, and raised intracranial pressure or cerebral oedema. An ICANS recorded with its
grade (ICD-10-CM G92.0x) is a floor. ICANS is attributed to a CAR T-cell therapy or a T-cell
engager by timing (`knowledge.icans.ONSET_WINDOWS`), never to a checkpoint inhibitor. Every
number is a row of `knowledge.icans`; rule text and sources come from `knowledge.icans.RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services import grading, iec_hs
from services.attribution import in_onset_window
from services.knowledge import icans as K
from services.model import (
    Criterion,
    Evidence,
    Exposure,
    IcansResult,
    Missing,
    NeuroFact,
    PatientData,
)

# Conditions that last until they abate; everything else is an event at its time.
STATES = frozenset({"motor", "cerebral_oedema", "raised_icp"})
SYSTEM = "astct2019"
SOURCES = ("astct2019", "asco_iec2021")


def _ev(f: NeuroFact) -> Evidence:
    text = f.text + (" (recognised by its text)" if f.text_matched else "")
    return Evidence(f.ref, text, f.time, float(f.score) if f.score is not None else None)


def _crit(rule_id: str, evidence: list[Evidence]) -> Criterion:
    return grading.criterion(K.RULES[rule_id], evidence)


def _in_window(f: NeuroFact, a: datetime, b: datetime) -> bool:
    if f.kind in STATES:
        return grading.overlaps(f.time, f.end, a, b)
    return a <= f.time <= b


def _bands_text(tool: str) -> str:
    return ", ".join(
        f"{b.low}-{b.high} grade {b.grade}" if b.high < 32 else f"≥{b.low} grade {b.grade}"
        for b in K.BANDS
        if b.tool == tool
    )


@dataclass(slots=True)
class _Out:
    criteria: list[Criterion] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    n: int = 0  # neurologic data in the window

    @property
    def grade(self) -> int | None:
        if self.n == 0:
            return None
        return max((c.grade for c in self.criteria), default=0)


def grade_window(facts: list[NeuroFact], a: datetime, b: datetime, child: bool | None) -> _Out:
    """The ASTCT 2019 ICANS grade for [a, b]: the worst domain. `child`: 12 years or under
    (None: age unknown, the ICE score expected)."""
    out = _Out()
    window = [f for f in facts if _in_window(f, a, b)]
    # A Glasgow coma score is shown, never graded (knowledge.icans GCS_NOTE).
    gcs = [f for f in window if f.kind == "gcs"]
    fs = [f for f in window if f.kind != "gcs"]
    out.n = len(fs)
    # ICE (lower is worse) and CAPD (higher is worse): the worst score in the window.
    worst_ice: NeuroFact | None = None
    for tool in ("ice", "capd"):
        scores = [f for f in fs if f.kind == tool and f.score is not None]
        if not scores:
            continue
        pick = min if tool == "ice" else max
        worst = pick(scores, key=lambda f: f.score)  # type: ignore[arg-type,return-value]
        if tool == "ice":
            worst_ice = worst
        for band in K.BANDS:
            if band.tool == tool and band.low <= worst.score <= band.high:  # type: ignore[operator]
                out.criteria.append(_crit(band.rule, [_ev(worst)]))
    # Level of consciousness: the most depressed.
    locs = [f for f in fs if f.kind == "consciousness"]
    depressed = [f for f in locs if f.rule]
    if depressed:
        worst = max(depressed, key=lambda f: K.RULES[f.rule].grade)  # type: ignore[index]
        out.criteria.append(_crit(worst.rule, [_ev(worst)]))  # type: ignore[arg-type]
    # Seizures, motor findings, oedema and raised intracranial pressure (Conditions).
    seen: set[str] = set()
    for f in fs:
        if f.kind == "icans" or f.kind in ("ice", "capd", "consciousness") or f.rule is None:
            continue
        if f.excluded:
            out.notes.append(f"{f.text}: {f.excluded}.")
            continue
        if f.rule in seen:
            for c in out.criteria:
                if c.id == f.rule:
                    out.criteria[out.criteria.index(c)] = Criterion(
                        c.id, c.grade, c.text, c.source, (*c.evidence, _ev(f))
                    )
            continue
        seen.add(f.rule)
        out.criteria.append(_crit(f.rule, [_ev(f)]))
    # ICANS recorded with its grade: a floor.
    recorded = [f for f in fs if f.kind == "icans"]
    graded = [f for f in recorded if f.grade is not None]
    if graded:
        f = max(graded, key=lambda x: x.grade)  # type: ignore[arg-type,return-value]
        r = K.RULES["icans.recorded"]
        out.criteria.append(
            Criterion(r.id, f.grade, f"ICANS grade {f.grade} recorded", r.source, (_ev(f),))  # type: ignore[arg-type]
        )
    elif recorded:
        out.notes.append(f"ICANS recorded without a grade ({recorded[0].text}).")
    _missing(out, fs, worst_ice, child)
    if gcs:
        last = max(gcs, key=lambda f: f.time)
        out.notes.append(K.GCS_NOTE.format(text=f"{last.text} at {last.time:%Y-%m-%d %H:%M}") + ".")
        if (
            last.score is not None
            and last.score < K.GCS_MAX
            and not any(f.kind == "consciousness" for f in fs)
        ):
            what, why = K.GCS_MISSING
            out.missing.append(Missing(what, why.format(max=K.GCS_MAX)))
    return out


def _missing(out: _Out, fs: list[NeuroFact], worst_ice: NeuroFact | None, child: bool | None):
    g = out.grade or 0
    tool = "capd" if child else "ice"
    if not any(f.kind == tool for f in fs) and g < 3:
        label = "CAPD" if child else "ICE score"
        out.missing.append(
            Missing(label, f"{label} bands: {_bands_text(tool)} (ASTCT 2019); none in the window")
        )
    loc_grades = [K.RULES[f.rule].grade for f in fs if f.kind == "consciousness" and f.rule]
    if worst_ice is not None and worst_ice.score == 0 and max(loc_grades, default=0) < 4:
        out.missing.append(
            Missing(
                "level of consciousness",
                "An ICE score of 0 is grade 4 when the patient cannot be roused, grade 3 when awake",
            )
        )
    if any(f.kind == "consciousness" and f.rule == "icans.loc.g3" for f in fs) and g < 4:
        out.missing.append(
            Missing(
                "whether vigorous or repetitive stimuli were needed to rouse",
                "That would make it grade 4",
            )
        )
    if any(f.kind == "cerebral_oedema" and f.extent_unknown and not f.excluded for f in fs) and (
        g < 4
    ):
        out.missing.append(
            Missing("extent of the cerebral oedema", "Diffuse oedema on imaging is grade 4")
        )
    if child is None and fs:
        out.notes.append(
            "No birth date: the ICE score was expected (adults and children over 12); a child "
            "of 12 or under is assessed with the CAPD."
        )


# ------------------------------------------------------------------------------------------
# Attribution
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IcansAttribution:
    applies: bool
    agent: str | None
    drug_class: str | None
    reason: str
    onset: datetime | None = None
    last_dose: datetime | None = None


def _is_finding(f: NeuroFact) -> bool:
    if f.kind == "ice":
        return f.score is not None and f.score < K.value("ice_max")
    if f.kind == "capd":
        return bool(f.score)
    if f.kind == "icans":
        return True
    return f.rule is not None and not f.excluded


def attribute(data: PatientData, at: datetime, expos: list[Exposure]) -> IcansAttribution:
    """ICANS belongs to a CAR T-cell therapy or a T-cell engager whose last dose came at most
    its window before the first neurologic finding since that dose (or before now)."""
    candidates = [e for e in expos if e.drug_class in K.ONSET_BY_CLASS]
    if not candidates:
        return IcansAttribution(False, None, None, K.NOT_ATTRIBUTABLE_NOTE)

    def first_onset(last: datetime) -> tuple[datetime | None, str]:
        f = next((f for f in data.neuro if last <= f.time <= at and _is_finding(f)), None)
        return (f.time, "first neurologic finding") if f else (None, "")

    fits, missed = in_onset_window(data, at, candidates, K.ONSET_BY_CLASS, first_onset)
    if not fits:
        outside = [
            f"{c.exposure.drug}: no dose time on record"
            if c.last is None
            else f"{c.exposure.drug} last given {c.last:%Y-%m-%d}, more than "
            f"{c.window.days:g} days before {'the onset' if c.onset else 'now'}"
            for c in missed
        ]
        return IcansAttribution(
            False, None, None, K.NOT_ATTRIBUTABLE_NOTE + " (" + "; ".join(outside) + ")"
        )
    e, last, onset = fits[0].exposure, fits[0].last, fits[0].onset
    w = K.ONSET_BY_CLASS[e.drug_class]
    reason = f"ICANS attributed to {e.drug} ({w.label}, last given {last:%Y-%m-%d}"
    reason += (
        f"; first neurologic finding {onset:%Y-%m-%d %H:%M}, within the {w.days:g}-day window)"
        if onset
        else f"; no neurologic finding since, window {w.days:g} days)"
    )
    return IcansAttribution(True, e.drug, e.drug_class, reason + ".", onset, last)


# ------------------------------------------------------------------------------------------
# Public entry point
# ------------------------------------------------------------------------------------------


def _child(data: PatientData, at: datetime) -> bool | None:
    bd = data.birth_date
    if bd is None:
        return None
    return grading.whole_years(bd, at.date()) <= K.value("capd_max_age")


def evaluate(
    data: PatientData, at: datetime, expos: list[Exposure], *, trajectory: bool = True
) -> IcansResult:
    """ICANS now; `trajectory` False: the grade now only (no hour-by-hour trajectory, no worst
    point, no IEC-HS screen), as a comparison needs it."""
    attr = attribute(data, at, expos)
    window = timedelta(hours=K.value("window"))
    hours = grading.trajectory_hours(K.value("trajectory"))
    facts = [f for f in data.neuro if f.time <= at]
    child = _child(data, at)

    def grades_at(a: datetime, b: datetime) -> dict[str, int | None]:
        g = grade_window(facts, a, b, _child(data, b)).grade if facts else None
        return {SYSTEM: 0 if g is not None and not attr.applies else g}

    points = grading.hourly(at, hours, window, grades_at) if trajectory else []
    out = grade_window(facts, at - window, at, child)
    grade = out.grade
    criteria, missing, notes = tuple(out.criteria), tuple(out.missing), list(out.notes)
    findings: tuple[Evidence, ...] = ()
    if not attr.applies:
        findings = tuple(ev for c in out.criteria for ev in c.evidence)
        criteria, missing = (), ()
        grade = 0 if grade is not None else None
        if findings:
            notes.insert(0, attr.reason)
    if grade is None:
        notes.append(
            f"No ICE score, CAPD, level of consciousness or neurologic finding in the "
            f"{K.value('window'):g} hours before the assessment."
        )
    if data.deceased and grade is not None and grade >= 3 and attr.applies:
        notes.append(
            f"Death during ICANS grade {grade}; grade 5 (death due to ICANS) is a clinician's "
            "judgement."
        )
    return IcansResult(
        applies=attr.applies,
        grade=grade,
        tool="capd" if child else "ice",
        criteria=criteria,
        missing=missing,
        notes=tuple(notes),
        at=at,
        window_start=at - timedelta(hours=hours),
        worst=grading.worst(points, SYSTEM),
        trajectory=tuple(grading.changes(points)),
        agent=attr.agent,
        drug_class=attr.drug_class,
        reason=attr.reason,
        onset=attr.onset,
        findings=findings,
        sources=SOURCES,
        iec_hs=iec_hs.screen(data, at, attr.last_dose) if attr.applies and trajectory else None,
    )


def other_causes(data: PatientData, at: datetime, onset: datetime | None) -> tuple[dict, ...]:
    """Recorded findings that may explain the neurologic picture (`knowledge.icans.OTHER_CAUSES`):
    an infection (the CRS infection reading), a coded hyponatraemia or hypoglycaemia active at
    `at`, or a sodium or glucose below its row's limit in the ICANS window. Shown beside the grade
    as "consider another cause"; the grade is unchanged."""
    from services.attribution import infection_at
    from services.knowledge import codes

    start = at - timedelta(hours=K.value("window"))
    out: dict[str, dict] = {}
    for row in K.OTHER_CAUSES:
        if row.kind in out:
            continue
        what = None
        if row.kind == "infection":
            what = infection_at(data, onset or at, at)
        elif row.codes:
            hit = next(
                (m for m in data.metabolic if m[0] == row.kind and (m[1] is None or m[1] <= at)),
                None,
            )
            if hit is not None:
                when = f" {hit[1]:%Y-%m-%d}" if hit[1] else ""
                what = f"{hit[3]} recorded{when} ({hit[2]})"
        elif row.series is not None and row.below is not None:
            ss = [s for s in data.samples(row.series) if start <= s.time <= at]
            low = min(ss, key=lambda x: x.value) if ss else None
            if low is not None and low.value < row.below:
                sc = codes.series_by_name(row.series)
                what = (
                    f"{sc.label} {low.value:g} {sc.unit} at {low.time:%Y-%m-%d %H:%M} ({low.ref})"
                )
        if what is not None:
            out[row.kind] = {"id": row.id, "kind": row.kind, "what": what, "source": row.source}
    return tuple(out.values())
