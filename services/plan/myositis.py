"""Myositis.

Implements ASCO 2021 Table 5.2 myositis; overlap with myocarditis or myasthenia flagged.
Rows: `knowledge.irae_plan` (kind "myositis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "myositis"
TABLE = "ASCO 2021 Table 5.2 myositis; overlap with myocarditis or myasthenia flagged"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    overlap = {"myocarditis", "myositis", "myasthenia_gravis"} & ctx.kinds - {KIND}
    apply_steps(p, f, ["overlap"] if overlap else [])
