"""Pancreatitis.

Implements NCCN immunotherapy toxicities (ASCO 2021 has no pancreatitis table).
Rows: `knowledge.irae_plan` (kind "pancreatitis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "pancreatitis"
TABLE = "NCCN immunotherapy toxicities (ASCO 2021 has no pancreatitis table)"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
