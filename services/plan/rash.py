"""Maculopapular rash.

Implements ASCO 2021 Table 1.1 rash/inflammatory dermatitis (grade read from body surface area by services.irae, CTCAE v5).
Rows: `knowledge.irae_plan` (kind "rash"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "rash"
TABLE = "ASCO 2021 Table 1.1 rash/inflammatory dermatitis (grade read from body surface area by services.irae, CTCAE v5)"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
