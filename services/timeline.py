"""The data behind the app's timeline: trends inside the assessment window, in domain units."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services import vasopressors as V
from services.knowledge import codes
from services.model import Courses, PatientData

TREND_SERIES = (
    "temperature",
    "sbp",
    "dbp",
    "map",
    "heart_rate",
    "spo2",
    "o2_flow",
    "fio2",
    "crp",
    "ferritin",
    "il6",
)
DOSE_CLASSES = (
    "checkpoint_inhibitor",
    "cellular_therapy",
    "bispecific",
    "anti_cytokine",
    "corticosteroid",
    "immunoglobulin",
)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def build(
    data: PatientData, start: datetime, at: datetime, courses: Courses | None = None
) -> dict[str, Any]:
    """`courses` (optional) numbers the tocilizumab doses of the current episode."""
    series: dict[str, list[dict[str, Any]]] = {}
    units: dict[str, str] = {}
    for name in TREND_SERIES:
        pts = [
            {"t": s.time.isoformat(), "v": s.value}
            for s in data.samples(name)
            if start <= s.time <= at
        ]
        if pts:
            series[name] = pts
            units[name] = codes.series_by_name(name).unit
    for tool in ("ice", "capd"):  # ICANS assessment scores (knowledge.icans TOOLS)
        pts = [
            {"t": f.time.isoformat(), "v": f.score}
            for f in data.neuro
            if f.kind == tool and f.score is not None and start <= f.time <= at
        ]
        if pts:
            series[tool] = pts
            units[tool] = "{score}"
    o2 = [
        {
            "start": _iso(e.start),
            "end": _iso(e.end),
            "level": e.level.name.lower(),
            "label": e.label,
        }
        for e in data.o2_episodes
        if e.start <= at and (e.end is None or e.end >= start)
    ]
    vaso = [
        {
            "drug": i.drug,
            "start": _iso(i.start),
            "end": _iso(i.end),
            "rate": i.rate,
            "unit": codes.drug_by_name(i.drug).extra["unit"],  # type: ignore[union-attr]
        }
        for i in data.infusions
        if i.start <= at and (i.end is None or i.end >= start)
    ]
    nee = [
        {"start": _iso(max(s.start, start)), "end": _iso(s.end), "value": s.ne_equivalent()}
        for s in V.segments(data.infusions, at)
        if s.end >= start
    ]
    course_of: dict[str, str] = {}
    toci = courses.tocilizumab if courses is not None else None
    if toci is not None:
        for i, g in enumerate(toci.doses, 1):
            course_of[g.ref] = f"dose {i} of {toci.max_doses}"
    doses = []
    for d in data.drugs:
        if not (
            d.drug_class in DOSE_CLASSES
            and d.kind == "administration"
            and d.time
            and start <= d.time <= at
        ):
            continue
        item: dict[str, Any] = {
            "time": _iso(d.time),
            "drug": d.drug,
            "drug_class": d.drug_class,
            "kind": d.kind,
        }
        if d.dose_mg is not None:
            item["dose"] = f"{d.dose_mg:g} mg"
        elif d.dose_value is not None:
            item["dose"] = f"{d.dose_value:g} {d.dose_unit or ''}".strip()
        if d.ref in course_of:
            item["course"] = course_of[d.ref]
        doses.append(item)
    from services.crs import hypotension_limits
    from services.knowledge import crs as KC

    sbp_limit, map_limit = hypotension_limits(data, at)
    # Reference lines for the chart, from the grading rows (values in the series' units).
    references = {
        "temperature": [{"value": KC.value("fever"), "label": "fever"}],
        "sbp": [{"value": sbp_limit, "label": "systolic limit for age"}],
        "fio2": [
            {"value": KC.value("lee_fio2"), "label": "FiO2: grade 3 at or above (Lee 2014, CTCAE)"}
        ],
    }
    if map_limit is not None:
        references["map"] = [{"value": map_limit, "label": "mean limit for age"}]
    return {
        "references": references,
        "series": series,
        "units": units,
        "o2_support": o2,
        "vasopressors": vaso,
        "norepinephrine_equivalent": nee,
        "doses": doses,
    }
