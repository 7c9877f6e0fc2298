"""Inflammatory arthritis.

Implements ASCO 2021 (Schneider et al., J Clin Oncol 2021;39:4073-4126) Table 5.1 inflammatory
arthritis: NSAIDs, prednisone by grade, DMARDs; no IL-6 blockade while immune colitis is present.
Rows: `knowledge.irae_plan` (kind "inflammatory_arthritis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "inflammatory_arthritis"
TABLE = "ASCO 2021 Table 5.1 inflammatory arthritis"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f, ["with_colitis"] if "colitis" in ctx.kinds else [])
