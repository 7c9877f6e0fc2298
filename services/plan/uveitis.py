"""Uveitis / iritis.

Implements ASCO 2021 Table 10.1 uveitis.
Rows: `knowledge.irae_plan` (kind "uveitis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "uveitis"
TABLE = "ASCO 2021 Table 10.1 uveitis"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
