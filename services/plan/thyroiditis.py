"""Thyroiditis.

Implements ASCO 2021 Table 4.1.2 (thyrotoxic phase, then hypothyroidism).
Rows: `knowledge.irae_plan` (kind "thyroiditis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "thyroiditis"
TABLE = "ASCO 2021 Table 4.1.2 (thyrotoxic phase, then hypothyroidism)"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    # Once hypothyroid, the thyrotoxic phase is over: no beta-blocker.
    apply_steps(p, f, [] if "hypothyroidism" in ctx.kinds else ["thyrotoxic"])
