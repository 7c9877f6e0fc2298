"""DRESS.

Implements ASCO 2021 Table 1.3 severe cutaneous adverse reactions; permanent discontinuation (NCCN).
Rows: `knowledge.irae_plan` (kind "dress"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "dress"
TABLE = "ASCO 2021 Table 1.3 severe cutaneous adverse reactions; permanent discontinuation (NCCN)"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
