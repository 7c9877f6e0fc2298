"""Guillain-Barré syndrome.

Implements ASCO 2021 Table 7.2; IVIG 2 g/kg over 5 days or plasma exchange.
Rows: `knowledge.irae_plan` (kind "guillain_barre"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "guillain_barre"
TABLE = "ASCO 2021 Table 7.2; IVIG 2 g/kg over 5 days or plasma exchange"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
