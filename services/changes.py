"""What newly charted observations change: the record graded without them and with them.

"Before" is the record without the new observations (removed by id when the record already
holds them), "after" the record with them; both are graded at the same time. Nothing is kept
between calls. The adapter reads the record once where that is exact
(`fhir_adapter.to_patient_data_pair`), and "before" is graded for its grades only
(`assess.grades`: no plan, no trajectory); "after" is the full assessment the card shows. A change is a grade that rose (CRS under the primary system, ICANS, an irAE) or a
threshold crossed in the grading window: fever onset, new hypotension, a new oxygen
requirement, a steep ferritin rise. The thresholds are the graders' own (`knowledge.crs`: fever,
the hypotension limits for the patient's age, oxygen support above room air), read through
`crs.findings_now`, and the IEC-HS screen's (`knowledge.icans`, row iec_hs.ferritin_rising),
read through `iec_hs.ferritin_rise` and only where that screen applies (after CAR T cells or a
T-cell engager), so a crossing here is exactly what the grading sees.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services import assess as A
from services import crs, fhir_adapter, iec_hs
from services.format import num
from services.knowledge import codes
from services.knowledge import crs as K
from services.knowledge import icans as KI
from services.model import Assessment, Criterion, Evidence, Grades, PatientData


@dataclass(frozen=True)
class GradeChange:
    """A grade that rose. `what`: "crs", "icans" or the irAE kind; `system`: the grading
    system (CRS: the primary one; ICANS: ASTCT 2019)."""

    what: str
    label: str
    before: int | None  # None: not gradable (CRS) or not present (irAE)
    after: int | None
    system: str | None = None
    criteria: tuple[Criterion, ...] = ()  # CRS: the criteria met now, highest grade first
    evidence: tuple[Evidence, ...] = ()  # irAE: the finding's evidence


@dataclass(frozen=True)
class Crossing:
    """A threshold crossed in the grading window: "fever" | "hypotension" | "oxygen" |
    "ferritin"."""

    kind: str
    label: str
    evidence: tuple[Evidence, ...]
    rule: str  # the threshold, in words
    source: str
    brief: str | None = None  # the evidence in a few words, where joining its lines reads badly


@dataclass(frozen=True)
class ObservationDelta:
    before: Grades  # the grades only: no plan, no trajectory
    after: Assessment
    grade_changes: tuple[GradeChange, ...]
    crossings: tuple[Crossing, ...]
    # What the new observations were read as (their samples, oxygen support, vasopressor rows):
    # a list of evidence; empty when none of them is data the assessment reads.
    charted: tuple[Evidence, ...]
    new_refs: frozenset[str]
    # CRS grades of every system, before and after: system -> (before, after)
    crs_systems: dict[str, tuple[int | None, int | None]]

    @property
    def changed(self) -> bool:
        return bool(self.grade_changes or self.crossings)

    @property
    def crs_change(self) -> GradeChange | None:
        return next((g for g in self.grade_changes if g.what == "crs"), None)


def _obs_ref(r: dict[str, Any]) -> str | None:
    rid = r.get("id")
    return f"Observation/{rid}" if isinstance(rid, str) and rid else None


def record_without(
    resources: Iterable[dict[str, Any]], new_observations: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The record without the new observations: one the record already holds (same id) is
    left out."""
    new_refs = {ref for r in new_observations if (ref := _obs_ref(r))}
    return [
        r
        for r in resources
        if not (r.get("resourceType") == "Observation" and _obs_ref(r) in new_refs)
    ]


def split_record(
    resources: Iterable[dict[str, Any]], new_observations: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the record without the new observations, the record with them). A new observation the
    record already holds (same id) is left out of "before"; in "after" the charted version wins."""
    without = record_without(resources, new_observations)
    return without, fhir_adapter.flatten([*new_observations, *without])


def charted_evidence(
    new_observations: Sequence[dict[str, Any]], record: PatientData | None = None
) -> tuple[Evidence, ...]:
    """What the assessment reads from the new observations, as evidence lines. With `record`
    (the record with them), a weight-based infusion rate just charted is read against the
    record's weight, as the grade read it; alone, it has no weight and its rate is unknown."""
    data = fhir_adapter.to_patient_data(new_observations)
    if record is not None:
        read = {i.ref: i for i in record.infusions}
        data = dataclasses.replace(
            data,
            infusions=[read.get(i.ref, i) for i in data.infusions],
        )
    out: list[Evidence] = []
    for name, samples in data.series.items():
        for s in samples:
            out.append(crs._ev_sample(name, s))
    out += [Evidence(e.ref, e.label, e.start) for e in data.o2_episodes]
    for i in data.infusions:
        concept = codes.drug_by_name(i.drug)
        unit = concept.extra.get("unit") if concept is not None else None
        rate = f"{num(i.rate)} {unit}" if i.rate is not None and unit else "rate unknown"
        out.append(Evidence(i.ref, f"{i.drug} {rate}", i.start, i.rate, unit))
    out += [Evidence(t.ref, t.label, t.time) for t in data.tests]
    out += [Evidence(f.ref, f.text, f.time) for f in data.neuro]
    return tuple(sorted(out, key=lambda e: (e.time is None, e.time or datetime.min, e.ref)))


def _crossings(
    before: PatientData, after: PatientData, at: datetime, *, iec_hs_applies: bool = False
) -> list[Crossing]:
    fb, fa = crs.findings_now(before, at), crs.findings_now(after, at)
    out: list[Crossing] = []
    if fa.fever and not fb.fever:
        p = K.PARAMS["fever"]
        out.append(
            Crossing(
                "fever",
                "Fever",
                (crs._ev_sample("temperature", fa.temp_max),),  # type: ignore[arg-type]
                p.text,
                p.source,
            )
        )
    if fa.hypotension and not fb.hypotension:
        sbp = K.PARAMS["hypotension_sbp"]
        out.append(
            Crossing(
                "hypotension",
                "New hypotension",
                tuple(fa.hypotension),
                _limits_text(fa),
                sbp.source,
            )
        )
    if fa.oxygen_support and not fb.oxygen_support:
        out.append(
            Crossing(
                "oxygen",
                "New oxygen requirement",
                tuple(fa.oxygen_support),
                "Supplemental oxygen (a device, a flow or an FiO2 above room air) where none "
                "was recorded in the grading window",
                K.RULES["astct2019.g2.low_flow"].source,
            )
        )
    if iec_hs_applies:
        rise = iec_hs.ferritin_rise(after, at)
        if rise is not None and iec_hs.ferritin_rise(before, at) is None:
            low, last = rise
            row = next(c for c in KI.HS_CRITERIA if c.id == "iec_hs.ferritin_rising")
            unit = codes.series_by_name("ferritin").unit
            out.append(
                Crossing(
                    "ferritin",
                    "Steep ferritin rise",
                    (crs._ev_sample("ferritin", low), crs._ev_sample("ferritin", last)),
                    row.text,
                    row.source,
                    brief=f"ferritin {num(low.value)} → {num(last.value)} {unit}",
                )
            )
    return out


def _limits_text(f: crs.Findings) -> str:
    text = f"systolic blood pressure <{num(f.sbp_limit)} mmHg"
    if f.map_limit is not None:
        text += f" or mean arterial pressure <{num(f.map_limit)} mmHg"
    return text + ("" if f.age_known else " (adult limits: no birth date)")


def _gt(a: int | None, b: int | None) -> bool:
    return (a or 0) > (b or 0)


def _icans_grade(a: Assessment | Grades) -> int | None:
    """ICANS (ASTCT 2019) now: 0 when it is attributed to no therapy, None without data."""
    r = a.icans
    if r is None:
        return None
    return r.grade if r.applies else (0 if r.grade is not None else None)


def _grade_changes(before: Grades, after: Assessment) -> list[GradeChange]:
    out: list[GradeChange] = []
    system = after.crs_primary_system
    b, a = before.primary_crs_grade, after.primary_crs_grade
    if _gt(a, b):
        r = after.crs[system]
        met = tuple(sorted(r.criteria, key=lambda c: -c.grade))
        out.append(GradeChange("crs", "CRS", b, a, system, criteria=met))
    ib, ia = _icans_grade(before), _icans_grade(after)
    if _gt(ia, ib) and after.icans is not None:
        met = tuple(sorted(after.icans.criteria, key=lambda c: -c.grade))
        out.append(GradeChange("icans", "ICANS", ib, ia, "astct2019", criteria=met))
    was = {f.kind: f for f in before.irae}
    for f in after.irae:
        if f.kind == "crs":
            continue  # CRS after a checkpoint inhibitor: compared above, under the primary system
        old = was.get(f.kind)
        if old is None or _gt(f.grade, old.grade):
            out.append(
                GradeChange(
                    f.kind,
                    f.label,
                    old.grade if old is not None else None,
                    f.grade,
                    evidence=f.evidence,
                )
            )
    return out


def compare(
    resources: Iterable[dict[str, Any]],
    new_observations: Sequence[dict[str, Any]],
    at: datetime | None = None,
    *,
    crs_primary: str | None = None,
) -> ObservationDelta:
    """The record graded without and with `new_observations`, at the same time `at`."""
    at = at or A.now()
    without = record_without(resources, new_observations)
    # One adapter pass where it is exact ("before" is "after" less what the new observations
    # gave); "before" is graded for its grades only, "after" in full for the card's plan.
    data_b, data_a = fhir_adapter.to_patient_data_pair(without, new_observations)
    before = A.grades(data_b, at, crs_primary=crs_primary)
    after = A.assess_data(data_a, at, with_timeline=False, crs_primary=crs_primary)
    systems = {s: (before.crs[s].grade, after.crs[s].grade) for s in after.crs}
    return ObservationDelta(
        before=before,
        after=after,
        grade_changes=tuple(_grade_changes(before, after)),
        crossings=tuple(
            _crossings(
                data_b,
                data_a,
                at,
                iec_hs_applies=after.icans is not None and after.icans.applies,
            )
        ),
        charted=charted_evidence(new_observations, data_a),
        new_refs=frozenset(ref for r in new_observations if (ref := _obs_ref(r))),
        crs_systems=systems,
    )
