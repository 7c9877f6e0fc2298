"""A stand-in for `services.assess.assess`, used only while the domain core is absent, so the
launch tests exercise the web flow. It reads temperatures and builds a plain Assessment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.model import Assessment, GradeResult, TrajectoryPoint
from services.timeutil import parse_instant


def assess(resources: list[dict[str, Any]], at: datetime | None = None, **kw: Any) -> Assessment:
    at = at or datetime.now(UTC)
    temps = []
    for r in resources:
        if r.get("resourceType") != "Observation":
            continue
        codes = {c.get("code") for c in (r.get("code") or {}).get("coding") or []}
        t = parse_instant(r.get("effectiveDateTime"))
        if "8310-5" in codes and t:
            temps.append({"t": t.isoformat(), "v": r["valueQuantity"]["value"]})
    grade = 1 if temps else None
    crs = {
        s: GradeResult(system=s, grade=grade, criteria=(), missing=(), at=at)
        for s in ("lee2014", "astct2019", "ctcae5")
    }
    point = TrajectoryPoint(at, {s: grade for s in crs})
    return Assessment(
        at=at,
        ruleset_version="test-stand-in",
        age_years=None,
        weight=None,
        deceased=False,
        crs=crs,
        crs_worst={s: point for s in crs},
        trajectory=[point],
        window_start=at - timedelta(days=4),
        exposures=[],
        irae=[],
        recommendations=[],
        data_quality=[],
        disclaimer="test stand-in",
        timeline={"series": {"temperature": temps}, "units": {"temperature": "Cel"}},
    )
