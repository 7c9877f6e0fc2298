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
    "sjs_ten": "Stevens-Johnson syndrome / toxic epidermal necrolysis",
    "dress": "Drug reaction with eosinophilia and systemic symptoms (DRESS)",
    "bullous_dermatitis": "Bullous dermatitis",
    "transverse_myelitis": "Acute transverse myelitis",
    "inflammatory_arthritis": "Inflammatory arthritis",
    "myositis": "Myositis",
    "colitis": "Colitis",
    "hepatitis": "Hepatitis",
    "pancreatitis": "Pancreatitis",
    "pneumonitis": "Pneumonitis",
    "myocarditis": "Myocarditis",
    "hypophysitis": "Hypophysitis",
    "adrenal_insufficiency": "Primary adrenal insufficiency",
    "thyroiditis": "Thyroiditis",
    "hypothyroidism": "Hypothyroidism",
    "hyperthyroidism": "Thyrotoxicosis",
    "type1_diabetes": "Immune-related (type 1) diabetes",
    "nephritis": "Nephritis",
    "myasthenia_gravis": "Myasthenia gravis",
    "guillain_barre": "Guillain-Barré syndrome",
    "encephalitis": "Encephalitis",
    "aseptic_meningitis": "Aseptic meningitis",
    "uveitis": "Uveitis",
    "autoimmune_haemolytic_anaemia": "Autoimmune haemolytic anaemia",
    "immune_thrombocytopenia": "Immune thrombocytopenia",
}
NEUROLOGIC = frozenset(
    {
        "transverse_myelitis",
        "myasthenia_gravis",
        "guillain_barre",
        "encephalitis",
        "aseptic_meningitis",
    }
)
ENDOCRINE = frozenset(
    {
        "hypophysitis",
        "thyroiditis",
        "hypothyroidism",
        "hyperthyroidism",
        "adrenal_insufficiency",
        "type1_diabetes",
    }
)

ACTION_ORDER = {"continue": 0, "hold": 1, "discontinue": 2}


@dataclass(frozen=True)
class ActionRule:
    kind: str  # "*" for the general rule
    grade: int | None  # None: any grade, including an unknown grade
    action: str
    text: str
    source: str


# fmt: off
_G = "asco2021: general recommendations"
_ACTIONS = (
    # General rules (ASCO 2021, general recommendations): G1 continue with close monitoring;
    # G2 hold; G3 hold; G4 permanently discontinue (endocrinopathies controlled by replacement excepted).
    ActionRule("*", 1, "continue", "Grade 1: continue with close monitoring", _G),
    ActionRule("*", 2, "hold", "Grade 2: hold; resume when grade ≤1", _G),
    ActionRule("*", 3, "hold", "Grade 3: hold, start high-dose corticosteroids", _G),
    ActionRule("*", 4, "discontinue", "Grade 4: permanently discontinue", _G),
    ActionRule("*", 5, "discontinue", "Fatal toxicity", _G),
    # --- Neurologic (ASCO 2021 Table 7) --------------------------------------------------------
    ActionRule("transverse_myelitis", None, "discontinue", "Transverse myelitis: permanently discontinue the checkpoint inhibitor",
               "asco2021: Table 7.7 demyelinating diseases, transverse myelitis; pembro_crs_qa"),
    ActionRule("guillain_barre", None, "discontinue", "Any grade of Guillain-Barré syndrome: permanently discontinue", "asco2021: Table 7.2 Guillain-Barré syndrome"),
    ActionRule("myasthenia_gravis", None, "hold", "Myasthenia gravis: hold at any grade; grade 3-4 means permanent discontinuation", "asco2021: Table 7.1 myasthenia gravis"),
    ActionRule("myasthenia_gravis", 3, "discontinue", "Myasthenia gravis grade 3-4: permanently discontinue", "asco2021: Table 7.1 myasthenia gravis"),
    ActionRule("myasthenia_gravis", 4, "discontinue", "Myasthenia gravis grade 3-4: permanently discontinue", "asco2021: Table 7.1 myasthenia gravis"),
    ActionRule("encephalitis", None, "hold", "Encephalitis: hold at any grade; resume only after weighing risks and benefits with the patient", "asco2021: Table 7.6 encephalitis"),
    ActionRule("aseptic_meningitis", None, "hold", "Aseptic meningitis: hold at any grade; resume only after weighing risks and benefits with the patient",
               "asco2021: Table 7.5 aseptic meningitis"),
    # --- Cardiovascular (ASCO 2021 Table 9) ------------------------------------------------------
    ActionRule("myocarditis", None, "hold", "Myocarditis grade 1 (troponin only): hold and recheck troponin in 6 hours", "asco2021: Table 9.1 myocarditis"),
    ActionRule("myocarditis", 2, "discontinue", "Myocarditis grade ≥2: permanently discontinue", "asco2021: Table 9.1 myocarditis"),
    ActionRule("myocarditis", 3, "discontinue", "Myocarditis grade ≥2: permanently discontinue", "asco2021: Table 9.1 myocarditis"),
    ActionRule("myocarditis", 4, "discontinue", "Myocarditis grade ≥2: permanently discontinue", "asco2021: Table 9.1 myocarditis"),
    # --- Skin (ASCO 2021 Table 1) -----------------------------------------------------------------
    ActionRule("rash", 2, "hold", "Rash grade 2: consider holding, monitor weekly; resume when grade ≤1", "asco2021: Table 1.1 rash/inflammatory dermatitis"),
    ActionRule("rash", 4, "hold", "Rash grade 4: hold immediately and admit; SJS/TEN means permanent discontinuation", "asco2021: Table 1.1 rash/inflammatory dermatitis"),
    ActionRule("sjs_ten", None, "discontinue", "Suspected Stevens-Johnson syndrome/TEN or mucous membrane involvement: discontinue at any grade (grade 4: permanently)",
               "asco2021: Table 1.3 severe cutaneous adverse reactions"),
    ActionRule("dress", None, "discontinue", "Drug reaction with eosinophilia (DRESS): permanently discontinue (ASCO 2021 holds at grade 3 and discontinues at grade 4; NCCN discontinues at any grade)",
               "asco2021: Table 1.3 severe cutaneous adverse reactions; nccn_irae: SJS/TEN/DRESS (not verified against the primary NCCN text)"),
    ActionRule("bullous_dermatitis", 1, "continue", "Bullous dermatitis grade 1 (<10% BSA, asymptomatic, non-inflammatory): no need to stop; observe",
               "asco2021: Table 1.2 bullous dermatoses"),
    ActionRule("bullous_dermatitis", 2, "hold", "Bullous dermatitis grade 2: hold; dermatology decides on resuming", "asco2021: Table 1.2 bullous dermatoses"),
    # --- Musculoskeletal (ASCO 2021 Table 5) -------------------------------------------------------
    ActionRule("inflammatory_arthritis", 2, "hold", "Inflammatory arthritis grade 2: consider holding; resume when controlled on prednisone <10 mg/day",
               "asco2021: Table 5.1 inflammatory arthritis"),
    ActionRule("inflammatory_arthritis", 4, "hold", "Inflammatory arthritis grade 3-4: hold", "asco2021: Table 5.1 inflammatory arthritis"),
    ActionRule("myositis", 2, "hold", "Myositis grade 2: hold; resume when symptoms are controlled, CK normal and prednisone <10 mg/day", "asco2021: Table 5.2 myositis"),
    ActionRule("myositis", 3, "hold", "Myositis grade 3-4: hold and consider permanent discontinuation (discontinue with myocardial involvement)", "asco2021: Table 5.2 myositis"),
    ActionRule("myositis", 4, "hold", "Myositis grade 3-4: hold and consider permanent discontinuation (discontinue with myocardial involvement)", "asco2021: Table 5.2 myositis"),
    # --- Gastrointestinal (ASCO 2021 Table 2; pancreatitis: NCCN) ---------------------------------
    ActionRule("colitis", 3, "hold", "Colitis grade 3: hold; consider permanently discontinuing a CTLA-4 inhibitor; PD-1/PD-L1 may resume after recovery",
               "asco2021: Table 2.1 colitis"),
    ActionRule("colitis", 4, "discontinue", "Colitis grade 4: permanently discontinue", "asco2021: Table 2.1 colitis"),
    ActionRule("hepatitis", 3, "hold", "Hepatitis grade 3: permanently discontinue if symptomatic; consider it if asymptomatic (hold meanwhile)",
               "asco2021: Table 2.2 hepatitis"),
    ActionRule("hepatitis", 4, "discontinue", "Hepatitis grade 4: permanently discontinue", "asco2021: Table 2.2 hepatitis"),
    ActionRule("pancreatitis", 2, "continue", "Pancreatitis grade 2 (enzymes or imaging only): evaluate whether to continue", "nccn_irae: pancreatitis (as tabulated in PMC9185848 Table 4, not verified against the primary NCCN text)"),
    ActionRule("pancreatitis", 3, "hold", "Pancreatitis grade 3: hold", "nccn_irae: pancreatitis (as tabulated in PMC9185848 Table 4, not verified against the primary NCCN text)"),
    # --- Lung (ASCO 2021 Table 3) --------------------------------------------------------------------
    ActionRule("pneumonitis", 1, "hold", "Pneumonitis grade 1: hold, or continue with weekly monitoring; resume with radiographic improvement", "asco2021: Table 3.1 pneumonitis"),
    ActionRule("pneumonitis", 3, "discontinue", "Pneumonitis grade 3-4: permanently discontinue", "asco2021: Table 3.1 pneumonitis"),
    # --- Kidney (ASCO 2021 Table 6) ---------------------------------------------------------------------
    ActionRule("nephritis", 1, "hold", "Nephritis grade 1: consider holding; resume when creatinine is back to baseline",
               "asco2021: Table 6.1 nephritis (as compared in Kidney Med 2021, 3:1074, Table 1)"),
    ActionRule("nephritis", 3, "discontinue", "Nephritis grade 3-4: permanently discontinue", "asco2021: Table 6.1 nephritis (as compared in Kidney Med 2021, 3:1074, Table 1)"),
    # --- Endocrine (ASCO 2021 Table 4): held until stable on replacement, never discontinued for the grade
    *(ActionRule(k, g, a, t, "asco2021: general recommendations, Table 4 endocrine toxicities") for k, g, a, t in (
        ("hypophysitis", 1, "hold", "Hypophysitis: consider holding until stable on hormone replacement"),
        ("hypophysitis", 4, "hold", "Endocrinopathy grade 4: hold until stable on hormone replacement (the grade 4 discontinuation rule does not apply)"),
        ("adrenal_insufficiency", 1, "hold", "Adrenal insufficiency: consider holding until stable on replacement"),
        ("adrenal_insufficiency", 4, "hold", "Endocrinopathy grade 4: hold until stable on hormone replacement (the grade 4 discontinuation rule does not apply)"),
        ("thyroiditis", 4, "hold", "Endocrinopathy grade 4: hold until stable on hormone replacement (the grade 4 discontinuation rule does not apply)"),
        ("hypothyroidism", 2, "continue", "Hypothyroidism grade 2: may continue, or hold until symptoms resolve"),
        ("hypothyroidism", 4, "hold", "Hypothyroidism grade 3-4: hold until symptoms resolve on replacement (not discontinued)"),
        ("hyperthyroidism", 2, "hold", "Thyrotoxicosis grade 2: consider holding until symptoms return to baseline"),
        ("hyperthyroidism", 4, "hold", "Thyrotoxicosis grade 3-4: hold until symptoms resolve (not discontinued)"),
        ("type1_diabetes", 2, "hold", "Diabetes grade 2: may hold until glucose control is obtained"),
        ("type1_diabetes", 4, "hold", "Diabetes grade 3-4: hold until glucose control is obtained (not discontinued)"),
    )),
    # --- Eye (ASCO 2021 Table 10) ---------------------------------------------------------------------
    ActionRule("uveitis", 2, "hold", "Uveitis grade 2: hold until ophthalmology review; resume at ≤ grade 1 and prednisone ≤10 mg/day", "asco2021: Table 10.1 uveitis/iritis"),
    ActionRule("uveitis", 3, "discontinue", "Uveitis grade 3-4: permanently discontinue", "asco2021: Table 10.1 uveitis/iritis"),
    # --- Blood (ASCO 2021 Table 8) ----------------------------------------------------------------------
    ActionRule("autoimmune_haemolytic_anaemia", 3, "discontinue", "Haemolytic anaemia grade 3-4: permanently discontinue", "asco2021: Table 8.1 hemolytic anemia"),
    ActionRule("immune_thrombocytopenia", 3, "hold", "Immune thrombocytopenia grade 3-4: hold until ≤ grade 1", "asco2021: Table 8.6 immune thrombocytopenia"),
    ActionRule("immune_thrombocytopenia", 4, "hold", "Immune thrombocytopenia grade 3-4: hold until ≤ grade 1", "asco2021: Table 8.6 immune thrombocytopenia"),
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
# Endocrinopathies are held until stable on replacement, not until off corticosteroids: the
# prednisone rule does not apply to replacement doses (hydrocortisone 20 mg = prednisone 5 mg).
RESUME_ENDOCRINE = (
    "Resume once the endocrinopathy is stable on hormone replacement (diabetes: once glucose is "
    "controlled on insulin); replacement doses of hydrocortisone do not delay resuming",
    "asco2021: general recommendations, Table 4 endocrine toxicities (hold until stabilized on "
    "replacement hormone; Table 4.2: hydrocortisone 20 mg is equivalent to prednisone 5 mg), "
    "Table 4.4 diabetes (hold until glucose control is obtained)",
)
# How long after the last checkpoint-inhibitor dose a new toxicity is still attributed to it.
ATTRIBUTION_WINDOW_DAYS = (
    365,
    "immunotox: irAEs can appear months after the last dose; 1 year look-back",
)

ATTRIBUTION_SOURCE = (
    "asco2021: general recommendations (an irAE follows checkpoint-inhibitor exposure; rule out "
    "other causes first)"
)
ONSET_UNKNOWN = "onset unknown: cannot be attributed (record when it began)"
# A Condition with no onset but recorded after the first checkpoint-inhibitor dose is managed:
# its recording date stands in for the onset, and the finding says so (never silently).
ONSET_ASSUMED = (
    "onset date not recorded; attribution assumed from the recording date ({date})",
    "immunotox: a condition recorded on a checkpoint inhibitor is managed as an irAE when no onset "
    "is recorded (asco2021 general recommendations: irAEs can occur at any time); the recording "
    "date is an upper bound for the onset",
)
# With neither an onset nor a recording date, an active Condition is read as present at the
# assessment: managed on a checkpoint inhibitor, with its drug lines conditional on the onset.
ONSET_UNDATED = (
    "onset and recording dates not recorded; attribution assumed (present now, on {drug} since "
    "{first})",
    "immunotox: an active condition without dates on a checkpoint inhibitor is managed "
    "conditionally (its drug lines only if it began after the first dose), never silently",
)
ONSET_CONDITION = "if it began after the first {drug} dose"
# T45.AX5- on another Condition counts for an organ code that needs it (knowledge.codes
# MARKER_ONLY_CODES) when the two are this close (onset or recording dates).
MARKER_WINDOW_DAYS = (
    3,
    "immunotox: diagnosis codes of one encounter are recorded together; 3 days apart at most",
)
MARKER_ATTRIBUTION = "coded as an adverse effect of an immune checkpoint inhibitor by {marker}"
# Sepsis (a Condition coded A40-A41 or R65.2x) recorded this close to an organ finding's onset
# explains organ dysfunction that mimics these irAEs.
SEPSIS_MIMICS = (
    frozenset(
        {
            "nephritis",
            "hepatitis",
            "pneumonitis",
            "myocarditis",
            "colitis",
            "encephalitis",
            "aseptic_meningitis",
            "immune_thrombocytopenia",
        }
    ),
    "immunotox: sepsis is organ dysfunction caused by the response to an infection (Sepsis-3, "
    "JAMA 2016;315:801): kidney, liver, lung, heart, gut, brain and platelet dysfunction that "
    "mimics these irAEs; asco2021: general recommendations (rule out infection first)",
)
# A positive test for an infection this close to the finding's onset explains it.
INFECTION_TEST_WINDOW_DAYS = (
    14,
    "immunotox: a positive infection test within 14 days of onset explains the finding",
)


@dataclass(frozen=True)
class RechallengeRule:
    kind: str  # "*" for the general rule
    min_grade: int | None  # applies at this grade and above (None: any grade)
    text: str
    source: str


# fmt: off
RECHALLENGE = (
    RechallengeRule("*", None, "Rechallenge may be offered once ≤ grade 1, with caution after early-onset irAEs; no dose reduction. After toxicity on "
                    "PD-1/PD-L1 plus CTLA-4, PD-1/PD-L1 monotherapy may be offered", _G),
    RechallengeRule("*", 4, "Grade 4: no rechallenge (endocrinopathies controlled by replacement excepted)", _G),
    RechallengeRule("colitis", 3, "After grade 3 colitis: do not give the CTLA-4 inhibitor again; PD-1/PD-L1 monotherapy may be resumed after recovery",
                    "asco2021: Table 2.1 colitis; general recommendations"),
    RechallengeRule("myocarditis", 2, "After myocarditis grade ≥2: no rechallenge", "asco2021: Table 9.1 myocarditis"),
    RechallengeRule("pneumonitis", 3, "After pneumonitis grade 3-4: no rechallenge", "asco2021: Table 3.1 pneumonitis"),
    RechallengeRule("guillain_barre", None, "After Guillain-Barré syndrome: no rechallenge (extreme caution even after full recovery)", "asco2021: Table 7.2 Guillain-Barré syndrome"),
    RechallengeRule("myasthenia_gravis", 3, "After myasthenia gravis grade 3-4: no rechallenge", "asco2021: Table 7.1 myasthenia gravis"),
    RechallengeRule("transverse_myelitis", None, "After transverse myelitis: no rechallenge", "asco2021: Table 7.7 demyelinating diseases"),
    RechallengeRule("sjs_ten", None, "After SJS/TEN: no rechallenge", "asco2021: Table 1.3 severe cutaneous adverse reactions"),
    RechallengeRule("dress", None, "After DRESS: no rechallenge", "asco2021: Table 1.3 severe cutaneous adverse reactions"),
    RechallengeRule("nephritis", 3, "After nephritis grade 3-4: no rechallenge", "asco2021: Table 6.1 nephritis"),
    RechallengeRule("uveitis", 3, "After uveitis grade 3-4: no rechallenge", "asco2021: Table 10.1 uveitis/iritis"),
    RechallengeRule("autoimmune_haemolytic_anaemia", 3, "After haemolytic anaemia grade 3-4: no rechallenge", "asco2021: Table 8.1 hemolytic anemia"),
    RechallengeRule("hepatitis", 4, "After hepatitis grade 4 (or symptomatic grade 3): no rechallenge", "asco2021: Table 2.2 hepatitis"),
    *(RechallengeRule(k, None, "Endocrinopathy: may resume once stable on hormone replacement", "asco2021: general recommendations, Table 4 endocrine toxicities")
      for k in ("hypophysitis", "adrenal_insufficiency", "thyroiditis", "hypothyroidism", "hyperthyroidism", "type1_diabetes")),
)
# fmt: on


def rechallenge_for(kind: str, grade: int | None) -> tuple[str, str] | None:
    """The most specific rechallenge rule for this irAE and grade: (text, source)."""

    def applies(r: RechallengeRule) -> bool:
        return r.min_grade is None or (grade is not None and grade >= r.min_grade)

    own = [r for r in RECHALLENGE if r.kind == kind and applies(r)]
    if own:
        r = max(own, key=lambda r: r.min_grade or 0)
        return r.text, r.source
    general = [r for r in RECHALLENGE if r.kind == "*" and applies(r)]
    if not general or grade is None:
        return None
    r = max(general, key=lambda r: r.min_grade or 0)
    return r.text, r.source


# --- Grades read from the record ------------------------------------------------------------
# Where CTCAE v5 (as used by ASCO 2021) defines an irAE grade by numbers, the grade is read from
# the record: a recorded grade and a computed one are both shown; the higher drives the plan.
@dataclass(frozen=True)
class LabGradeRule:
    kind: str  # irAE kind
    series: str  # knowledge.codes series name
    basis: str  # "uln": value / referenceRange.high; "baseline": value / lowest before onset;
    # "value": the value itself (mg/dL); "rise": value minus baseline (mg/dL)
    above: float  # the grade applies when the figure is above this (exclusive)
    grade: int
    text: str
    source: str
    inclusive: bool = False  # the bound itself counts ("1.5-2.0 ×": 1.5 is grade 1)


_HEP = (
    "ctcae5: Investigations, {term} increased (>ULN-3.0, >3.0-5.0, >5.0-20.0, >20.0 × ULN when "
    "the baseline was normal; read in World J Hepatol 2026 vol 18 no 1 article 113465 Table 1); asco2021: "
    "Table 2.2 hepatitis (grades by the same multiples)"
)
_BIL = (
    "ctcae5: Investigations, Blood bilirubin increased (>ULN-1.5, >1.5-3.0, >3.0-10.0, >10.0 × "
    "ULN when the baseline was normal; read in World J Hepatol 2026 vol 18 no 1 article 113465 Table 1); "
    "asco2021: Table 2.2 hepatitis (and/or total bilirubin)"
)
_NEPH = (
    "asco2021: Table 6 nephritis/acute kidney injury (G1 creatinine increase >0.3 mg/dL or "
    "1.5-2.0× above baseline, G2 2-3× above baseline, G3 >3× baseline or >4.0 mg/dL, G4 6× above "
    "baseline or dialysis indicated, read in the ASCO pocket guide, Table 6.2, and Kidney Med "
    "2021 vol 3 p 1074 Table 1 note, CTCAE v5)"
)
# fmt: off
LAB_GRADES: tuple[LabGradeRule, ...] = (
    LabGradeRule("hepatitis", "alt", "uln", 1.0, 1, "ALT >ULN-3 × ULN", _HEP.format(term="Alanine aminotransferase")),
    LabGradeRule("hepatitis", "alt", "uln", 3.0, 2, "ALT >3-5 × ULN", _HEP.format(term="Alanine aminotransferase")),
    LabGradeRule("hepatitis", "alt", "uln", 5.0, 3, "ALT >5-20 × ULN", _HEP.format(term="Alanine aminotransferase")),
    LabGradeRule("hepatitis", "alt", "uln", 20.0, 4, "ALT >20 × ULN", _HEP.format(term="Alanine aminotransferase")),
    LabGradeRule("hepatitis", "ast", "uln", 1.0, 1, "AST >ULN-3 × ULN", _HEP.format(term="Aspartate aminotransferase")),
    LabGradeRule("hepatitis", "ast", "uln", 3.0, 2, "AST >3-5 × ULN", _HEP.format(term="Aspartate aminotransferase")),
    LabGradeRule("hepatitis", "ast", "uln", 5.0, 3, "AST >5-20 × ULN", _HEP.format(term="Aspartate aminotransferase")),
    LabGradeRule("hepatitis", "ast", "uln", 20.0, 4, "AST >20 × ULN", _HEP.format(term="Aspartate aminotransferase")),
    LabGradeRule("hepatitis", "bilirubin", "uln", 1.0, 1, "bilirubin >ULN-1.5 × ULN", _BIL),
    LabGradeRule("hepatitis", "bilirubin", "uln", 1.5, 2, "bilirubin >1.5-3 × ULN", _BIL),
    LabGradeRule("hepatitis", "bilirubin", "uln", 3.0, 3, "bilirubin >3-10 × ULN", _BIL),
    LabGradeRule("hepatitis", "bilirubin", "uln", 10.0, 4, "bilirubin >10 × ULN", _BIL),
    LabGradeRule("nephritis", "creatinine", "baseline", 1.5, 1, "creatinine 1.5-2 × baseline", _NEPH, inclusive=True),
    LabGradeRule("nephritis", "creatinine", "rise", 0.3, 1, "creatinine more than 0.3 mg/dL above baseline", _NEPH),
    LabGradeRule("nephritis", "creatinine", "baseline", 2.0, 2, "creatinine >2-3 × baseline", _NEPH),
    LabGradeRule("nephritis", "creatinine", "baseline", 3.0, 3, "creatinine >3 × baseline", _NEPH),
    LabGradeRule("nephritis", "creatinine", "value", 4.0, 3, "creatinine >4.0 mg/dL", _NEPH),
    LabGradeRule("nephritis", "creatinine", "baseline", 6.0, 4, "creatinine >6 × baseline", _NEPH),
)
# fmt: on
# A lab result older than this before the assessment does not grade the irAE now.
LAB_GRADE_MAX_AGE_DAYS = (
    7,
    "immunotox: the grade from labs uses the latest result of the last 7 days; an older result "
    "does not describe the irAE now",
)
# Creatinine baseline: the lowest creatinine in this look-back before the irAE onset (the onset
# itself excluded). No value in it: the baseline is missing and nothing is assumed.
CREATININE_BASELINE_DAYS = (
    365,
    "immunotox: baseline creatinine = the lowest value in the 365 days before the onset (ICPi-AKI "
    "studies take the most recent pre-treatment or pre-AKI value; Gupta S et al. J Immunother "
    "Cancer 2021 vol 9 e003467, the exact look-back is not verified against a guideline)",
)
# Pneumonitis from oxygen charted in the last 24 hours: supplemental oxygen is grade 3
# ("oxygen indicated"), invasive ventilation grade 4 ("life-threatening respiratory compromise;
# urgent intervention indicated, e.g. intubation").
PNEUMONITIS_O2 = (
    (3, "oxygen indicated: grade 3"),
    (4, "invasive ventilation (life-threatening respiratory compromise): grade 4"),
)
PNEUMONITIS_O2_SOURCE = (
    "ctcae5: Respiratory, Pneumonitis (G3 severe symptoms, limiting self-care ADL, oxygen "
    "indicated, G4 life-threatening respiratory compromise, urgent intervention indicated); "
    "asco2021: Table 3.1 pneumonitis (same grades; wording as quoted in the clinical review, "
    "not verified against the primary CTCAE text here)"
)
PNEUMONITIS_O2_WINDOW_HOURS = (
    24,
    "immunotox: oxygen charted in the 24 hours before the assessment is the present requirement",
)
GRADE_FROM_RECORD = "grade from {what} (CTCAE v5, as in ASCO 2021): {evidence}"
GRADE_BOTH = "grade {recorded} recorded on the condition; {computed}: the higher (grade {top}) drives the plan"

# A conduction block or ventricular arrhythmia recorded beside a myocarditis (active, dated
# within this many days of it, or undated) makes it at least grade 3: ASCO 2021 Table 9.1
# grades abnormal biomarkers with a new ECG conduction delay as G3, and decompensation or a
# need for IV medication or an intervention (pacing) as G4.
MYOCARDITIS_CONDUCTION = (
    3,
    14,
    "conduction block or ventricular arrhythmia recorded with the myocarditis: grade 3 at least "
    "(grade 4 if decompensated or needing IV medication or an intervention such as pacing)",
    "asco2021: Table 9.1 myocarditis (G3 abnormal biomarkers with new ECG findings with "
    "conduction delay, G4 decompensation or IV medication or intervention, as summarised in the "
    "medicalalgorithms.com ASCO cardiovascular table, not verified against the primary table)",
)
# After an irAE whose rule is permanent discontinuation, no line says when to resume.
NO_RESUME = (
    "Not applicable: {label} grade {grade} means permanent discontinuation, the checkpoint "
    "inhibitor is not resumed",
    "asco2021: general recommendations (grade 4 and the organ tables' permanent discontinuation "
    "rules, e.g. Table 9.1 myocarditis G2-G4)",
)

# An arthritis attributed on the checkpoint inhibitor beside a pre-existing autoimmune arthritis:
# one verdict, on the finding (the pre-existing disease is not listed again as "not an irAE").
PREEXISTING_FLARE = (
    "beside pre-existing autoimmune disease ({what}): a flare of it or a new immune arthritis "
    "cannot be told apart and are managed the same way, by grade, with rheumatology"
)
# Thyroiditis in its hypothyroid phase (hypothyroidism recorded too): the thyrotoxic phase is
# over, so the checkpoint-inhibitor action is the hypothyroidism's.
THYROIDITIS_HYPOTHYROID_PHASE = (
    "Thyroiditis with hypothyroidism recorded: the thyrotoxic phase is over; managed as "
    "hypothyroidism ({action})",
    "asco2021: Table 4.1 thyroid (thyroiditis: a thyrotoxic phase, then hypothyroidism managed "
    "as Table 4.1.1, where the checkpoint inhibitor may be continued)",
)
