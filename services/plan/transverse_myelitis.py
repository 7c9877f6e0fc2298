"""Acute transverse myelitis.

Implements ASCO 2021 Table 7.7 demyelinating diseases and the seed document (pembrolizumab CRS with myelitis).
Rows: `knowledge.irae_plan` (kind "transverse_myelitis"); doses: `knowledge.dosing`.
"""

from __future__ import annotations

from typing import Any

from services.model import IraeFinding
from services.plan._base import Context, apply_steps

KIND = "transverse_myelitis"
TABLE = "ASCO 2021 Table 7.7 demyelinating diseases and the seed document (pembrolizumab CRS with myelitis)"


def plan(p: Any, f: IraeFinding, ctx: Context) -> None:
    apply_steps(p, f)
