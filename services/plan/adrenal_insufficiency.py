"""Primary adrenal insufficiency.

Implements ASCO 2021 Table 4.2; hydrocortisone replacement, stress dosing by grade.
Rows: `knowledge.irae_plan` (kind "adrenal_insufficiency"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "adrenal_insufficiency"
TABLE = "ASCO 2021 Table 4.2; hydrocortisone replacement, stress dosing by grade"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
