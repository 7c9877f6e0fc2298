"""No drug the patient is recorded as allergic to is proposed.

Runs over the finished plan: a recommendation of a drug that an active AllergyIntolerance covers
(`model.AllergyFact`, read by the adapter) keeps its place and its reasoning but loses its drug
and dose, and says why, so no card can turn it into an order. Which drug classes an allergy
record covers is a table in `knowledge.codes.ALLERGY_CLASSES`.
"""

from __future__ import annotations

import dataclasses

from services.knowledge.courses import PJP_ALTERNATIVES, PJP_FIRST_CHOICE
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
        if r.drug == PJP_FIRST_CHOICE[1]:
            out.append(_pjp_without_first_choice(r, why, allergies, hit.criticality == "high"))
            continue
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


def _pjp_without_first_choice(
    r: Recommendation, why: str, allergies: list[AllergyFact], severe: bool
) -> Recommendation:
    """The PJP line with trimethoprim-sulfamethoxazole ruled out: it no longer offers it as the
    example, and names the alternatives with their doses (`knowledge.courses.PJP_ALTERNATIVES`),
    leaving out any the patient is also recorded as allergic to."""
    text = r.text.replace(f" (e.g. {PJP_FIRST_CHOICE[0]})", "").rstrip(".")
    alts = [
        a
        for a in PJP_ALTERNATIVES
        if not any(a.drug in al.drugs for al in allergies)
        and not (severe and a.not_after_severe_sulfa)
    ]
    instead = (
        "; instead: " + "; or ".join(a.text for a in alts)
        if alts
        else "; every listed alternative is covered by a recorded allergy: ask infectious diseases"
    )
    return dataclasses.replace(
        r,
        text=f"{text}. Not {r.drug}: {why}{instead}",
        sources=tuple(dict.fromkeys((*r.sources, *(a.source for a in alts)))),
        drug=None,
        dose=None,
        dose_missing_reason=f"No dose: {why}",
    )
