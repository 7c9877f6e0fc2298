"""Pneumonitis.

Implements ASCO 2021 Table 3.1 pneumonitis; ESMO (methylprednisolone 2-4 mg/kg/day) shown beside it.
Rows: `knowledge.irae_plan` (kind "pneumonitis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "pneumonitis"
TABLE = "ASCO 2021 Table 3.1 pneumonitis; ESMO (methylprednisolone 2-4 mg/kg/day) shown beside it"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
