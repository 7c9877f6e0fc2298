"""Encephalitis.

Implements ASCO 2021 Table 7.6 encephalitis.
Rows: `knowledge.irae_plan` (kind "encephalitis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "encephalitis"
TABLE = "ASCO 2021 Table 7.6 encephalitis"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
