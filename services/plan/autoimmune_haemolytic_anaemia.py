"""Autoimmune haemolytic anaemia.

Implements ASCO 2021 Table 8.1 hemolytic anemia.
Rows: `knowledge.irae_plan` (kind "autoimmune_haemolytic_anaemia"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "autoimmune_haemolytic_anaemia"
TABLE = "ASCO 2021 Table 8.1 hemolytic anemia"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
