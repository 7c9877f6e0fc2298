"""FHIR date and dateTime parsing. Times without a zone are taken as UTC (and said so nowhere
else: FHIR requires a zone on dateTimes that have a time)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache


def parse_instant(raw: object) -> datetime | None:
    """A timezone-aware datetime from a FHIR date or dateTime, or None if it is not one."""
    if not isinstance(raw, str) or not raw or len(raw) > 64:
        return None  # the longest FHIR dateTime is 35 characters; nothing huge enters the cache
    return _parse(raw)


@lru_cache(maxsize=16384)  # a flowsheet row's readings share one time: parse it once
def _parse(raw: str) -> datetime | None:
    s = raw.strip()
    try:
        if len(s) == 4:  # YYYY
            return datetime(int(s), 1, 1, tzinfo=UTC)
        if len(s) == 7:  # YYYY-MM
            return datetime(int(s[:4]), int(s[5:7]), 1, tzinfo=UTC)
        if s.endswith("Z"):
            s = s[:-1] + "+00:00"
        t = datetime.fromisoformat(s)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t


def now() -> datetime:
    return datetime.now(UTC)
