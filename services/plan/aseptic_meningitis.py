"""Aseptic meningitis.

Implements ASCO 2021 Table 7.5 aseptic meningitis (steroids only once infection is ruled out).
Rows: `knowledge.irae_plan` (kind "aseptic_meningitis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "aseptic_meningitis"
TABLE = "ASCO 2021 Table 7.5 aseptic meningitis (steroids only once infection is ruled out)"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
