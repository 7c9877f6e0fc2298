"""The assessment timeline as inline SVG, drawn on the server (no script, no CDN).

Stacked panels on one time axis over [window_start, at]: temperature, blood pressure, oxygen
support (episodes as bands, SpO2 as a line), norepinephrine-equivalent vasopressor dose,
inflammatory markers (one small panel each), and the CRS grade under each system. Drug doses
are vertical markers across every panel. Every text is escaped; styling is by class (the
stylesheet) and presentation attributes, so the page's CSP needs no inline styles.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup, escape

from services.format import local, zone_name
from services.knowledge.sources import GRADING_SYSTEMS as SYSTEM_LABELS
from services.model import O2Level
from services.timeutil import parse_instant

W = 960
LEFT = 160
RIGHT = 100
TOP = 34
PANEL_H = 62
GAP = 12
AXIS_H = 30

# UCUM codes as a clinician reads them (display only; values are never converted here)
UNIT_DISPLAY = {"Cel": "°C", "mm[Hg]": "mmHg", "ug/min": "µg/min", "[iU]/min": "units/min"}
LAB_LABELS = {"crp": "CRP", "ferritin": "Ferritin", "il6": "IL-6"}


def unit_label(ucum: str) -> str:
    return UNIT_DISPLAY.get(ucum, ucum)


@dataclass
class Panel:
    key: str
    title: str
    unit: str
    lines: list[tuple[str, str, list[tuple[datetime, float]]]]  # (css class, label, points)
    bands: list[tuple[datetime, datetime, str, int]] | None = None  # (start, end, label, level)
    steps: list[tuple[datetime, datetime, float]] | None = None
    fixed: tuple[float, float] | None = None
    grade_lines: bool = False
    refs: list[tuple[float, str]] | None = None  # reference lines: (value, label)


def _level(raw: Any) -> int:
    """O2 level as its rank: the timeline sends the O2Level name ("low_flow_cannula")."""
    if isinstance(raw, int):
        return raw
    try:
        return int(O2Level[str(raw).upper()])
    except KeyError:
        return 0


def _pts(series: list[dict[str, Any]] | None) -> list[tuple[datetime, float]]:
    out = []
    for p in series or []:
        t = parse_instant(p.get("t"))
        v = p.get("v")
        if t is not None and isinstance(v, (int, float)):
            out.append((t, float(v)))
    return sorted(out)


def build_panels(assessment: Any) -> list[Panel]:
    tl = assessment.timeline or {}
    series = tl.get("series") or {}
    units = tl.get("units") or {}
    at = assessment.at
    refs = tl.get("references") or {}

    def ref(*names: str) -> list[tuple[float, str]]:
        return [
            (float(r["value"]), str(r.get("label") or ""))
            for n in names
            for r in refs.get(n) or []
            if isinstance(r.get("value"), (int, float))
        ]

    panels = [
        Panel(
            "temperature",
            "Temperature",
            unit_label(units.get("temperature", "Cel")),
            [("s-temp", "Temperature", _pts(series.get("temperature")))],
            refs=ref("temperature"),
        ),
        Panel(
            "bp",
            "Blood pressure",
            unit_label(units.get("sbp", "mm[Hg]")),
            [
                ("s-sbp", "Systolic", _pts(series.get("sbp"))),
                ("s-map", "Mean arterial", _pts(series.get("map"))),
            ],
            refs=ref("sbp") + (ref("map") if series.get("map") else []),
        ),
    ]
    bands = []
    for ep in tl.get("o2_support") or []:
        s = parse_instant(ep.get("start"))
        e = parse_instant(ep.get("end")) or at
        if s is not None:
            bands.append((s, e, str(ep.get("label") or ""), _level(ep.get("level"))))
    panels.append(
        Panel(
            "oxygen",
            "Oxygen / SpO2",
            unit_label(units.get("spo2", "%")),
            [
                ("s-spo2", "SpO2", _pts(series.get("spo2"))),
                ("s-fio2", "FiO2", _pts(series.get("fio2"))),
            ],
            bands=bands,
            refs=ref("fio2") if series.get("fio2") else [],
        )
    )
    steps = []
    for seg in tl.get("norepinephrine_equivalent") or []:
        s = parse_instant(seg.get("start"))
        e = parse_instant(seg.get("end")) or at
        v = seg.get("value")
        if s is not None and isinstance(v, (int, float)):
            steps.append((s, e, float(v)))
    panels.append(Panel("nee", "Vasopressor", "NE-eq. µg/min", [], steps=steps))
    for lab, label in LAB_LABELS.items():
        pts = _pts(series.get(lab))
        if pts:
            panels.append(
                Panel(lab, label, unit_label(units.get(lab, "")), [(f"s-{lab}", label, pts)])
            )
    grade_lines = []
    for system, label in SYSTEM_LABELS.items():
        pts = [
            (p.time, float(p.grades[system]))
            for p in assessment.trajectory
            if p.grades.get(system) is not None
        ]
        grade_lines.append((f"g-{system}", label, pts))
    panels.append(Panel("grade", "CRS grade", "grade", grade_lines, fixed=(0, 4), grade_lines=True))
    panels += _icans_panels(assessment, series)
    return panels


def _icans_panels(assessment: Any, series: dict[str, Any]) -> list[Panel]:
    """The ICE score (or CAPD) lane and the ICANS grade, when there is any."""
    out = []
    for tool, label, top in (("ice", "ICE score", 10), ("capd", "CAPD", 32)):
        pts = _pts(series.get(tool))
        if pts:
            out.append(Panel(tool, label, "points", [(f"s-{tool}", label, pts)], fixed=(0, top)))
    icans = getattr(assessment, "icans", None)
    if icans is not None and icans.applies:
        pts = [
            (p.time, float(p.grades["astct2019"]))
            for p in icans.trajectory
            if p.grades.get("astct2019") is not None
        ]
        if any(v for _t, v in pts):
            out.append(
                Panel(
                    "icans",
                    "ICANS grade",
                    "grade",
                    [("g-icans", "ASTCT 2019", pts)],
                    fixed=(0, 4),
                    grade_lines=True,
                )
            )
    return out


COLUMN_PX = 4  # drawn points: at most the lowest and the highest of each 4-pixel column


def _decimate(pts: list[tuple[datetime, float]], x: Any) -> list[tuple[datetime, float]]:
    """At most the lowest and the highest point of each `COLUMN_PX` column, in time order: a
    week of q5-minute readings draws as fast as a day's, and no peak or trough is hidden (a
    fever spike stays on the chart with its tooltip). The table under the chart lists every
    value."""
    if len(pts) <= 2 * (W - LEFT - RIGHT) // COLUMN_PX:
        return pts
    keep: list[tuple[datetime, float]] = []
    column: list[tuple[datetime, float]] = []
    current = None
    for p in pts:
        col = int(x(p[0]) // COLUMN_PX)
        if col != current and column:
            keep += _extremes(column)
            column = []
        current = col
        column.append(p)
    keep += _extremes(column)
    return keep


def _extremes(column: list[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    if len(column) <= 2:
        return column
    lo = min(column, key=lambda p: p[1])
    hi = max(column, key=lambda p: p[1])
    return sorted({lo, hi})


def _ticks(lo: float, hi: float) -> list[float]:
    """Two or three round values inside [lo, hi] for the axis."""
    span = hi - lo
    if span <= 0:
        return []
    import math

    raw = span / 3
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    out = []
    v = first
    while v <= hi - step * 0.1:
        out.append(round(v, 6))
        v += step
    return out[:4]


def _short(t: datetime) -> str:
    """Day and time in the site's zone (IMMUNOTOX_TIMEZONE)."""
    return f"{local(t):%d %b %H:%M}"


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 100 or v == int(v) else f"{v:.1f}"


def render(assessment: Any) -> Markup:
    t0: datetime = assessment.window_start
    t1: datetime = assessment.at
    if t1 <= t0:
        t0 = t1 - timedelta(days=1)
    span = (t1 - t0).total_seconds()
    plot_w = W - LEFT - RIGHT

    def x(t: datetime) -> float:
        f = (t - t0).total_seconds() / span
        return round(LEFT + max(0.0, min(1.0, f)) * plot_w, 1)

    panels = build_panels(assessment)
    height = TOP + len(panels) * (PANEL_H + GAP) + AXIS_H
    out: list[str] = []
    add = out.append
    add(
        f'<svg class="timeline" viewBox="0 0 {W} {height}" role="img" '
        'aria-labelledby="tl-title tl-desc" xmlns="http://www.w3.org/2000/svg">'
    )
    add(
        '<title id="tl-title">Timeline of vital signs, oxygen, vasopressors, labs and grade</title>'
    )
    add(
        '<desc id="tl-desc">'
        + str(
            escape(
                f"From {_short(t0)} to {_short(t1)} ({zone_name()}). "
                "The same values are listed in the table below the chart."
            )
        )
        + "</desc>"
    )
    y = TOP
    for p in panels:
        add(f'<g class="panel panel-{escape(p.key)}">')
        add(f'<rect class="panel-bg" x="{LEFT}" y="{y}" width="{plot_w}" height="{PANEL_H}"/>')
        add(
            f'<text class="panel-title" x="{LEFT - 44}" y="{y + 16}" text-anchor="end">'
            f"{escape(p.title)}</text>"
        )
        add(
            f'<text class="panel-unit" x="{LEFT - 44}" y="{y + 32}" text-anchor="end">'
            f"{escape(p.unit)}</text>"
        )
        values = [v for _c, _l, pts in p.lines for _t, v in pts]
        values += [v for _s, _e, v in p.steps or []]
        if values:
            values += [v for v, _l in p.refs or []]  # a reference line stays on the chart
        if p.fixed:
            lo, hi = p.fixed
        elif values:
            lo, hi = min(values), max(values)
            if p.steps is not None:
                lo = 0.0
            pad = (hi - lo) * 0.12 or max(abs(hi) * 0.1, 1.0)
            lo, hi = lo - (pad if p.steps is None else 0), hi + pad
        else:
            lo, hi = 0.0, 1.0

        def yv(v: float, _lo: float = lo, _hi: float = hi, _y: float = y) -> float:
            return round(_y + PANEL_H - 4 - (v - _lo) / (_hi - _lo) * (PANEL_H - 8), 1)

        if not p.fixed and (values or p.steps):
            for tv in _ticks(lo, hi):  # axis values
                add(
                    f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{yv(tv)}" '
                    f'y2="{yv(tv)}"/><text class="axis-value" x="{LEFT - 4}" y="{yv(tv) + 4}" '
                    f'text-anchor="end">{escape(_fmt(tv))}</text>'
                )
        for rv, rlabel in p.refs or []:
            add(
                f'<line class="ref-line" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{yv(rv)}" '
                f'y2="{yv(rv)}"><title>{escape(rlabel)}: {escape(_fmt(rv))} {escape(p.unit)}'
                f'</title></line><text class="ref-label" x="{LEFT + 4}" y="{yv(rv) - 3}">'
                f"{escape(_fmt(rv))} {escape(p.unit)} {escape(rlabel)}</text>"
            )
        for s, e, label, level in p.bands or []:
            x0, x1 = x(s), x(e)
            add(
                f'<rect class="o2-band o2-level-{level}" x="{x0}" y="{y}" '
                f'width="{max(x1 - x0, 1.5)}" height="{PANEL_H}"><title>'
                f"{escape(label)} from {_short(s)}</title></rect>"
            )
            room = int((x1 - x0 - 6) / 5.6)  # characters that fit in the band at 10px
            if room >= 6:
                short = label if len(label) <= room else label[: room - 1] + "…"
                add(
                    f'<text class="o2-label" x="{x0 + 4}" y="{y + PANEL_H - 6}">'
                    f"{escape(short)}</text>"
                )
        if p.steps is not None:
            for s, e, v in p.steps:
                x0, x1 = x(s), x(e)
                add(
                    f'<rect class="nee-step" x="{x0}" y="{yv(v)}" width="{max(x1 - x0, 1.5)}" '
                    f'height="{round(y + PANEL_H - 4 - yv(v), 1)}"><title>{escape(_fmt(v))} µg/min '
                    f"from {_short(s)}</title></rect>"
                )
            if p.steps:
                last = p.steps[-1][2]
                add(
                    f'<text class="last-value s-nee" x="{LEFT + plot_w + 6}" '
                    f'y="{yv(last) + 4}">{escape(_fmt(last))}</text>'
                )
            else:
                add(
                    f'<text class="no-data" x="{LEFT + 8}" y="{y + PANEL_H / 2 + 4}">'
                    "no vasopressor in this window</text>"
                )
        any_points = False
        for idx, (cls, label, pts) in enumerate(p.lines):
            if not pts:
                continue
            any_points = True
            if p.grade_lines:
                # one lane per system: the grade as a block (its number written in it) from
                # each point to the next, so the systems never draw over each other
                lane_h = (PANEL_H - 4) / len(p.lines)
                top = y + 2 + idx * lane_h
                for i, (t, v) in enumerate(pts):
                    nxt = pts[i + 1][0] if i + 1 < len(pts) else t1
                    x0, x1 = x(t), x(nxt)
                    g = int(v)
                    add(
                        f'<rect class="grade-seg gs-{g}" x="{x0}" y="{round(top, 1)}" '
                        f'width="{max(round(x1 - x0, 1), 1.0)}" height="{round(lane_h - 2, 1)}">'
                        f"<title>{escape(label)} grade {g} from {_short(t)}</title></rect>"
                    )
                    if g and x1 - x0 >= 12:
                        add(
                            f'<text class="grade-num" x="{round((x0 + x1) / 2, 1)}" '
                            f'y="{round(top + lane_h / 2 + 3, 1)}" text-anchor="middle">{g}</text>'
                        )
                add(
                    f'<text class="lane-label {cls}" x="{LEFT + plot_w + 6}" '
                    f'y="{round(top + lane_h / 2 + 4, 1)}">{escape(label)}</text>'
                )
                continue
            pts = _decimate(pts, x)  # the drawn points; the data table keeps every value
            coords = " ".join(f"{x(t)},{yv(v)}" for t, v in pts)
            add(f'<polyline class="line {cls}" points="{coords}"/>')
            for t, v in pts:
                add(
                    f'<circle class="pt {cls}" cx="{x(t)}" cy="{yv(v)}" r="2.5"><title>'
                    f"{escape(label)} {escape(_fmt(v))} {escape(p.unit)} at {_short(t)}"
                    "</title></circle>"
                )
            last_t, last_v = pts[-1]
            # the last value with its time: a reading two days old is not "now"
            ly = min(max(yv(last_v) + 4, y + 12), y + PANEL_H - 14)
            add(
                f'<text class="last-value {cls}" x="{LEFT + plot_w + 6}" y="{ly}">'
                f"{escape(_fmt(last_v))}</text>"
                f'<text class="last-time" x="{LEFT + plot_w + 6}" y="{ly + 13}">'
                f"{escape(_short(last_t))}</text>"
            )
        drawn = [(cls, label) for cls, label, pts in p.lines if pts]  # a legend only for these
        if p.grade_lines:
            pass  # each lane is labelled at its end
        elif p.lines and not any_points and not p.bands:
            add(
                f'<text class="no-data" x="{LEFT + 8}" y="{y + PANEL_H / 2 + 4}">'
                "no data in this window</text>"
            )
        elif len(drawn) > 1:
            lx = LEFT + 6
            for cls, label in drawn:
                add(f'<text class="legend {cls}" x="{lx}" y="{y + 13}">{escape(label)}</text>')
                lx += 130
        add("</g>")
        y += PANEL_H + GAP
    # dose markers across all panels
    bottom = y - GAP
    for d in (assessment.timeline or {}).get("doses") or []:
        t = parse_instant(d.get("time"))
        if t is None or t < t0 or t > t1:
            continue
        xd = x(t)
        cls = escape(str(d.get("drug_class") or "other"))
        drug = str(d.get("drug") or "")
        amount = str(d.get("dose") or "")
        course = str(d.get("course") or "")
        label = drug[:14] + (f" {amount}" if amount else "")
        add(
            f'<g class="dose dose-{cls}"><line x1="{xd}" x2="{xd}" y1="{TOP - 4}" '
            f'y2="{bottom}"/><text x="{xd + 2}" y="{TOP - 8}">{escape(label[:24])}</text>'
            f"<title>{escape(drug)}{escape(' ' + amount if amount else '')}"
            f"{escape(', ' + course if course else '')} "
            f"({escape(str(d.get('kind') or ''))}) at {_short(t)}</title></g>"
        )
    # time axis
    step = _tick_step(span)
    step_h = int(step.total_seconds() // 3600)
    lt0 = local(t0)
    tick = lt0.replace(hour=0, minute=0, second=0, microsecond=0)  # local midnight
    while tick < lt0:
        tick += timedelta(hours=min(step_h, 24))
    while tick <= t1:
        xt = x(tick)
        add(
            f'<line class="tick" x1="{xt}" x2="{xt}" y1="{bottom}" y2="{bottom + 5}"/>'
            f'<text class="tick-label" x="{xt}" y="{bottom + 18}" text-anchor="middle">'
            f"{tick:%d %b %H:%M}</text>"
        )
        tick += step
    add(
        f'<text class="axis-note" x="{LEFT + plot_w}" y="{bottom + 29}" text-anchor="end">'
        f"times in {escape(zone_name())}</text>"
    )
    add("</svg>")
    return Markup("".join(out))  # noqa: S704 - every interpolated text above is escaped


def _tick_step(span_s: float) -> timedelta:
    hours = span_s / 3600
    for h in (3, 6, 12, 24, 48, 96):
        if hours / h <= 8:
            return timedelta(hours=h)
    return timedelta(days=7)
