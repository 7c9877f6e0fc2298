"""UCUM-aware unit conversion.

Units are parsed by `ucumvert` (a UCUM grammar on top of pint); each (from, to) pair is turned
once into a linear map `value * scale + offset` and cached, so the hot path is arithmetic.
Real EHRs also send human unit strings (`mcg/min`, `°F`, `lbs`, `units/min`): `ALIASES` maps
the common ones onto UCUM before parsing; anything else that is not UCUM is refused, never
guessed.
"""

from __future__ import annotations

import math
import re
import threading
from functools import cache

ALIASES: dict[str, str] = {
    # temperature
    "°c": "Cel", "c": "Cel", "degc": "Cel", "deg c": "Cel", "celsius": "Cel", "cel": "Cel",
    "°f": "[degF]", "f": "[degF]", "degf": "[degF]", "deg f": "[degF]", "fahrenheit": "[degF]",
    # mass
    "lb": "[lb_av]", "lbs": "[lb_av]", "pound": "[lb_av]", "pounds": "[lb_av]",
    "kilogram": "kg", "kilograms": "kg", "kgs": "kg", "gram": "g", "grams": "g", "oz": "[oz_av]",
    # rates
    "mcg/min": "ug/min", "µg/min": "ug/min", "mcg/kg/min": "ug/kg/min", "µg/kg/min": "ug/kg/min",
    "mcg/kg/h": "ug/kg/h", "mcg/kg/hr": "ug/kg/h", "mcg/h": "ug/h", "mcg/hr": "ug/h",
    "mg/hr": "mg/h", "ml/h": "mL/h", "ml/hr": "mL/h",
    "units/min": "[iU]/min", "unit/min": "[iU]/min", "u/min": "[iU]/min", "iu/min": "[iU]/min",
    "units/h": "[iU]/h", "units/hr": "[iU]/h", "u/h": "[iU]/h", "u/hr": "[iU]/h",
    # oxygen
    "l/min": "L/min", "lpm": "L/min", "liters/min": "L/min", "litres/min": "L/min",
    # pressure, rates, misc
    "mmhg": "mm[Hg]", "mm hg": "mm[Hg]", "bpm": "/min", "beats/min": "/min", "breaths/min": "/min",
    "{beats}/min": "/min", "{breaths}/min": "/min", "percent": "%",
    "iu/l": "U/L", "u/l": "U/L",
}  # fmt: skip

# Vasopressin "units" are international units; UCUM "U" is the enzyme unit (umol/min).
# A vasopressin rate in U/min is read as [iU]/min: the drug has no enzyme-unit dosing.
_IU_FOR_U = {"U/min": "[iU]/min", "U/h": "[iU]/h"}


class UnitError(ValueError):
    """A unit that is not UCUM (or a known alias), or not convertible to the one needed."""


_registry = None
_registry_lock = threading.Lock()


def _ureg():
    global _registry
    if _registry is None:
        with _registry_lock:
            if _registry is None:
                from ucumvert import PintUcumRegistry

                _registry = PintUcumRegistry()
    return _registry


def normalise(unit: str | None) -> str:
    if unit is None:
        raise UnitError("no unit")
    u = unit.strip()
    if not u:
        raise UnitError("no unit")
    u = ALIASES.get(u.lower(), u)
    # UCUM writes a weight-based rate with a bracketed divisor, ug/(kg.min); the readers (and
    # the knowledge tables) use the equivalent ug/kg/min form to tell per-kg rates apart.
    m = _PER_KG_BRACKETED.fullmatch(u)
    if m:
        num = ALIASES.get(f"{m[1]}/min".lower(), f"{m[1]}/min").split("/")[0]
        return f"{num}/kg/{m[2]}"
    return u


_PER_KG_BRACKETED = re.compile(r"([^/()]+)/\(kg\.([A-Za-z]+)\)")


@cache
def linear_map(from_unit: str, to_unit: str) -> tuple[float, float]:
    """(scale, offset) such that value_in_to = value_in_from * scale + offset."""
    src, dst = normalise(from_unit), normalise(to_unit)
    if src == dst:
        return 1.0, 0.0
    if src == "%" or dst == "%":
        raise UnitError(f"cannot convert {from_unit!r} to {to_unit!r}")
    ureg = _ureg()
    try:
        qs = ureg.from_ucum(src)
        qd = ureg.from_ucum(dst)
    except Exception as e:  # ucumvert raises lark and pint errors of several kinds
        raise UnitError(f"{from_unit!r} is not a UCUM unit") from e
    try:
        zero = ureg.Quantity(0.0, qs.units).to(qd.units).magnitude
        one = ureg.Quantity(1.0, qs.units).to(qd.units).magnitude
    except Exception as e:
        raise UnitError(f"cannot convert {from_unit!r} to {to_unit!r}") from e
    # from_ucum returns quantities with a magnitude for prefixed compound units (1.0 ug/min)
    factor_s = float(qs.magnitude)
    factor_d = float(qd.magnitude)
    scale = (one - zero) * factor_s / factor_d
    offset = zero / factor_d
    return scale, offset


def convert(value: float, from_unit: str | None, to_unit: str) -> float:
    """Convert, rounded to 6 decimals so exact boundaries survive (100.4 [degF] is 38.0 Cel)."""
    scale, offset = linear_map(normalise(from_unit), to_unit)
    out = round(value * scale + offset, 6)
    if not math.isfinite(out):
        raise UnitError(f"{value!r} {from_unit} is out of range")
    return out


def fraction_or_percent_to_percent(value: float, unit: str | None) -> float:
    """FiO2 and SpO2 arrive as % or as a fraction (unit '1', '{ratio}' or none, value ≤ 1)."""
    u = (unit or "").strip()
    if u in ("%", "percent"):
        return value
    if u in ("", "1", "{ratio}", "{fraction}") and 0 <= value <= 1:
        return value * 100.0
    if u in ("", "1") and 1 < value <= 100:
        return value  # a percentage sent without its unit; values above 1 cannot be fractions
    raise UnitError(f"{unit!r} is not a percentage or a fraction")
