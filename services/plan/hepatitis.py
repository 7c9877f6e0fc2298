"""Hepatitis.

Implements ASCO 2021 Table 2.2 hepatitis; no infliximab (contraindicated in immune hepatitis).
Rows: `knowledge.irae_plan` (kind "hepatitis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "hepatitis"
TABLE = "ASCO 2021 Table 2.2 hepatitis; no infliximab (contraindicated in immune hepatitis)"


_VIRAL = ("viral", "hepatitis b", "hepatitis c", "hbv", "hcv")


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    # A recorded chronic viral hepatitis (excluded as an irAE itself) changes the order of work.
    viral = any(
        c.kind == KIND and c.excluded and any(v in c.excluded.lower() for v in _VIRAL)
        for c in ctx.data.conditions
    )
    apply_steps(p, f, ["viral_hepatitis" if viral else "no_viral_hepatitis"])
