"""No drug the patient is recorded as allergic to is proposed.

Runs over the finished plan: a recommendation of a drug that an active AllergyIntolerance covers
(`model.AllergyFact`, read by the adapter) keeps its place and its reasoning but loses its drug
and dose, and says why, so no card can turn it into an order. Which drug classes an allergy
record covers is a table in `knowledge.codes.ALLERGY_CLASSES`.
"""

from __future__ import annotations

import dataclasses

from services.model import AllergyFact, Recommendation


def guard(recs: list[Recommendation], allergies: list[AllergyFact]) -> list[Recommendation]:
    out: list[Recommendation] = []
    for r in recs:
        hit = next((al for al in allergies if r.drug and r.drug in al.drugs), None)
        if hit is None:
            out.append(r)
            continue
        severity = f", {hit.criticality} criticality" if hit.criticality else ""
        why = f"allergy recorded to {hit.substance}{severity}"
        out.append(
            dataclasses.replace(
                r,
                text=f"{r.text.rstrip('.')}. Not {r.drug}: {why}; choose another agent",
                drug=None,
                dose=None,
                dose_missing_reason=f"No dose: {why}",
            )
        )
    return out
