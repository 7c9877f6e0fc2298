"""What has already been given: the rules that read a tocilizumab or corticosteroid course out of
the administrations and orders, and what the course allows next. One row a rule, each with its
source (ids in `knowledge.sources`); `services.courses` applies them, the plan, the order checks,
the cards and the page read the result.

What was checked (December 2026):
- Tocilizumab for CRS, ACTEMRA prescribing information section 2 (CRS dosing): 8 mg/kg for
  patients ≥30 kg, 12 mg/kg below 30 kg, as a 60-minute infusion, alone or with corticosteroids;
  "if no clinical improvement ... after the first dose, up to 3 additional doses" at least 8 hours
  apart; doses above 800 mg per infusion are not recommended. The label PDF itself could not be
  opened here; its CRS wording was read as reproduced from the label on drugs.com
  ("Cytokine-Associated Toxicity": "Weight less than 30 kg: 12 mg/kg IV over 60 minutes";
  "Weight 30 kg or above: 8 mg/kg IV over 60 minutes"; "Doses exceeding 800 mg per infusion are
  not recommended."; "If no clinical improvement occurs after the first dose, up to 3
  additional doses may be administered."; "The interval between consecutive doses should be at
  least 8 hours."; "may be used alone or in combination with" corticosteroids), and matches
  the KYMRIAH label section 2.4 ("repeat tocilizumab as needed at a minimum interval of 8 hours
  ... limit to a maximum total of 4 tocilizumab doses"). The rows below say exactly this.
- Lee 2014 (seed paper), "Tocilizumab": 4 mg/kg adults, 8 mg/kg children, "with an option to
  repeat the dose if clinical improvement does not occur within 24 to 48 hours"; "if the
  patient's condition does not improve or stabilize within 24 hours of the tocilizumab dose,
  administration of a second dose of tocilizumab and/or a second immunosuppressive agent, such
  as corticosteroids, should be considered" (read in the paper's text, references/).
- ASCO 2021 (Schneider BJ et al.), section 12 "Prevention and management of adverse events
  related to steroid use" (read in the Guideline Central copy of the guideline): 12.2 PJP
  prophylaxis "may be considered once a patient has received a prednisone equivalent of
  ≥20 mg/day for 4 or more weeks or >30 mg for 3 weeks or more"; 12.4 tapering "generally over
  4-6 weeks ... a reduction in prednisone or prednisolone of 10 mg every 3-7 days ... until the
  dose is 10 mg/day, then reduce by 5 mg every 3-7 days". Key recommendations: "If symptoms do
  not improve with 48-72 hours of high dose steroid, infliximab may be offered for some
  toxicities"; general table, grade 2 "raise to 2 mg/kg/day if no better in 2-3 days".
- Resuming the checkpoint inhibitor: ASCO 2021 as cited by the seed brief and this project's
  issue (≤10 mg/day prednisone-equivalent); the NCCN summary reproduced in Pharmacotherapy
  (PMC7222289, Table 2) says "reduced to <10 mg prednisone or equivalent"; SITC 2017 Table 2
  says "once resolved to ≤grade 1 and off corticosteroids". The sources differ at exactly
  10 mg/day: both readings are shown. **verify** the ASCO organ-section wording.
"""

from __future__ import annotations

from dataclasses import dataclass

# --------------------------------------------------------------------------------------------
# Tocilizumab
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TocilizumabCourseRule:
    regimen: str  # knowledge.dosing regimen id the rule governs
    max_doses: int  # doses in one CRS episode, the first included
    min_interval_h: float  # hours from one dose to the next
    max_mg_per_dose: float
    text: str
    source: str


# fmt: off
TOCILIZUMAB_COURSE: dict[str, TocilizumabCourseRule] = {
    r.regimen: r
    for r in (
        TocilizumabCourseRule("tocilizumab.label", 4, 8.0, 800.0,
                              "At most 4 doses for one CRS episode (the first and up to 3 more if there is no clinical improvement), at least 8 hours apart, at most 800 mg per infusion",
                              "actemra_label: section 2, CRS"),
        TocilizumabCourseRule("tocilizumab.lee2014", 4, 24.0, 800.0,
                              "Repeat if there is no clinical improvement within 24-48 hours (the label's 4-dose and 800 mg limits still apply)",
                              "lee2014: Tocilizumab; actemra_label: section 2, CRS"),
    )
}
# fmt: on

# The doses of one CRS episode: administrations of tocilizumab each within this many days of the
# one before. The label counts doses "for CRS" without defining an episode; 14 days is the
# look-back this product already uses for anti-cytokine therapy before an afebrile ASTCT grade.
# A longer gap starts a new count.
TOCILIZUMAB_EPISODE_GAP_DAYS = (
    14,
    "immunotox: one CRS episode = tocilizumab doses each within 14 days of the previous one "
    "(the ASTCT 2019 anti-cytokine look-back used for grading); the label does not define it",
)

# A tocilizumab order (MedicationRequest) that is active or completed, with no administration
# charted at or after it, counts as a dose at the time it was ordered: the plan never proposes
# another within the label's interval of an order that may already be running.
TOCILIZUMAB_ORDER_AS_DOSE = (
    frozenset({"active", "completed", "on-hold"}),
    "immunotox: an active or completed tocilizumab order with no administration charted after "
    "it is counted as a dose at the time it was ordered (it may be running, not yet charted)",
)
# An administration charted up to this many hours before the order's time answers it (an order
# entered after the dose was given).
TOCILIZUMAB_ORDER_CHARTING_SLACK_H = (
    1.0,
    "immunotox: an administration up to 1 hour before an order's time answers that order",
)

# No improvement after tocilizumab: this long after the last dose, a CRS grade no lower than at
# that dose means the next step is a corticosteroid, not more tocilizumab (Lee 2014).
TOCILIZUMAB_RESPONSE_WINDOW_H = (
    24.0,
    "lee2014: Tocilizumab (no improvement or stabilisation within 24 hours: a second "
    "immunosuppressive agent such as corticosteroids)",
)

# --------------------------------------------------------------------------------------------
# Corticosteroids
# --------------------------------------------------------------------------------------------

# How far back a corticosteroid course is read: an order or statement that began earlier (or
# names no start that makes sense, such as the year 1) counts from here.
STEROID_COURSE_LOOKBACK_DAYS = (
    365,
    "immunotox: a corticosteroid course is read over at most the 365 days before the assessment "
    "(well beyond the 4-6 week tapers and the 4-week PJP threshold it reasons about; it bounds "
    "the work an open-ended record can cause)",
)

# Days with a corticosteroid belong to one course when the gap between them is at most this.
STEROID_COURSE_GAP_DAYS = (
    2,
    "immunotox: a course = days with systemic corticosteroid at most 2 days apart (a missed "
    "or unrecorded day does not end it)",
)

# The taper the plan asks for and its steps (ASCO 2021, 12.4).
TAPER_WEEKS = (4, 6, "asco2021: 12.4 tapering of steroids (generally over 4-6 weeks)")


@dataclass(frozen=True)
class TaperStep:
    above_mg: float  # the step applies while the daily prednisone-equivalent is above this
    step_mg: float  # reduce by this much
    every_days_fastest: int
    every_days_slowest: int
    source: str


TAPER_STEPS: tuple[TaperStep, ...] = (
    TaperStep(10.0, 10.0, 3, 7, "asco2021: 12.4 (10 mg every 3-7 days until 10 mg/day)"),
    TaperStep(0.0, 5.0, 3, 7, "asco2021: 12.4 (then 5 mg every 3-7 days)"),
)

# Corticosteroids for CRS after CAR T cells or a T-cell engager are not an irAE course: the
# 4-6 week taper and the resume rule are ASCO's for checkpoint inhibitors. Lee 2014: "a rapid
# steroid taper can generally be accomplished within several days without recurrence of the CRS".
EFFECTOR_TAPER = (
    "CRS after immune effector cells: taper quickly, generally within several days",
    "lee2014: Corticosteroids and other agents",
)

# Resuming the checkpoint inhibitor: prednisone-equivalent per day at or below this (ASCO 2021);
# other sources say below it. Both are shown.
RESUME_MAX_MG_PER_DAY = (
    10.0,
    "asco2021: general recommendations (resume at grade ≤1 on ≤10 mg/day prednisone-equivalent)",
    "nccn_irae: general recommendations, below 10 mg (read in the PMC7222289 Table 2 summary, "
    "not the primary text); sitc2017: Table 2 (off corticosteroids)",
)


@dataclass(frozen=True)
class RefractoryRule:
    kind: str  # irAE kind, "*" for the general rule
    days: float  # days on high-dose corticosteroid without improvement
    action: str
    source: str


# fmt: off
REFRACTORY: tuple[RefractoryRule, ...] = (
    RefractoryRule("*", 3, "add another immunosuppressant (infliximab may be offered for some toxicities)",
                   "asco2021: key recommendations (no improvement with 48-72 hours of high-dose steroid)"),
    RefractoryRule("inflammatory_arthritis", 14, "add a synthetic or biologic DMARD",
                   "asco2021: musculoskeletal toxicities, inflammatory arthritis grade 3-4 (no better after 2 weeks)"),
    RefractoryRule("crs", 1, "escalate per the CRS algorithm (intensive care review; another agent)",
                   "lee2014: Tocilizumab (no improvement within 24 hours: a second immunosuppressive agent)"),
)
# fmt: on


def refractory_rule(kind: str) -> RefractoryRule:
    for r in REFRACTORY:
        if r.kind == kind:
            return r
    return next(r for r in REFRACTORY if r.kind == "*")


# High-dose corticosteroid: at or above this many mg/kg/day prednisone-equivalent (ASCO grade 3:
# 1-2 mg/kg/day); without a weight, at or above the absolute figure below.
HIGH_DOSE_MG_PER_KG = (1.0, "asco2021: general recommendations (grade 3: 1-2 mg/kg/day)")
HIGH_DOSE_MG_PER_DAY_NO_WEIGHT = (
    60.0,
    "immunotox: without a weight, ≥60 mg/day prednisone-equivalent is read as high dose",
)


@dataclass(frozen=True)
class PjpRule:
    mg_per_day: float
    inclusive: bool  # ≥ (True) or > (False)
    days: int
    source: str


PJP_RULES: tuple[PjpRule, ...] = (
    PjpRule(20.0, True, 28, "asco2021: 12.2 prevention of opportunistic infection"),
    PjpRule(30.0, False, 21, "asco2021: 12.2 prevention of opportunistic infection"),
)
PJP_SOURCE = "asco2021: 12.2 prevention of opportunistic infection (PJP prophylaxis)"

# The agent the PJP line names first, and the drug (knowledge.codes) it stands for.
PJP_FIRST_CHOICE = ("trimethoprim-sulfamethoxazole", "sulfamethoxazole and trimethoprim")


@dataclass(frozen=True)
class PjpAlternative:
    drug: str
    text: str
    source: str
    # Left out when the sulfonamide allergy is recorded as high criticality (dapsone: cross-
    # reactions with sulfonamides, and no rechallenge of a class after a severe reaction).
    not_after_severe_sulfa: bool = False


# When trimethoprim-sulfamethoxazole cannot be given (a recorded sulfonamide allergy): the
# alternatives, named with their doses (services.allergy puts them on the PJP line).
_PJP_ALT_SRC = (
    "nccn_infections: PJP prophylaxis alternatives (not verified against the primary NCCN text: "
    "doses as tabulated in the PCP prophylaxis review PMC10938896, Table 2)"
)
# fmt: off
PJP_ALTERNATIVES: tuple[PjpAlternative, ...] = (
    PjpAlternative("atovaquone", "atovaquone 1500 mg by mouth once daily with food", _PJP_ALT_SRC),
    PjpAlternative("pentamidine", "inhaled pentamidine 300 mg every 4 weeks by nebuliser", _PJP_ALT_SRC),
    PjpAlternative("dapsone", "dapsone 100 mg by mouth daily only if the sulfonamide reaction was mild, as cross-reactions occur "
                   "(never after Stevens-Johnson syndrome, TEN or DRESS; check G6PD first)", _PJP_ALT_SRC, not_after_severe_sulfa=True),
)
# fmt: on
