"""Hepatitis.

Implements ASCO 2021 Table 2.2 hepatitis; no infliximab (contraindicated in immune hepatitis).
Rows: `knowledge.irae_plan` (kind "hepatitis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.knowledge.codes import mentions
from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "hepatitis"
TABLE = "ASCO 2021 Table 2.2 hepatitis; no infliximab (contraindicated in immune hepatitis)"


_VIRAL = ("viral", "hepatitis b", "hepatitis c", "hbv", "hcv")


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    # A recorded chronic viral hepatitis (excluded as an irAE itself) changes the order of work.
    viral = any(
        c.kind == KIND
        and (
            any(mentions(v, c.text) for v in _VIRAL)
            or (c.code or "").split("|")[-1][:3] in ("B15", "B16", "B17", "B18", "B19")
        )
        for c in ctx.data.conditions
    )
    apply_steps(p, f, ["viral_hepatitis" if viral else "no_viral_hepatitis"])
