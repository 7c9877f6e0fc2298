"""The irAE part of the plan: one module per condition.

Each module opens with the guideline table and version it implements and reads its rows from
`knowledge.irae_plan` (doses from `knowledge.dosing`). Adding a condition means adding one
module here and its rows there. `services.management.plan` calls `apply`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from types import ModuleType
from typing import Any

from services.irae import strictest_action
from services.knowledge import irae as KI
from services.model import Exposure, IraeExclusion, IraeFinding, PatientData
from services.plan import (
    adrenal_insufficiency,
    aseptic_meningitis,
    autoimmune_haemolytic_anaemia,
    bullous_dermatitis,
    colitis,
    dress,
    encephalitis,
    guillain_barre,
    hepatitis,
    hyperthyroidism,
    hypophysitis,
    hypothyroidism,
    immune_thrombocytopenia,
    inflammatory_arthritis,
    myasthenia_gravis,
    myocarditis,
    myositis,
    nephritis,
    pancreatitis,
    pneumonitis,
    rash,
    sjs_ten,
    thyroiditis,
    transverse_myelitis,
    type1_diabetes,
    uveitis,
)
from services.plan._base import Context

MODULES: dict[str, ModuleType] = {
    m.KIND: m
    for m in (
        adrenal_insufficiency,
        aseptic_meningitis,
        autoimmune_haemolytic_anaemia,
        bullous_dermatitis,
        colitis,
        dress,
        encephalitis,
        guillain_barre,
        hepatitis,
        hyperthyroidism,
        hypophysitis,
        hypothyroidism,
        immune_thrombocytopenia,
        inflammatory_arthritis,
        myasthenia_gravis,
        myocarditis,
        myositis,
        nephritis,
        pancreatitis,
        pneumonitis,
        rash,
        sjs_ten,
        thyroiditis,
        transverse_myelitis,
        type1_diabetes,
        uveitis,
    )
}


def apply(
    p: Any,
    found: list[IraeFinding],
    data: PatientData,
    ici: list[Exposure] | None = None,
    at: datetime | None = None,
) -> None:
    """Add each attributed irAE's plan lines to the plan `p` (services.management._Plan)."""
    ctx = Context(data, {f.kind: f for f in found}, list(ici or []), at)
    ordered = sorted(
        (f for f in found if f.kind in MODULES),
        key=lambda f: getattr(MODULES[f.kind], "RUN_LAST", False),
    )
    for f in ordered:
        MODULES[f.kind].plan(p, f, ctx)
    for f in found:
        for m in f.missing:
            if m.data != "onset date":
                continue
            # Managed without a recorded onset: said on the plan, never silently.
            undated = not any(c.recorded for c in ctx.conditions(f.kind))
            p.advice(
                f"irae.onset_assumed.{f.kind}",
                "caution",
                f"{f.label}: {m.why}",
                (KI.ONSET_UNDATED if undated else KI.ONSET_ASSUMED)[1],
                (f.kind,),
                urgency="urgent",
            )
            if undated:
                # No date at all: its drugs only if it began on the checkpoint inhibitor, shown
                # but never offered as an order to sign now.
                _, drug = _first(ctx.ici)
                cond = KI.ONSET_CONDITION.format(drug=drug)
                for rid, r in list(p.items.items()):
                    if r.drug and r.for_irae == (f.kind,) and r.when is None:
                        p.items[rid] = dataclasses.replace(r, when=cond)


def _first(ici: list[Exposure]) -> tuple[Any, str]:
    dated = [e for e in ici if e.first_seen is not None]
    if not dated:
        return None, "the checkpoint inhibitor"
    e = min(dated, key=lambda x: x.first_seen)  # type: ignore[arg-type,return-value]
    return e.first_seen, e.drug


def reconcile(p: Any, found: list[IraeFinding]) -> None:
    """Make the finished plan agree with itself across CRS and the organ irAEs:
    - no "CRS grade 1: no immunosuppression" line beside a stronger action for the same
      checkpoint inhibitor (the CRS finding exists only when CRS is attributed to it);
    - endocrinopathies on replacement are resumed when stable on it, not when prednisone is
      below 10 mg/day."""
    stronger = strictest_action(found, "hold")
    if "crs" in {f.kind for f in found} and stronger is not None:
        p.items.pop("crs.symptomatic", None)
    held = [f for f in found if f.checkpoint_inhibitor_action == "hold"]
    resume = p.items.get("checkpoint_inhibitor.resume")
    if resume is not None and held and all(f.kind in KI.ENDOCRINE for f in held):
        p.items["checkpoint_inhibitor.resume"] = dataclasses.replace(
            resume, text=KI.RESUME_ENDOCRINE[0], sources=(KI.RESUME_ENDOCRINE[1],)
        )


EXCLUSION_SOURCE = "asco2021: general recommendations (rule out other causes, infection first)"


def apply_exclusions(p: Any, excluded: list[IraeExclusion], ici: list[Exposure]) -> None:
    """One line per excluded condition, saying what it means for the plan: no immunosuppression
    for an infection; ask for the onset; a pre-existing disease may flare; another recorded
    cause is managed as that condition (radiation pneumonitis still gets its own treatment)."""
    drugs = " and ".join(sorted({e.drug for e in ici})) or "the checkpoint inhibitor"
    for x in excluded:
        r = x.reason
        low = r.lower()
        if low.startswith("onset unknown"):
            text = f"{x.label}: record when it began; it cannot be attributed to {drugs} without an onset"
        elif low.startswith("pre-existing"):
            text = (
                f"{x.label} was present before {drugs} ({r}): not an irAE; a flare is more likely "
                "on a checkpoint inhibitor, so investigate new symptoms early"
            )
        elif low.startswith("no adverse-effect code"):
            text = (
                f"{x.label}: {r}. If it began on {drugs}, assess it as a possible irAE and record "
                "it as such (T45.AX5-, or 'immune-related' in the diagnosis)"
            )
        elif "delayed irae" in low:
            text = f"{x.label}: {r}; assess clinically"
        elif "infection" in low or "infective" in low or "viral" in low or "sepsis" in low:
            text = (
                f"{x.label} is not attributed to {drugs} ({r}): no immunosuppression for it; "
                f"treat the infection and consider delaying the next {drugs} dose until recovered"
            )
        else:
            text = (
                f"{x.label}: another cause is recorded ({r}); manage it as that condition, the "
                "irAE plan does not apply"
            )
        p.advice(f"excluded.{x.kind}", "caution", text, EXCLUSION_SOURCE, (x.kind,))
