"""Thyrotoxicosis.

Implements ASCO 2021 Table 4.1.2; beta-blocker, no immunosuppressive steroids.
Rows: `knowledge.irae_plan` (kind "hyperthyroidism"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "hyperthyroidism"
TABLE = "ASCO 2021 Table 4.1.2; beta-blocker, no immunosuppressive steroids"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
