"""Immune-related (type 1) diabetes and DKA.

Implements ASCO 2021 Table 4.4; insulin, no corticosteroids.
Rows: `knowledge.irae_plan` (kind "type1_diabetes"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "type1_diabetes"
TABLE = "ASCO 2021 Table 4.4; insulin, no corticosteroids"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
