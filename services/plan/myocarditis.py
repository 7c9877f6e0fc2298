"""Myocarditis (and the myositis-myasthenia overlap).

Implements ASCO 2021 Table 9.1 myocarditis; ESMO 2022 pulse methylprednisolone shown beside it.
Rows: `knowledge.irae_plan` (kind "myocarditis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "myocarditis"
TABLE = "ASCO 2021 Table 9.1 myocarditis; ESMO 2022 pulse methylprednisolone shown beside it"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    overlap = {"myocarditis", "myositis", "myasthenia_gravis"} & ctx.kinds - {KIND}
    apply_steps(p, f, ["overlap"] if overlap else [])
