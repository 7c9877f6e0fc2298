"""Which therapy a CRS belongs to.

CRS is graded as an adverse event of a CRS-causing therapy (T-cell therapy, a T-cell engager, a
checkpoint inhibitor). Each class has an onset window after its most recent dose
(`knowledge.crs.ONSET_WINDOWS`, each row cited); the episode's onset is the first fever
≥38.0 °C, or a recorded CRS, after that dose and within the episode look-back. When several
therapies fit, the lower rank wins (the more frequent cause), then the most recent dose. With
no therapy that fits, CRS grading does not apply: the findings are still listed.

`last_dose` and `in_onset_window` are shared with ICANS (`services.icans`), which applies the
same rule with its own windows (`knowledge.icans.ONSET_WINDOWS`) and its own onset.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from services.crs import treated_onsets
from services.knowledge import crs as K
from services.model import CrsAttribution, Exposure, PatientData

CLASS_LABEL = {w.drug_class: w.label for w in K.ONSET_WINDOWS}


def last_dose(data: PatientData, drug: str, at: datetime) -> datetime | None:
    """The most recent exposure to `drug` up to `at`: an administration's time (a running
    infusion counts until `at`), a statement's end, or an order's time when nothing else."""
    best: dict[str, datetime] = {}
    for d in data.drugs:
        if d.drug != drug or d.time is None or d.time > at:
            continue
        t = d.time
        if d.end is not None and d.kind in ("administration", "statement"):
            t = min(max(d.end, d.time), at)
        elif d.kind == "statement" and d.status == "active":
            t = at  # an active statement with no end: the therapy is ongoing
        if d.kind not in best or t > best[d.kind]:
            best[d.kind] = t
    for kind in ("administration", "statement", "order"):
        if kind in best:
            return best[kind]
    return None


class Window(Protocol):
    """An onset-window row (`knowledge.crs.OnsetWindow`, `knowledge.icans.OnsetWindow`)."""

    label: str
    rank: int
    days: float


@dataclass(frozen=True, slots=True)
class Candidate:
    """One exposure checked against its class's onset window. `last`: its most recent dose
    (None: no dose time on record); `onset`: the first onset after that dose (None: none up to
    now), and what marks it."""

    exposure: Exposure
    window: Window
    last: datetime | None
    onset: datetime | None = None
    marker: str = ""


def in_onset_window(
    data: PatientData,
    at: datetime,
    expos: list[Exposure],
    windows: Mapping[str, Window],
    first_onset: Callable[[datetime], tuple[datetime | None, str]],
) -> tuple[list[Candidate], list[Candidate]]:
    """The exposures of a class in `windows` whose onset (or now, when there is none yet) came
    at most the window's days after their most recent dose, best first (the lower rank, then
    the most recent dose); and the others in the order given. `first_onset(last)`: the first
    onset after a dose at `last`, and what marks it."""
    fits: list[tuple[int, float, Candidate]] = []
    outside: list[Candidate] = []
    for e in expos:
        if e.drug_class not in windows:
            continue
        w = windows[e.drug_class]
        last = last_dose(data, e.drug, at)
        if last is None:
            outside.append(Candidate(e, w, None))
            continue
        onset, marker = first_onset(last)
        c = Candidate(e, w, last, onset, marker)
        if (onset or at) - last <= timedelta(days=w.days):
            fits.append((w.rank, -last.timestamp(), c))
        else:
            outside.append(c)
    fits.sort(key=lambda f: (f[0], f[1]))
    return [f[2] for f in fits], outside


def _onsets(data: PatientData) -> tuple[list[datetime], list[str]]:
    """Times that can mark a CRS onset (fevers and recorded CRS), sorted, with what they are."""
    fever = K.value("fever")
    pts = [(s.time, "first fever") for s in data.samples("temperature") if s.value >= fever]
    pts += [(c.onset, "recorded CRS") for c in data.conditions if c.kind == "crs" and c.onset]
    pts += [(d.time, f"{d.drug} given") for d in treated_onsets(data)]  # type: ignore[misc]
    pts.sort(key=lambda p: p[0])
    return [p[0] for p in pts], [p[1] for p in pts]


def _days(d: timedelta) -> str:
    days = d.total_seconds() / 86400
    if days < 1:
        return f"{d.total_seconds() / 3600:.0f} hours"
    return f"{days:.0f} day" + ("" if round(days) == 1 else "s")


def attribute(data: PatientData, at: datetime, expos: list[Exposure]) -> CrsAttribution:
    candidates = [e for e in expos if e.drug_class in K.ONSET_BY_CLASS]
    if not candidates:
        return CrsAttribution(False, None, None, K.NOT_APPLICABLE_NOTE, None)
    times, what = _onsets(data)
    lookback = at - timedelta(days=K.value("crs_episode_lookback"))

    def first_onset(last: datetime) -> tuple[datetime | None, str]:
        i = bisect_left(times, max(last, lookback))
        onset = times[i] if i < len(times) and times[i] <= at else None
        return onset, what[i] if onset is not None else ""

    fitting, missed = in_onset_window(data, at, candidates, K.ONSET_BY_CLASS, first_onset)
    outside = [
        f"{c.exposure.drug}: no dose time on record"
        if c.last is None
        else f"{c.exposure.drug} last given {c.last:%Y-%m-%d}, {_days((c.onset or at) - c.last)} "
        f"before {'the onset' if c.onset else 'now'} (window for a {c.window.label}: "
        f"{c.window.days:g} days)"
        for c in missed
    ]
    if not fitting:
        return CrsAttribution(
            False,
            None,
            None,
            "No CRS-associated therapy within its onset window ("
            + "; ".join(outside)
            + "): CRS grading does not apply.",
            None,
        )
    best = fitting[0]
    e, last, onset, marker = best.exposure, best.last, best.onset, best.marker
    w = K.ONSET_BY_CLASS[e.drug_class]
    if onset is not None:
        reason = (
            f"CRS attributed to {e.drug} ({w.label}, last given {last:%Y-%m-%d}; {marker} "
            f"{onset:%Y-%m-%d %H:%M}, within the {w.days:g}-day window)"
        )
    else:
        reason = (
            f"CRS-associated therapy on record: {e.drug} ({w.label}, last given "
            f"{last:%Y-%m-%d}); no fever or recorded CRS since that dose"
        )
    others = [c.exposure for c in fitting[1:]]
    if others:
        reason += (
            "; also in its window: "
            + ", ".join(f"{o.drug} ({CLASS_LABEL[o.drug_class]})" for o in others)
            + (
                ", the less frequent or less recent cause"
                if any(o.drug_class != e.drug_class for o in others)
                else ", dosed earlier"
            )
        )
    if outside:
        reason += "; not attributable: " + "; ".join(outside)
    if w.yields_to_infection and not any(c.exposure.drug_class != e.drug_class for c in fitting):
        infection = _infection_at(data, onset or at, at)
        if infection is not None:
            return CrsAttribution(
                False,
                None,
                None,
                f"{infection} explains the findings, and {e.drug} ({w.label}, last given "
                f"{last:%Y-%m-%d}) is the only CRS-associated therapy: CRS grading does not "
                f"apply. {'Treat the infection.' if infection.startswith(('An infection', 'A positive')) else 'Treat the cause.'}",
                None,
            )
    if not w.yields_to_infection:
        # After T-cell therapy or an engager CRS is still graded, but a recorded infection (or
        # mimic) is named: both may need treating.
        also = _infection_at(data, onset or at, at)
        if also is not None:
            reason += f"; {also[0].lower()}{also[1:]} in the same window: treat it too"
    return CrsAttribution(True, e.drug, e.drug_class, reason + ".", onset, last, w.source)


def infection_at(data: PatientData, onset: datetime, at: datetime) -> str | None:
    """The CRS infection reading (below), shared with ICANS (`services.icans.other_causes`)."""
    return _infection_at(data, onset, at)


def _infection_at(data: PatientData, onset: datetime, at: datetime) -> str | None:
    """An infection recorded from `crs_infection_window` days before the onset up to `at`: an
    active Condition the reader excluded as an infection, or a positive culture or test."""
    start = onset - timedelta(days=K.value("crs_infection_window"))
    for c in data.conditions:
        t = c.onset or c.recorded
        if (
            c.active
            and c.excluded
            and "infection" in c.excluded.lower()
            and t is not None
            and start <= t <= at
        ):
            return f"An infection recorded {t:%Y-%m-%d} ({c.text})"
    for r in data.tests:
        if r.positive and start <= r.time <= at:
            return f"A positive {r.label} on {r.time:%Y-%m-%d}"
    mimics = {kind: label for kind, label, _ in K.CRS_MIMICS}
    for c in data.conditions:
        t = c.onset or c.recorded
        if c.active and c.kind in mimics and t is not None and start <= t <= at:
            return f"{mimics[c.kind]} recorded {t:%Y-%m-%d} ({c.text})"
    return None
