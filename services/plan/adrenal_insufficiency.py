"""Primary adrenal insufficiency.

Implements ASCO 2021 Table 4.2; hydrocortisone replacement, stress dosing by grade. A suspected
adrenal crisis (grade 3-4, or hypotension: a vasopressor or a low systolic pressure in the last
hours) gets stress-dose IV hydrocortisone, saline and urgent endocrinology at once, without
waiting for results, and no maintenance line until it is over.
Rows: `knowledge.irae_plan` (kind "adrenal_insufficiency"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from services.knowledge.irae_plan import ADRENAL_CRISIS_SBP, ADRENAL_CRISIS_WINDOW_H
from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "adrenal_insufficiency"
TABLE = "ASCO 2021 Table 4.2; hydrocortisone replacement, stress dosing by grade"


def hypotension(ctx: Context) -> bool:
    """A vasopressor running, or a systolic pressure below the threshold, within the window
    before the assessment (knowledge.irae_plan rows)."""
    if ctx.at is None:
        return False
    since = ctx.at - timedelta(hours=ADRENAL_CRISIS_WINDOW_H[0])
    if any(i.start <= ctx.at and (i.end is None or i.end >= since) for i in ctx.data.infusions):
        return True
    return any(
        since <= s.time <= ctx.at and s.value < ADRENAL_CRISIS_SBP[0]
        for s in ctx.data.samples("sbp")
    )


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    crisis = (f.grade is not None and f.grade >= 3) or hypotension(ctx)
    apply_steps(p, f, ["crisis" if crisis else "no_crisis"])
