"""Hypophysitis.

Implements ASCO 2021 (Schneider et al., J Clin Oncol 2021;39:4073-4126) Table 4.3 hypophysitis:
hydrocortisone replacement first (before any thyroid hormone); high-dose corticosteroid only with
mass effect (MRI swelling, chiasm compression, severe headache or visual change).
Rows: `knowledge.irae_plan` (kind "hypophysitis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "hypophysitis"
TABLE = "ASCO 2021 Table 4.3 hypophysitis"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    mass = any(c.mass_effect for c in ctx.conditions(KIND))
    apply_steps(p, f, ["mass_effect" if mass else "no_mass_effect"])
