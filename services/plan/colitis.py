"""Colitis and diarrhoea.

After grade 3 colitis on a CTLA-4 inhibitor, that drug is not given again while a PD-1/PD-L1
inhibitor may resume after recovery: the module names the drugs for this patient.
Implements ASCO 2021 (Schneider et al., J Clin Oncol 2021;39:4073-4126) Table 2.1 colitis; biologics infliximab or vedolizumab when steroid-refractory.
Rows: `knowledge.irae_plan` (kind "colitis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.knowledge.irae import rechallenge_for
from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "colitis"
TABLE = "ASCO 2021 (Schneider et al., J Clin Oncol 2021;39:4073-4126) Table 2.1 colitis; biologics infliximab or vedolizumab when steroid-refractory"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
    ctla4 = sorted({e.drug for e in ctx.ici if e.target == "CTLA-4"})
    others = sorted({e.drug for e in ctx.ici if e.target != "CTLA-4"})
    if ctla4 and f.grade is not None and f.grade >= 3:
        rule = rechallenge_for(KIND, f.grade)
        text = f"Do not give {' or '.join(ctla4)} again (CTLA-4 inhibitor, grade {f.grade} colitis)"
        if others and f.grade == 3:
            text += (
                f"; {' and '.join(others)} may resume alone once grade ≤1 and prednisone <10 mg/day"
            )
        p.advice(
            "colitis.ctla4",
            "checkpoint_inhibitor",
            text,
            rule[1] if rule else TABLE,
            (KIND,),
            urgency="urgent",
        )
