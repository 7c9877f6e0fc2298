"""Knowledge for checking draft orders: the baseline work-up before a checkpoint inhibitor, which
drug classes get a dose check, and how far a drafted dose may sit from the plan.

Every row cites its source (ids in `services.knowledge.sources`).

What was checked (November 2026):
- SITC 2017 (Puzanov I et al., J Immunother Cancer 2017;5:95), Table 1 "Pre-treatment evaluation
  and diagnostic tests to consider in all patients prior to initiating checkpoint inhibitor
  therapy": blood tests CBC, CMP, TSH, free T4, HbA1c, total CK, infectious disease screen
  (hepatitis B and C, CMV, tuberculosis, HIV), fasting lipid profile; ECG and troponin I or T;
  8 am cortisol and ACTH, BNP, pulmonary function only for patients at risk. Read in the
  published table (jitc.biomedcentral.com, s40425-017-0300-z, Table 1).
- eviQ (Cancer Institute NSW) "Immunotherapy blood test monitoring recommendations", which sets
  the ASCO, ESMO and SITC baseline lists side by side: ASCO lists full blood count,
  electrolytes, creatinine, liver enzymes, total bilirubin, CK, glucose, TSH and free T4,
  hepatitis B and C, HIV and tuberculosis screening and troponin; ESMO lists full blood count,
  renal and liver function, electrolytes, glucose and thyroid function (adrenal and gonadal
  axes as well for anti-CTLA-4 and combinations).
- ASCO 2021 (Schneider BJ et al.) organ sections were read for thyroid monitoring (TSH every
  4-6 weeks on therapy, section 4.1); its full baseline table was not available to us, so the
  ASCO column above is cited through the eviQ comparison. **verify** against the ASCO 2021
  supplement before relying on the ASCO attribution alone.
- LOINC codes: the vital-sign and lab codes already confirmed in `codes.SERIES`; TSH 3016-3,
  free T4 3024-7, glucose 2345-7 (serum or plasma) and 2339-0 (blood), hemoglobin A1c 4548-4,
  CK 2157-6, troponin I 10839-9, troponin T 6598-7, hemoglobin 718-7, leukocytes 6690-2 found in
  published LOINC tables (LOINC top-2000 list and FHIR examples). Screening serologies are matched
  by name only: no single code covers the assays laboratories use.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.knowledge.codes import LOINC, series_by_name
from services.knowledge.sources import Source, cite


def cite_any(ref: str) -> tuple[Source, str]:
    """Kept for callers: every source now lives in `sources.SOURCES`."""
    return cite(ref)


@dataclass(frozen=True)
class BaselineItem:
    id: str
    label: str
    codes: tuple[str, ...]  # "system|code" of Observations that satisfy the item
    terms: tuple[str, ...]  # lower-case words in Observation.code.text that satisfy it
    sources: tuple[str, ...]


def _ln(*codes: str) -> tuple[str, ...]:
    return tuple(f"{LOINC}|{c}" for c in codes)


def _series(*names: str) -> tuple[str, ...]:
    return tuple(c for n in names for c in series_by_name(n).codes)


_SITC = "sitc2017: Table 1"
_EVIQ = "eviq_baseline: baseline investigations (ASCO, ESMO, SITC columns)"

# The routine baseline work-up before a first checkpoint-inhibitor dose. Tests SITC reserves for
# patients at risk (cortisol, ACTH, BNP, pulmonary function) are not listed.
# fmt: off
BASELINE_WORKUP: tuple[BaselineItem, ...] = (
    BaselineItem("cbc", "Complete blood count", _ln("718-7", "6690-2"),
                 ("complete blood count", "cbc", "full blood count"), (_SITC, _EVIQ)),
    BaselineItem("renal", "Creatinine (renal function)", _series("creatinine"),
                 ("creatinine",), (_SITC, _EVIQ)),
    BaselineItem("liver", "Liver tests (ALT, AST, bilirubin)", _series("alt", "ast", "bilirubin"),
                 ("alanine aminotransferase", "aspartate aminotransferase", "bilirubin"), (_SITC, _EVIQ)),
    BaselineItem("glucose", "Glucose or HbA1c", _ln("2345-7", "2339-0", "4548-4"),
                 ("glucose", "hemoglobin a1c", "hba1c"), (_SITC, _EVIQ)),
    BaselineItem("thyroid", "TSH and free T4", _ln("3016-3", "3024-7"),
                 ("thyrotropin", "tsh", "free t4", "thyroxine"), (_SITC, _EVIQ, "asco2021: section 4.1")),
    BaselineItem("ck", "Creatine kinase", _ln("2157-6"), ("creatine kinase",), (_SITC, _EVIQ)),
    BaselineItem("troponin", "Troponin I or T", _ln("10839-9", "6598-7"), ("troponin",), (_SITC, _EVIQ)),
    BaselineItem("infection_screen", "Hepatitis B, hepatitis C and HIV screening", (),
                 ("hepatitis b", "hbsag", "hepatitis c", "hcv", "hiv"), (_SITC, _EVIQ)),
)
# fmt: on

# A result counts as baseline when it is this recent at the time of the order. The guidelines
# say "prior to initiating" without a window: an immunotox convention, open to local review.
BASELINE_LOOKBACK_DAYS = 90
BASELINE_LOOKBACK_SOURCE = "immunotox: baseline window (docs/cds-hooks.md)"

# Drafted doses of these classes are compared with the plan's dose for this weight.
DOSE_CHECK_CLASSES: frozenset[str] = frozenset(
    {"anti_cytokine", "corticosteroid", "immunoglobulin"}
)

# A drafted dose within this fraction of the plan (below its low or above its high) agrees with
# it: orders are rounded to vial and tablet sizes. Never applied above a cap: a capped dose is a
# hard maximum. An immunotox convention, open to local review.
DOSE_TOLERANCE_FRACTION = 0.10
DOSE_TOLERANCE_SOURCE = "immunotox: dose rounding tolerance (docs/cds-hooks.md)"

# Mass units a drafted dose may be written in, as milligrams per unit (UCUM codes and the
# spellings EHRs send).
MASS_TO_MG: dict[str, float] = {
    "mg": 1.0,
    "g": 1000.0,
    "ug": 0.001,
    "mcg": 0.001,
    "µg": 0.001,
}

# Reasons a clinician may give for keeping a checkpoint-inhibitor order that a hold or
# discontinue finding argues against (CDS Hooks `overrideReasons`, each with a display).
OVERRIDE_REASON_SYSTEM = "urn:immunotox:override-reason"
# fmt: off
OVERRIDE_REASONS: tuple[tuple[str, str, str], ...] = (
    ("resolved", "Toxicity has resolved to grade 1 or less and steroids are tapered", "asco2021: general recommendations (resume at grade 1 or less)"),
    ("endocrine-replaced", "Endocrinopathy controlled on hormone replacement", "asco2021: general recommendations (endocrinopathies excepted)"),
    ("not-attributed", "Finding not attributed to the checkpoint inhibitor", "immunotox: clinician judgement"),
    ("oncology-decision", "Treating oncologist's documented decision", "immunotox: clinician judgement"),
)
# fmt: on

# Units that count tablets, capsules or pills rather than mass (UCUM annotations, the HL7 v3
# orderableDrugForm codes and the spellings EHRs send). A dose in one of these is converted to
# milligrams with the strength of the product (`codes.STRENGTHS`, the Medication's ingredient
# strength, or the strength in the product's name).
COUNT_UNITS: frozenset[str] = frozenset(
    {
        "{tbl}",
        "{tablet}",
        "{tablets}",
        "{tab}",
        "{pill}",
        "{pills}",
        "{capsule}",
        "{cap}",
        "tbl",
        "tab",
        "tabs",
        "tablet",
        "tablets",
        "pill",
        "pills",
        "cap",
        "caps",
        "capsule",
        "capsules",
    }
)
COUNT_UNITS_SOURCE = "UCUM annotations ({tbl}, {pill}); HL7 v3 orderableDrugForm (TAB, CAP)"


@dataclass(frozen=True)
class DoseMaximum:
    """A dose no order may exceed. `per`: "dose" (one administration), "day", or "course"."""

    drug: str
    per: str
    mg: float | None  # absolute maximum
    mg_per_kg: float | None  # weight-based maximum (needs a weight)
    text: str
    source: str
    always: bool  # True: for every order of the drug; False: only while the plan doses it
    min_weight_kg: float | None = None  # row applies at or above this weight
    max_weight_kg: float | None = None  # row applies below this weight


# fmt: off
DOSE_MAXIMA: tuple[DoseMaximum, ...] = (
    DoseMaximum("tocilizumab", "dose", 800.0, None, "800 mg per infusion (label maximum)", "actemra_label: section 2, CRS", True),
    DoseMaximum("tocilizumab", "dose", None, 8.0, "8 mg/kg per dose for weight ≥30 kg (label)", "actemra_label: section 2, CRS", True, min_weight_kg=30),
    DoseMaximum("tocilizumab", "dose", None, 12.0, "12 mg/kg per dose for weight <30 kg (label)", "actemra_label: section 2, CRS", True, max_weight_kg=30),
    DoseMaximum("dexamethasone", "dose", 10.0, None, "10 mg per dose (Lee 2014, CRS with neurologic symptoms)", "lee2014: Corticosteroids and other agents", False),
    DoseMaximum("methylprednisolone", "day", 1000.0, None, "1 g/day, the pulse dose and the highest daily dose the irAE tables give", "asco2021: neurologic toxicities (pulse methylprednisolone 1 g/day)", False),
    DoseMaximum("prednisone", "day", None, 2.0, "2 mg/kg/day, the highest irAE dose (grade 2 not better in 2-3 days; grade 3-4)", "asco2021: general recommendations", False),
    DoseMaximum("immune globulin", "course", None, 2000.0, "2 g/kg in total, divided over 2-5 days", "asco2021: neurologic toxicities; pembro_crs_qa", False),
)
# fmt: on

# Orders are rounded to vial and tablet sizes: a weight-based maximum is exceeded when the order
# is above it by more than the dose tolerance; an absolute maximum allows nothing above it.
