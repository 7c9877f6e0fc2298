"""Pneumonitis.

Implements ASCO 2021 Table 3.1 pneumonitis; ESMO (methylprednisolone 2-4 mg/kg/day) shown beside it.
Radiation pneumonitis (J70.0/J70.1) on a checkpoint inhibitor is managed the same way, with
radiation named as a competing cause: the two cannot be told apart (durvalumab SmPC 4.4).
Rows: `knowledge.irae_plan` (kind "pneumonitis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "pneumonitis"
TABLE = "ASCO 2021 Table 3.1 pneumonitis; ESMO (methylprednisolone 2-4 mg/kg/day) shown beside it"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    # Radiation pneumonitis on a checkpoint inhibitor: the same plan, with radiation named as
    # the competing cause (knowledge.codes.COMPETING_CAUSES).
    radiation = any(c.competing_cause for c in ctx.conditions(KIND))
    apply_steps(p, f, ["radiation"] if radiation else [])
