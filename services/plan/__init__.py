"""The irAE part of the plan: one module per condition.

Each module opens with the guideline table and version it implements and reads its rows from
`knowledge.irae_plan` (doses from `knowledge.dosing`). Adding a condition means adding one
module here and its rows there. `services.management.plan` calls `apply`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

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
    p: Any, found: list[IraeFinding], data: PatientData, ici: list[Exposure] | None = None
) -> None:
    """Add each attributed irAE's plan lines to the plan `p` (services.management._Plan)."""
    ctx = Context(data, {f.kind: f for f in found}, list(ici or []))
    ordered = sorted(
        (f for f in found if f.kind in MODULES),
        key=lambda f: getattr(MODULES[f.kind], "RUN_LAST", False),
    )
    for f in ordered:
        MODULES[f.kind].plan(p, f, ctx)


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
