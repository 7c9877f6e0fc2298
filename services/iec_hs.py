"""A screen for the IEC-associated HLH-like syndrome (IEC-HS, Hines 2023): a flag with its
evidence, never a diagnosis. Ferritin (above twice the upper limit of normal or the value before
the therapy, or doubling within 48 hours) is required, with at least one supporting finding
(transaminases, fibrinogen, triglycerides, cytopenias). Every threshold is a row of
`knowledge.icans` (HS_*)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services import format as fmt
from services.knowledge import codes
from services.knowledge import crs as KC
from services.knowledge import icans as K
from services.model import Evidence, PatientData, Sample


def _ev(series: str, s: Sample, extra: str = "") -> dict[str, Any]:
    sc = codes.series_by_name(series)
    what = f"{sc.label} {fmt.exact(s.value)} {sc.unit}{extra}"
    return Evidence(s.ref, what, s.time, s.value, sc.unit).to_dict()


def screen(data: PatientData, at: datetime, therapy_time: datetime | None) -> dict[str, Any]:
    a = at - timedelta(hours=K.HS_WINDOW_H[0])
    recent = {
        name: [s for s in data.samples(name) if a <= s.time <= at]
        for name in {c.series for c in K.HS_CRITERIA}
    }
    met: list[dict[str, Any]] = []
    missing: list[dict[str, str]] = []
    not_new: list[str] = []

    def hit(c: K.HsCriterion, evidence: list[dict[str, Any]]) -> None:
        met.append(
            {"id": c.id, "kind": c.kind, "text": c.text, "source": c.source, "evidence": evidence}
        )

    for c in K.HS_CRITERIA:
        ss = recent[c.series]
        label = codes.series_by_name(c.series).label
        if c.id == "iec_hs.ferritin_rising":
            _rising(c, data, at, hit)
            continue
        if not ss:
            missing.append({"data": label, "why": f"Needed for: {c.text}"})
            continue
        if c.below is not None:
            s = min(ss, key=lambda x: x.value)
            if s.value >= c.below:
                continue
            if not c.new_or_worse:
                hit(c, [_ev(c.series, s)])
                continue
            base, basis = _baseline(data, c.series, s, therapy_time)
            if base is None:
                missing.append(
                    {"data": f"{label} before the therapy", "why": K.HS_BASELINE_MISSING}
                )
            elif base.value >= c.below:
                hit(c, [_ev(c.series, base, f" ({basis})"), _ev(c.series, s, " (new)")])
            elif s.value <= (1 - K.HS_WORSENING[0]) * base.value:
                hit(c, [_ev(c.series, base, f" ({basis})"), _ev(c.series, s, " (worsening)")])
            else:
                not_new.append(
                    f"{label} {fmt.exact(s.value)} {codes.series_by_name(c.series).unit} "
                    f"not counted: already {fmt.exact(base.value)} ({basis})"
                )
        elif c.above is not None:
            s = max(ss, key=lambda x: x.value)
            if s.value > c.above:
                hit(c, [_ev(c.series, s)])
        elif c.above_uln is not None:
            s = max(ss, key=lambda x: x.value)
            ref, basis = s.high, "ULN"
            if c.series == "ferritin":
                before = [
                    x
                    for x in data.samples("ferritin")
                    if therapy_time is not None and x.time <= therapy_time
                ]
                if before and (ref is None or before[-1].value > ref):
                    ref, basis = before[-1].value, "the value before the therapy"
            assumed = False
            if ref is None and c.series in KC.FALLBACK_ULN:
                ref, assumed = KC.FALLBACK_ULN[c.series][0], True
            if ref is None or ref <= 0:
                missing.append(
                    {
                        "data": f"reference range for {label}, or a value before the therapy",
                        "why": f"Needed for: {c.text}",
                    }
                )
                continue
            if s.value > c.above_uln * ref:
                extra = f" = {s.value / ref:.1f} × {basis} {fmt.exact(ref)}" + (
                    " (ULN assumed: no reference range sent)" if assumed else ""
                )
                hit(c, [_ev(c.series, s, extra)])
    key = [m for m in met if m["kind"] == "key"]
    supporting = [m for m in met if m["kind"] == "supporting"]
    if key and supporting:
        status = "positive"
        text = "IEC-HS screen positive: ferritin criterion with " + ", ".join(
            m["text"] for m in supporting
        )
    elif key:
        status = "ferritin_only"
        text = "Ferritin criterion met, no supporting finding: watch for IEC-HS"
    elif any(recent[c.series] for c in K.HS_CRITERIA):
        status = "negative"
        text = "IEC-HS screen negative"
    else:
        status = "no_data"
        text = "No ferritin or other IEC-HS laboratory values in the window"
    return {
        "flag": status == "positive",
        "status": status,
        "text": text,
        "criteria": met,
        "missing": missing,
        "note": K.HS_NOTE,
        "not_new": not_new,
        "pathway": K.HS_PATHWAY if status == "positive" else None,
        "pathway_source": K.HS_PATHWAY_SOURCE,
        "window_hours": K.HS_WINDOW_H[0],
        "sources": ["hines2023", "hlh2004"],
    }


def _baseline(
    data: PatientData, series: str, s: Sample, therapy_time: datetime | None
) -> tuple[Sample | None, str]:
    """The value a cytopenia is compared with: the last before the therapy, else the earliest
    on record before `s` (None: neither)."""
    every = data.samples(series)
    if therapy_time is not None:
        before = [x for x in every if x.time <= therapy_time]
        if before:
            return before[-1], "before the therapy"
    earlier = [x for x in every if x.time < s.time]
    if earlier:
        return earlier[0], "earliest on record, none before the therapy"
    return None, ""


def crs_phase(hs: dict[str, Any] | None, crs_grade: int | None, onset: datetime | None) -> None:
    """Adds to the screen `hs` the phase of CRS beside it (`crs_phase`, `crs_phase_source`)."""
    if hs is None:
        return
    if crs_grade:
        text = K.HS_PHASE["active"].format(grade=crs_grade)
    elif onset is not None:
        text = K.HS_PHASE["after"].format(onset=onset.strftime("%Y-%m-%d"))
    else:
        text = K.HS_PHASE["none"]
    hs["crs_phase"] = text
    hs["crs_phase_source"] = K.HS_PHASE_SOURCE


def ferritin_rise(data: PatientData, at: datetime) -> tuple[Sample, Sample] | None:
    """The rapid ferritin rise of `knowledge.icans` (row iec_hs.ferritin_rising): the latest
    ferritin of the screening window (HS_WINDOW_H before `at`) against the lowest value of the
    HS_RISING_H before it; (that lowest value, the latest) when it is at least HS_RISING_FACTOR
    times it, else None. Also read by `services.changes` as a threshold crossing."""
    a = at - timedelta(hours=K.HS_WINDOW_H[0])
    ss = [s for s in data.samples("ferritin") if a <= s.time <= at]
    if not ss:
        return None
    last = ss[-1]
    since = last.time - timedelta(hours=K.HS_RISING_H[0])
    earlier = [x for x in data.samples("ferritin") if since <= x.time < last.time]
    if not earlier:
        return None
    low = min(earlier, key=lambda x: x.value)
    if low.value > 0 and last.value >= K.HS_RISING_FACTOR * low.value:
        return low, last
    return None


def _rising(c: K.HsCriterion, data: PatientData, at: datetime, hit) -> None:
    rise = ferritin_rise(data, at)
    if rise is not None:
        hit(c, [_ev("ferritin", rise[0]), _ev("ferritin", rise[1])])
