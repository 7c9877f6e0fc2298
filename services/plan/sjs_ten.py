"""Stevens-Johnson syndrome / toxic epidermal necrolysis.

Implements ASCO 2021 Table 1.3 severe cutaneous adverse reactions; permanent discontinuation.
Rows: `knowledge.irae_plan` (kind "sjs_ten"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "sjs_ten"
TABLE = "ASCO 2021 Table 1.3 severe cutaneous adverse reactions; permanent discontinuation"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
