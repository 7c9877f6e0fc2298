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

from services import format as fmt
from services.knowledge import dosing
from services.knowledge.irae_plan import (
    ADRENAL_CRISIS_SBP,
    ADRENAL_CRISIS_WINDOW_H,
    ADRENAL_STRESS_GIVEN,
    ADRENAL_STRESS_INTERVAL_H,
    ADRENAL_STRESS_OVERDUE,
)
from services.model import DrugEvent, IraeFinding
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


def stress_doses(ctx: Context) -> list[DrugEvent]:
    """Hydrocortisone given at a stress dose (at least the stress regimen's lower dose) within
    the stress regimen's longest interval before the assessment, oldest first."""
    if ctx.at is None:
        return []
    low = dosing.select("hydrocortisone.stress_iv", None, None).fixed_low or 0
    since = ctx.at - timedelta(hours=ADRENAL_STRESS_INTERVAL_H[1])
    return sorted(
        (
            d
            for d in ctx.data.drugs
            if d.drug == "hydrocortisone"
            and d.kind == "administration"
            and d.time is not None
            and since <= d.time <= ctx.at
            and d.dose_mg is not None
            and d.dose_mg >= low
        ),
        key=lambda d: d.time,  # type: ignore[arg-type,return-value]
    )


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    crisis = (f.grade is not None and f.grade >= 3) or hypotension(ctx)
    given = stress_doses(ctx) if crisis else []
    flags = ["crisis" if crisis else "no_crisis"]
    if crisis:
        flags.append("crisis_stress_given" if given else "crisis_no_stress_dose")
    apply_steps(p, f, flags)
    if given:
        # Earlier stress doses in this crisis (shown) and the next one from the last.
        lo_h, hi_h, src = ADRENAL_STRESS_INTERVAL_H
        window = ctx.at - timedelta(hours=ADRENAL_CRISIS_WINDOW_H[0])  # type: ignore[operator]
        shown = [
            d
            for d in ctx.data.drugs
            if d.drug == "hydrocortisone"
            and d.kind == "administration"
            and d.time is not None
            and window <= d.time <= ctx.at  # type: ignore[operator]
            and d.dose_mg is not None
        ]
        shown.sort(key=lambda d: d.time)  # type: ignore[arg-type,return-value]
        last = given[-1].time
        next_lo = last + timedelta(hours=lo_h)  # type: ignore[operator]
        next_hi = last + timedelta(hours=hi_h)  # type: ignore[operator]
        doses = ", ".join(f"{fmt.charted(d.dose_mg)} mg at {fmt.when(d.time)}" for d in shown)
        reg = dosing.select("hydrocortisone.stress_iv", None, None)
        text = ADRENAL_STRESS_GIVEN.format(
            doses=doses,
            regimen=reg.text[0].lower() + reg.text[1:],
            next_lo=fmt.when(next_lo),
            next_hi=fmt.when(next_hi),
        )
        if ctx.at is not None and ctx.at > next_hi:
            text += f" ({ADRENAL_STRESS_OVERDUE.format(next_hi=fmt.when(next_hi))})"
        p.advice(
            "hydrocortisone.crisis_given",
            "endocrine",
            text,
            src,
            (f.kind,),
            urgency="urgent",
        )
