"""One formatter for numbers, doses and plain text, used by every view (cards, page, command
line) and by the FHIR writer. Clinicians read "624 mg", "78-156 mg/day", "0.5 mg/kg", "39.1 °C",
"5 µg/min": no trailing zeros, no exponents, at most four significant digits below 1,000 and
whole numbers above, units as clinicians write them (never UCUM codes such as "Cel")."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo
from typing import Any

from services.model import Dose


def num(v: float | None) -> str:
    """4 significant digits below 1,000, whole numbers from 1,000; "?" for an unknown value."""
    if v is None:
        return "?"
    v = float(v)
    if abs(v) >= 1000:
        return f"{v:.0f}"
    if v.is_integer():
        return str(int(v))
    s = f"{v:.4g}"
    if "e" in s:  # very small values: plain decimals, never exponent notation
        s = f"{v:.6f}".rstrip("0").rstrip(".")
    return s


def exact(v: float) -> str:
    """A number quoted as the record or a table gives it: trailing zeros dropped, up to six
    significant digits, never an exponent ("0.5", "12", "79.8323", "1250")."""
    v = float(v)
    if v.is_integer():
        return str(int(v))
    s = f"{v:g}"
    if "e" in s:
        s = f"{v:.6f}".rstrip("0").rstrip(".")
    return s


def charted(v: float | None) -> str:
    """A measurement, rate or daily dose as charted: one decimal at most ("38.9", "37.5", "5");
    a value below 1 keeps its digits ("0.03" units/min, "0.08" µg/kg/min); "?" when unknown."""
    if v is None:
        return "?"
    if abs(v) < 1:
        return num(v)
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}".rstrip("0").rstrip(".")


def kg(v: float | None) -> str:
    """A body weight as clinicians write it: one decimal at most ("79.8", "80"); "?" unknown."""
    if v is None:
        return "?"
    r = round(float(v), 1)
    return str(int(r)) if r.is_integer() else f"{r:.1f}"


# UCUM units as clinicians write them on a dose line (the JSON keeps UCUM).
UNIT_DISPLAY = {"[iU]/d": "units/day", "[iU]": "units", "ug/d": "µg/day", "ug": "µg"}


def unit(u: str) -> str:
    """A dose unit as clinicians write it: "[iU]/d" is "units/day", "ug/d" is "µg/day"."""
    return UNIT_DISPLAY.get(u, u)


def per_kg(u: str) -> str:
    """The per-kilogram form of a dose unit: "mg/d" → "mg/kg/d", "[iU]/d" → "units/kg/day"."""
    shown = unit(u)
    base, slash, per = shown.partition("/")
    return f"{base}/kg/{per}" if slash else f"{base}/kg"


def dose(d: Dose) -> str:
    """The amount and unit of a dose: "624 mg", "78-156 mg/day"."""
    shown = UNITS.get(d.unit, unit(d.unit))
    if d.value is not None:
        return f"{num(d.value)} {shown}"
    return f"{num(d.low or 0)}-{num(d.high or 0)} {shown}"


def plain(text: Any, limit: int | None = None) -> str:
    """One line of plain text as a clinician reads it: control characters and line breaks become
    spaces, UCUM codes the units clinicians write; cut at a word boundary with an ellipsis when
    longer than `limit`."""
    s = clinical(re.sub(r"[\x00-\x1f\x7f]+", " ", str(text)).strip())
    s = re.sub(r"\s{2,}", " ", s)
    if limit is not None and len(s) > limit:
        s = s[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"
    return s


# UCUM codes as clinicians write them. Codes not listed are shown as they are.
UNITS: dict[str, str] = {
    "Cel": "°C",
    "[degF]": "°F",
    "mm[Hg]": "mmHg",
    "ug": "µg",
    "ug/min": "µg/min",
    "ug/h": "µg/h",
    "ug/kg/min": "µg/kg/min",
    "ug/kg/h": "µg/kg/h",
    "[iU]": "units",
    "[iU]/min": "units/min",
    "[iU]/h": "units/h",
    "[iU]/d": "units/day",
    "[iU]/kg/d": "units/kg/day",
    "U/min": "units/min",
    "mg/d": "mg/day",
    "g/d": "g/day",
    "mg/kg/d": "mg/kg/day",
    "g/kg/d": "g/kg/day",
    "[lb_av]": "lb",
    "/min": "/min",
}
_UCUM_IN_TEXT = re.compile(
    r"(?<![\w\[\]/])("
    + "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True) if u != "/min")
    + r")(?![\w\[\]/])"
)


def clinical(text: str) -> str:
    """A sentence as clinicians write it: units, and sources by name ("lee2014" -> "Lee 2014")."""
    return source_names(units_in_text(text))


_SOURCE_ID: re.Pattern[str] | None = None


def source_name(source_id: str) -> str:
    """A source as clinicians name it: "Lee 2014", "ASCO 2021 irAE guideline"."""
    from services.knowledge.sources import GRADING_SYSTEMS, SOURCES

    if source_id in GRADING_SYSTEMS:
        return GRADING_SYSTEMS[source_id]
    return SOURCES[source_id].label if source_id in SOURCES else source_id


def source_names(text: str) -> str:
    """Every internal source id in a sentence replaced by the source's name."""
    global _SOURCE_ID
    if _SOURCE_ID is None:
        from services.knowledge.sources import GRADING_SYSTEMS, SOURCES

        ids = sorted({*SOURCES, *GRADING_SYSTEMS} - {"immunotox"}, key=len, reverse=True)
        _SOURCE_ID = re.compile(r"(?<![\w/.-])(" + "|".join(map(re.escape, ids)) + r")(?![\w/-])")
    return _SOURCE_ID.sub(lambda m: source_name(m.group(1)), text)


def units_in_text(text: str) -> str:
    """Every UCUM code in a sentence written as clinicians write it ("39.1 Cel" -> "39.1 °C")."""
    return _UCUM_IN_TEXT.sub(lambda m: UNITS[m.group(1)], text)


def refs(sources: Any) -> list[str]:
    """Source references one by one: a row's "asco2021: Table 7.7; pembro_crs_qa" is two, while
    a semicolon inside one locator ("Table 2; text") is not split."""
    from services.knowledge.sources import SOURCES

    out: list[str] = []
    for ref in sources or ():
        parts = [p for p in str(ref).split(";") if p.strip()]
        for i, part in enumerate(parts):
            if i > 0 and part.partition(":")[0].strip() not in SOURCES:
                out[-1] += ";" + part
            else:
                out.append(part.strip())
    return out


# --------------------------------------------------------------------------------------------
# Local time: the site's time zone (IMMUNOTOX_TIMEZONE), set for the duration of one rendering.
# --------------------------------------------------------------------------------------------

_ZONE: ContextVar[tzinfo] = ContextVar("immunotox_display_zone", default=UTC)


def zone(name: str | tzinfo | None) -> tzinfo:
    """An IANA time zone ("Europe/Berlin"); UTC when unset. A name the time zone database does
    not know is a ValueError (the setting stops start-up rather than show wrong times)."""
    if isinstance(name, tzinfo):
        return name
    if not name or name.strip().upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(
            f"time zone {name!r} is not an IANA time zone name (e.g. Europe/Berlin, "
            "America/New_York, UTC)"
        ) from e


@contextmanager
def display_zone(name: str | tzinfo | None) -> Iterator[tzinfo]:
    """Times rendered inside the block are in this zone."""
    token = _ZONE.set(zone(name))
    try:
        yield _ZONE.get()
    finally:
        _ZONE.reset(token)


def zone_name() -> str:
    """The zone times are shown in: "Europe/Berlin", "UTC"."""
    z = _ZONE.get()
    return getattr(z, "key", None) or str(z)


def local(t: datetime) -> datetime:
    """`t` in the display zone (a naive time is read as UTC)."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(_ZONE.get())


def when(t: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time in the display zone with the zone shown: "2026-11-20 13:00 CET"."""
    if t is None:
        return "time not recorded"
    lt = local(t)
    return f"{lt.strftime(fmt)} {lt.tzname() or zone_name()}"


def ago(t: datetime | None, now: datetime | None) -> str:
    """How long before `now`: "45 min ago", "3 h ago", "2 days ago"; "" when unknown or later."""
    if t is None or now is None:
        return ""
    s = (now - t).total_seconds()
    if s < 0:
        return ""
    if s < 3600:
        return f"{int(s // 60)} min ago"
    if s < 48 * 3600:
        return f"{int(s // 3600)} h ago"
    return f"{int(s // 86400)} days ago"
