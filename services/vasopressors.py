"""Vasopressor exposure over time: concurrent drugs, norepinephrine-equivalent, and the
high-dose rule of Lee 2014 Table 3 (thresholds and formula: `knowledge.crs`)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from services.knowledge import crs as K
from services.model import Infusion


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of time during which the set of running infusions and their rates is fixed."""

    start: datetime
    end: datetime
    infusions: tuple[Infusion, ...]
    drugs: frozenset[str] = field(init=False, repr=False, compare=False)  # from `infusions`

    def __post_init__(self) -> None:
        object.__setattr__(self, "drugs", frozenset(i.drug for i in self.infusions))

    def rate(self, drug: str) -> float | None:
        """Sum of the rates of that drug's running infusions (None if any rate is unknown)."""
        total = 0.0
        for i in self.infusions:
            if i.drug == drug:
                if i.rate is None:
                    return None
                total += i.rate
        return total

    def ne_equivalent(self) -> float | None:
        """µg/min; None when a rate it needs is unknown (vasopressin's is never needed)."""
        total = 0.0
        for drug in self.drugs:
            coef = K.NE_EQUIVALENT[drug]
            if coef == 0.0:
                continue
            r = self.rate(drug)
            if r is None:
                return None
            total += coef * r
        return total

    def high_dose(self) -> bool | None:
        """Lee 2014 Table 3 for this segment; None when a needed rate is unknown."""
        drugs = self.drugs
        if not drugs:
            return False
        if "vasopressin" in drugs:
            nee = self.ne_equivalent()
            return None if nee is None else nee >= K.value("vaso_with_vasopressin")
        if len(drugs) == 1:
            (drug,) = drugs
            r = self.rate(drug)
            return None if r is None else r >= K.value(K.MONOTHERAPY_PARAM[drug])
        nee = self.ne_equivalent()
        return None if nee is None else nee >= K.value("vaso_combination")


@dataclass(frozen=True, slots=True)
class HighDoseRun:
    """Consecutive segments that all meet the high-dose rule, lasting at least the hold time."""

    start: datetime
    end: datetime
    segments: tuple[Segment, ...]

    @property
    def sustained_from(self) -> datetime:
        return self.start + timedelta(hours=K.value("vaso_hold"))


def segments(infusions: list[Infusion], until: datetime) -> list[Segment]:
    """Sweep over every start and end; open infusions run until `until`."""
    points: set[datetime] = set()
    spans: list[tuple[datetime, datetime, Infusion]] = []
    for inf in infusions:
        end = inf.end if inf.end is not None else until
        end = min(end, until)
        if end <= inf.start:
            continue
        spans.append((inf.start, end, inf))
        points.add(inf.start)
        points.add(end)
    ordered = sorted(points)
    out: list[Segment] = []
    for a, b in itertools.pairwise(ordered):
        running = tuple(inf for s, e, inf in spans if s <= a and e >= b)
        if running:
            out.append(Segment(a, b, running))
    return out


def high_dose_runs(segs: list[Segment]) -> list[HighDoseRun]:
    hold = timedelta(hours=K.value("vaso_hold"))
    runs: list[HighDoseRun] = []
    current: list[Segment] = []
    for seg in segs:
        if seg.high_dose() and (not current or current[-1].end == seg.start):
            current.append(seg)
            continue
        if current and current[-1].end - current[0].start >= hold:
            runs.append(HighDoseRun(current[0].start, current[-1].end, tuple(current)))
        current = [seg] if seg.high_dose() else []
    if current and current[-1].end - current[0].start >= hold:
        runs.append(HighDoseRun(current[0].start, current[-1].end, tuple(current)))
    return runs


def overlapping(segs: list[Segment], a: datetime, b: datetime) -> list[Segment]:
    return [s for s in segs if s.start <= b and s.end >= a and s.end > s.start]


def run_in_window(runs: list[HighDoseRun], a: datetime, b: datetime) -> HighDoseRun | None:
    """A run whose sustained part (after the hold) touches the window [a, b]."""
    for r in runs:
        if r.sustained_from <= b and r.end >= a and r.end >= r.sustained_from:
            return r
    return None
