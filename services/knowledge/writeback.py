"""Codes for writing a grade back to the chart (`services.fhir_writer.crs_condition`,
`adverse_event`): each row with its source.

ICD-10-CM D89.831-D89.835 "Cytokine release syndrome, grade 1" … "grade 5" (confirmed:
docs/verification.md); G92.01-G92.05 "Immune effector cell-associated neurotoxicity syndrome,
grade 1" … "grade 5" (public code look-ups, FY2026). SNOMED CT is not written: 710027002 "Cytokine release syndrome" is
active in the International release of 2025-07-01 but reported inactivated in a later release
(successor "Cytokine storm syndrome", whose code was not verified), so a new record would carry
an inactive or unverified concept. The reader still recognises 710027002 in older records
(`codes.CONDITIONS`).
"""

from __future__ import annotations

from dataclasses import dataclass

from services.knowledge.codes import ICD10CM, SRC_ICD

ICD10CM_DISPLAY_SOURCE = (
    f"{SRC_ICD}: D89.83 Cytokine release syndrome, D89.831-D89.835 grade 1-5 "
    "(titles confirmed, docs/verification.md)"
)
SNOMED_NOT_WRITTEN = (
    "not written: SNOMED CT 710027002 (CRS) is reported inactivated after the 2025-07-01 "
    "International release and its successor's code was not verified (docs/verification.md); no "
    "SNOMED CT concept for ICANS was verified"
)


@dataclass(frozen=True)
class GradeCode:
    kind: str  # "crs"
    grade: int
    system: str
    code: str
    display: str
    source: str


ICANS_DISPLAY_SOURCE = (
    f"{SRC_ICD}: G92.01-G92.05 Immune effector cell-associated neurotoxicity syndrome, grade 1-5 "
    "(titles checked in public code look-ups, FY2026; knowledge.icans)"
)

# fmt: off
GRADE_CODES: tuple[GradeCode, ...] = tuple(
    GradeCode("crs", g, ICD10CM, f"D89.83{g}", f"Cytokine release syndrome, grade {g}", ICD10CM_DISPLAY_SOURCE)
    for g in range(1, 6)
) + tuple(
    GradeCode("icans", g, ICD10CM, f"G92.0{g}", f"Immune effector cell-associated neurotoxicity syndrome, grade {g}", ICANS_DISPLAY_SOURCE)
    for g in range(1, 6)
)
# fmt: on


def grade_code(kind: str, grade: int | None) -> GradeCode | None:
    return next((c for c in GRADE_CODES if c.kind == kind and c.grade == grade), None)


# AdverseEvent.severity (http://terminology.hl7.org/CodeSystem/adverse-event-severity: mild,
# moderate, severe) from the CTCAE grade: CTCAE v5.0 defines grade 1 as mild, grade 2 moderate,
# grade 3 severe or medically significant, grade 4 life-threatening and grade 5 death; FHIR R4
# has no code above "severe", so grades 3-5 are "severe".
AE_SEVERITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
AE_SEVERITY: tuple[tuple[int, str, str], ...] = (
    (1, "mild", "ctcae5: grade 1 mild"),
    (2, "moderate", "ctcae5: grade 2 moderate"),
    (3, "severe", "ctcae5: grade 3 severe or medically significant"),
    (4, "severe", "ctcae5: grade 4 life-threatening; FHIR R4 has no higher severity code"),
    (5, "severe", "ctcae5: grade 5 death; FHIR R4 has no higher severity code"),
)


def ae_severity(grade: int | None) -> str | None:
    return next((code for g, code, _ in AE_SEVERITY if g == grade), None)
