"""Bullous dermatoses.

Implements ASCO 2021 Table 1.2 bullous dermatoses.
Rows: `knowledge.irae_plan` (kind "bullous_dermatitis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "bullous_dermatitis"
TABLE = "ASCO 2021 Table 1.2 bullous dermatoses"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
