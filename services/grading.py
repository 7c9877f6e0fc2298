"""What the CRS and ICANS graders share: a criterion from a rule row, a condition that lasts
overlapping a window, and the trajectory graded hour by hour with its worst point and its
changes. Each grader keeps its own findings and rules; the windows' spans are rows of its
knowledge module ("window" hours, "trajectory" days).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Protocol

from services.model import Criterion, Evidence, TrajectoryPoint


class RuleRow(Protocol):
    id: str
    grade: int
    text: str
    source: str


def criterion(rule: RuleRow, evidence: Iterable[Evidence] = ()) -> Criterion:
    """The criterion a rule row gives when it fires, with what it rests on."""
    return Criterion(rule.id, rule.grade, rule.text, rule.source, tuple(evidence))


def overlaps(start: datetime, end: datetime | None, a: datetime, b: datetime) -> bool:
    """Whether something lasting from `start` to `end` (None: still going) touches [a, b]."""
    return start <= b and (end is None or end >= a)


def trajectory_hours(days: float) -> int:
    """The number of hourly steps back over a trajectory of `days` days."""
    return int(days * 24)


def hourly(
    at: datetime,
    hours: int,
    window: timedelta,
    grades: Callable[[datetime, datetime], dict[str, int | None]],
) -> list[TrajectoryPoint]:
    """One point an hour from `hours` before `at` up to `at` itself (oldest first), each with
    the grades (system -> grade) of the window of length `window` ending at that hour."""
    points: list[TrajectoryPoint] = []
    for k in range(hours, -1, -1):
        b = at - timedelta(hours=k)
        points.append(TrajectoryPoint(b, grades(b - window, b)))
    return points


def worst(points: list[TrajectoryPoint], system: str) -> TrajectoryPoint | None:
    """The first point with the highest grade under `system` (None: no grade at any point)."""
    best: TrajectoryPoint | None = None
    for p in points:
        g = p.grades[system]
        if g is not None and (best is None or g > (best.grades[system] or 0)):
            best = p
    return best


def changes(points: list[TrajectoryPoint]) -> list[TrajectoryPoint]:
    """The first point, every point where a grade changes, and the last point."""
    out: list[TrajectoryPoint] = []
    for p in points:
        if not out or p.grades != out[-1].grades:
            out.append(p)
    if points and out[-1] is not points[-1]:
        out.append(points[-1])
    return out


def whole_years(born: date, on: date) -> int:
    """Age in completed years on the day `on` (the age-dependent rows read it)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
