"""Checkpoint-inhibitor irAE knowledge: the vocabulary of irAE kinds, what each grade means for
the checkpoint inhibitor, and how a grade is read from recorded data. One row a rule, each with
its source (ids in `knowledge.sources`). Doses live in `knowledge.dosing`.
"""

from __future__ import annotations

from dataclasses import dataclass

# The `kind` vocabulary of `Assessment.irae` (also documented in docs/assessment.schema.json).
KINDS: dict[str, str] = {
    "crs": "Cytokine release syndrome",
    "rash": "Maculopapular rash",
    "transverse_myelitis": "Acute transverse myelitis",
    "inflammatory_arthritis": "Inflammatory arthritis",
    "colitis": "Colitis",
    "hepatitis": "Hepatitis",
    "pneumonitis": "Pneumonitis",
    "myocarditis": "Myocarditis",
    "hypophysitis": "Hypophysitis",
    "thyroiditis": "Thyroiditis",
    "nephritis": "Nephritis",
    "myasthenia_gravis": "Myasthenia gravis",
    "guillain_barre": "Guillain-Barré syndrome",
    "encephalitis": "Encephalitis",
}
NEUROLOGIC = frozenset(
    {"transverse_myelitis", "myasthenia_gravis", "guillain_barre", "encephalitis"}
)
ENDOCRINE = frozenset({"hypophysitis", "thyroiditis"})

ACTION_ORDER = {"continue": 0, "hold": 1, "discontinue": 2}


@dataclass(frozen=True)
class ActionRule:
    kind: str  # "*" for the general rule
    grade: int | None  # None: any grade, including an unknown grade
    action: str
    text: str
    source: str


# fmt: off
_ACTIONS = (
    # General rules (ASCO 2021, general recommendations): G1 continue with close monitoring;
    # G2 hold; G3 hold; G4 permanently discontinue (endocrinopathies controlled by replacement excepted).
    ActionRule("*", 1, "continue", "Grade 1: continue with close monitoring", "asco2021: general recommendations"),
    ActionRule("*", 2, "hold", "Grade 2: hold; resume when grade ≤1", "asco2021: general recommendations"),
    ActionRule("*", 3, "hold", "Grade 3: hold, start high-dose corticosteroids", "asco2021: general recommendations"),
    ActionRule("*", 4, "discontinue", "Grade 4: permanently discontinue", "asco2021: general recommendations"),
    ActionRule("*", 5, "discontinue", "Fatal toxicity", "asco2021: general recommendations"),
    # Transverse myelitis: permanent discontinuation at any grade.
    ActionRule("transverse_myelitis", None, "discontinue", "Transverse myelitis: permanently discontinue the checkpoint inhibitor",
               "asco2021: neurologic toxicities, transverse myelitis; pembro_crs_qa"),
    ActionRule("guillain_barre", None, "discontinue", "Guillain-Barré syndrome: permanently discontinue at any grade", "asco2021: neurologic toxicities"),
    ActionRule("myasthenia_gravis", None, "hold", "Myasthenia gravis: hold at any grade; grade 3-4 means permanent discontinuation", "asco2021: neurologic toxicities"),
    ActionRule("myasthenia_gravis", 3, "discontinue", "Myasthenia gravis grade 3-4: permanently discontinue", "asco2021: neurologic toxicities"),
    ActionRule("myasthenia_gravis", 4, "discontinue", "Myasthenia gravis grade 3-4: permanently discontinue", "asco2021: neurologic toxicities"),
    ActionRule("encephalitis", None, "hold", "Encephalitis: hold at any grade pending work-up", "asco2021: neurologic toxicities"),
    # Myocarditis: grade 1 hold; grade ≥2 hold and permanently discontinue.
    ActionRule("myocarditis", None, "hold", "Myocarditis: hold at any grade", "asco2021: cardiovascular toxicities, myocarditis"),
    ActionRule("myocarditis", 2, "discontinue", "Myocarditis grade ≥2: permanently discontinue", "asco2021: cardiovascular toxicities, myocarditis"),
    ActionRule("myocarditis", 3, "discontinue", "Myocarditis grade ≥2: permanently discontinue", "asco2021: cardiovascular toxicities, myocarditis"),
    ActionRule("myocarditis", 4, "discontinue", "Myocarditis grade ≥2: permanently discontinue", "asco2021: cardiovascular toxicities, myocarditis"),
    # Skin: grade 2 consider holding; grade 3 hold; grade 4 hold at once (SJS/TEN: discontinue).
    ActionRule("rash", 2, "hold", "Rash grade 2: consider holding, monitor weekly; resume when grade ≤1", "asco2021: cutaneous toxicities, maculopapular rash"),
    ActionRule("rash", 4, "hold", "Rash grade 4: hold immediately and admit; SJS/TEN means permanent discontinuation", "asco2021: cutaneous toxicities, maculopapular rash"),
    # Inflammatory arthritis: grade 2 consider holding; grade 3-4 hold.
    ActionRule("inflammatory_arthritis", 2, "hold", "Inflammatory arthritis grade 2: consider holding; resume when controlled on prednisone <10 mg/day",
               "asco2021: musculoskeletal toxicities, inflammatory arthritis"),
    ActionRule("inflammatory_arthritis", 4, "hold", "Inflammatory arthritis grade 3-4: hold", "asco2021: musculoskeletal toxicities, inflammatory arthritis"),
    # Pneumonitis grade 3-4: permanently discontinue.
    ActionRule("pneumonitis", 3, "discontinue", "Pneumonitis grade 3-4: permanently discontinue", "asco2021: pulmonary toxicities, pneumonitis"),
    # Endocrinopathies on replacement are the exception to discontinuation at grade 4.
    ActionRule("hypophysitis", 4, "hold", "Endocrinopathy grade 4: hold until stable on hormone replacement (the grade 4 discontinuation rule does not apply)",
               "asco2021: general recommendations, endocrine toxicities"),
    ActionRule("thyroiditis", 4, "hold", "Endocrinopathy grade 4: hold until stable on hormone replacement (the grade 4 discontinuation rule does not apply)",
               "asco2021: general recommendations, endocrine toxicities"),
)
# fmt: on


def action_for(kind: str, grade: int | None) -> ActionRule | None:
    """The strictest rule for this kind and grade: a kind's own rows first, then the general."""
    own = [r for r in _ACTIONS if r.kind == kind and (r.grade is None or r.grade == grade)]
    general = [r for r in _ACTIONS if r.kind == "*" and r.grade == grade]
    rows = own + ([] if any(r.grade == grade for r in own) else general)
    if not rows:
        return None
    return max(rows, key=lambda r: ACTION_ORDER[r.action])


# Maculopapular rash by body surface area (CTCAE v5 as reproduced in ASCO 2021):
# <10% grade 1; 10-30% grade 2; >30% grade 3 when symptoms limit self-care, else grade 2.
RASH_BSA = (
    (10.0, 1, "Rash <10% BSA: grade 1", "asco2021: maculopapular rash table (CTCAE v5)"),
    (30.0, 2, "Rash 10-30% BSA: grade 2", "asco2021: maculopapular rash table (CTCAE v5)"),
    (
        float("inf"),
        3,
        "Rash >30% BSA: grade 3 (grade 2 if symptoms are only mild and self-care is not limited)",
        "asco2021: maculopapular rash table (CTCAE v5)",
    ),
)

RESUME_RULE = (
    "Resume only when the toxicity is grade ≤1 and prednisone (or equivalent) is below 10 mg/day",
    "asco2021: general recommendations",
)
# How long after the last checkpoint-inhibitor dose a new toxicity is still attributed to it.
ATTRIBUTION_WINDOW_DAYS = (
    365,
    "immunotox: irAEs can appear months after the last dose; 1 year look-back",
)
