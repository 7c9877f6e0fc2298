"""One formatter for numbers, doses and plain text, used by every view (cards, page, command
line) and by the FHIR writer. Clinicians read "624 mg", "78-156 mg/d", "0.5 mg/kg": no trailing
zeros, no exponents, at most four significant digits below 1,000 and whole numbers above."""

from __future__ import annotations

import re
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
    """The amount and unit of a dose: "624 mg", "78-156 mg/d", "19-25 units/day"."""
    if d.value is not None:
        return f"{num(d.value)} {unit(d.unit)}"
    return f"{num(d.low or 0)}-{num(d.high or 0)} {unit(d.unit)}"


def plain(text: Any, limit: int | None = None) -> str:
    """One line of plain text: control characters and line breaks become spaces; cut at a word
    boundary with an ellipsis when longer than `limit`."""
    s = re.sub(r"[\x00-\x1f\x7f]+", " ", str(text)).strip()
    s = re.sub(r"\s{2,}", " ", s)
    if limit is not None and len(s) > limit:
        s = s[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"
    return s
