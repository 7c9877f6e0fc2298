"""Myasthenia gravis.

Implements ASCO 2021 Table 7.1; pyridostigmine, prednisone 0.5 mg/kg, IVIG or plasma exchange from grade 3.
Rows: `knowledge.irae_plan` (kind "myasthenia_gravis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "myasthenia_gravis"
TABLE = "ASCO 2021 Table 7.1; pyridostigmine, prednisone 0.5 mg/kg, IVIG or plasma exchange from grade 3"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    overlap = {"myocarditis", "myositis", "myasthenia_gravis"} & ctx.kinds - {KIND}
    apply_steps(p, f, ["overlap"] if overlap else [])
