"""The ICE assessment entered at the bedside: the answers, their total, and its ICANS grade.

The tasks and their points are the rows of `knowledge.icans.ICE_ITEMS` (ASTCT 2019, Table 2).
Every task must be answered: a task left blank is not read as a wrong answer (a form sent half
filled would otherwise score low and grade high). The grade comes from the ICANS grader
(`services.icans.grade_window`) reading the total as an ICE score at the time it was taken, so
the form grades exactly as the record will once the score is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from services import icans
from services.knowledge import icans as K
from services.model import Criterion, Missing, NeuroFact

FIELD_PREFIX = "ice_"


@dataclass(frozen=True)
class IceEntry:
    """The points scored on each task (`knowledge.icans.ICE_ITEMS` ids) and their total."""

    points: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        return sum(p for _, p in self.points)


@dataclass(frozen=True)
class IceGrade:
    """The ICANS grade of the ICE domain for one score (ASTCT 2019): `grade` 0 when the score
    is normal; `criteria` the band that fired; `missing` what would change it (an ICE score of
    0 in a patient who cannot be roused is grade 4)."""

    score: int
    max_score: int
    grade: int
    criteria: tuple[Criterion, ...]
    missing: tuple[Missing, ...]


def field_name(item_id: str) -> str:
    return FIELD_PREFIX + item_id


def parse(form: Mapping[str, str]) -> tuple[IceEntry | None, dict[str, str]]:
    """The entry, or None and a message per task that is not answered or not a valid score."""
    points: list[tuple[str, int]] = []
    problems: dict[str, str] = {}
    for item in K.ICE_ITEMS:
        raw = (form.get(field_name(item.id)) or "").strip()
        if not raw:
            problems[item.id] = "not answered"
            continue
        if not raw.isdigit() or not 0 <= int(raw) <= item.points:
            problems[item.id] = f"a score from 0 to {item.points}"
            continue
        points.append((item.id, int(raw)))
    if problems:
        return None, problems
    return IceEntry(tuple(points)), {}


def grade(entry: IceEntry, at: datetime) -> IceGrade:
    """The ICE-domain grade of `entry` as the ICANS grader reads an ICE score taken at `at`
    (an adult or a child over 12: the form is the ICE score, never the CAPD)."""
    fact = NeuroFact(kind="ice", time=at, ref="ICE assessment", text="ICE score", score=entry.total)
    out = icans.grade_window([fact], at, at, child=False)
    return IceGrade(
        score=entry.total,
        max_score=int(K.value("ice_max")),
        grade=out.grade or 0,
        criteria=tuple(out.criteria),
        missing=tuple(m for m in out.missing if m.data != "ICE score"),
    )
