"""Nephritis / acute kidney injury.

Implements ASCO 2021 Tables 6.1-6.2 nephritis.
Rows: `knowledge.irae_plan` (kind "nephritis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "nephritis"
TABLE = "ASCO 2021 Tables 6.1-6.2 nephritis"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
