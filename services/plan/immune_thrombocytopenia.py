"""Immune thrombocytopenia.

Implements ASCO 2021 (Schneider et al., J Clin Oncol 2021;39:4073-4126) Table 8.6 immune
thrombocytopenia (prednisone, dexamethasone as the alternative, IVIG 1 g/kg once). Runs after the
other modules: when IVIG is already planned for a neurologic irAE, no second IVIG line is added.
Rows: `knowledge.irae_plan` (kind "immune_thrombocytopenia"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "immune_thrombocytopenia"
TABLE = "ASCO 2021 Table 8.6 immune thrombocytopenia"
RUN_LAST = True


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f, [] if "ivig.neuro" in p.items else ["no_ivig_planned"])
