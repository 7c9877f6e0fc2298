"""CRS grading knowledge: every threshold, window and rule text, each row with its source.

The graders in `services.crs` read these rows by id and quote `text` and `source` in the
criteria they report; no number below is repeated anywhere else in the code.
Sources: see `services.knowledge.sources` (ids before the colon).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Param:
    id: str
    value: float
    unit: str
    text: str
    source: str


# fmt: off
_PARAMS = (
    # --- Findings -------------------------------------------------------------------------
    Param("fever", 38.0, "Cel", "Fever: temperature ≥38.0 °C",
          "astct2019: CRS consensus grading, fever definition"),
    Param("hypotension_sbp", 90, "mm[Hg]", "Hypotension (adults, and children over 10 years): systolic blood pressure <90 mm Hg; children: see the age table below",
          "astct2019: hypotension 'defined on a case by case basis taking into account the patient's age'; pals: >10 years <90 mm Hg; immunotox: the adult threshold CAR T trials used"),
    Param("hypotension_map", 65, "mm[Hg]", "Hypotension (adults, 18 years and over): mean arterial pressure <65 mm Hg; children: see the age table below",
          "immunotox: common adult threshold (Lee 2014 and ASTCT 2019 leave hypotension undefined)"),
    Param("adult_age", 18, "a", "Adult limits for mean arterial pressure from 18 years", "immunotox"),
    # --- Oxygen ---------------------------------------------------------------------------
    Param("lee_fio2", 40, "%", "Lee 2014: oxygen requirement <40% FiO2 is grade 2, ≥40% FiO2 grade 3",
          "lee2014: Table 2"),
    Param("ctcae_fio2", 40, "%", "CTCAE v5: hypoxia responding to <40% O2 is grade 2, requiring ≥40% O2 grade 3",
          "ctcae5: Immune system disorders, Cytokine release syndrome"),
    Param("astct_low_flow_max", 6, "L/min", "ASTCT 2019: low-flow nasal cannula is ≤6 L/min; above 6 L/min is high-flow",
          "astct2019: CRS consensus grading, footnotes on oxygen delivery"),
    # --- Vasopressors (Lee 2014 Table 3; every dose held ≥3 hours) -----------------------------
    Param("vaso_hold", 3, "h", "High-dose vasopressor doses must be held for ≥3 hours", "lee2014: Table 3"),
    Param("vaso_norepinephrine_mono", 20, "ug/min", "Norepinephrine monotherapy ≥20 µg/min", "lee2014: Table 3"),
    Param("vaso_dopamine_mono", 10, "ug/kg/min", "Dopamine monotherapy ≥10 µg/kg/min", "lee2014: Table 3"),
    Param("vaso_phenylephrine_mono", 200, "ug/min", "Phenylephrine monotherapy ≥200 µg/min", "lee2014: Table 3"),
    Param("vaso_epinephrine_mono", 10, "ug/min", "Epinephrine monotherapy ≥10 µg/min", "lee2014: Table 3"),
    Param("vaso_with_vasopressin", 10, "ug/min", "On vasopressin: vasopressin plus norepinephrine-equivalent ≥10 µg/min",
          "lee2014: Table 3"),
    Param("vaso_combination", 20, "ug/min", "Combination without vasopressin: norepinephrine-equivalent ≥20 µg/min",
          "lee2014: Table 3"),
    # --- Windows (product conventions, stated on every page) ----------------------------------
    Param("window", 24, "h", "Findings in the 24 hours before the assessment time count as current; a grade is the worst in that window",
          "immunotox: CRS is graded at least daily in practice, and the window is shown with every grade"),
    Param("crs_episode_lookback", 14, "d", "A CRS episode reaches back 14 days: its onset is the first fever ≥38.0 °C (or a recorded CRS) in the 14 days before the time graded, and an antipyretic, anti-cytokine or corticosteroid counts only when given after that onset",
          "astct2019: CRS grading, footnote ('in patients who have CRS then receive antipyretic or anticytokine therapy such as tocilizumab or steroids, fever is no longer required'); blood_adv2024: no new CRS after 2 weeks from CAR T infusion; immunotox: 14 days"),
    Param("crs_infection_window", 7, "d", "After a checkpoint inhibitor (the only CRS-associated therapy that fits), an infection recorded in the 7 days before the fever or since (a Condition coded as an infection, or a positive culture or test) explains the findings: CRS grading does not apply",
          "ceschi2020: CRS after checkpoint inhibitors is rare (58 reports in VigiBase); lee2014: Clinical symptomatology ('many features of CRS mimic infection ... infection must be considered in all patients presenting with CRS symptoms'); immunotox: 7 days, and only where the therapy is a checkpoint inhibitor: after T-cell therapy or a T-cell engager CRS is common and coexists with infection, so it is still graded there"),
    Param("death_during_crs_min_grade", 3, "grade", "A death is reported as 'death during CRS' only when CRS of grade ≥3 was present in the 24 hours before it; whether CRS caused it is a clinician's judgement",
          "lee2014: Table 2 and text (grade 3-4 is severe CRS, grade 4 life-threatening); astct2019: grade 5 is death due to CRS in which another cause is not the principal factor; immunotox: grade 1-2 CRS is not presented as a cause of death"),
    Param("vaso_row_max_gap", 2, "h", "A vasopressor rate charted as a point-in-time row holds until the next row of that drug, a documented stop (rate 0 or status stopped) or at most 2 hours",
          "immunotox: vasoactive infusions are charted at least hourly in intensive care, so a rate is carried over one missed charting and no further (not verified against a published charting standard)"),
    Param("trajectory", 7, "d", "The grade over time is shown hour by hour for the 7 days before the assessment time",
          "immunotox"),
    Param("weight_max_age", 30, "d", "A body weight older than 30 days is flagged as stale", "immunotox"),
)
# fmt: on

PARAMS: dict[str, Param] = {p.id: p for p in _PARAMS}


def value(pid: str) -> float:
    return PARAMS[pid].value


# --- Hypotension in children: limits by age ---------------------------------------------------
@dataclass(frozen=True)
class AgeLimit:
    """Below `base + per_year × age in years` is hypotension, for ages in [min_years, max_years)."""

    series: str  # "sbp" | "map"
    min_years: float
    max_years: float
    base: float
    per_year: float
    text: str
    source: str

    def limit(self, age_years: float) -> float:
        return self.base + self.per_year * int(age_years)


# fmt: off
AGE_LIMITS: tuple[AgeLimit, ...] = (
    AgeLimit("sbp", 0, 28 / 365.25, 60, 0, "Term neonate (0-28 days): systolic <60 mm Hg",
             "pals: hypotension by age (as tabulated in hagedoorn2019, Table 2)"),
    AgeLimit("sbp", 28 / 365.25, 1, 70, 0, "Infant (1-12 months): systolic <70 mm Hg",
             "pals: hypotension by age (as tabulated in hagedoorn2019, Table 2)"),
    AgeLimit("sbp", 1, 10, 70, 2, "Child 1-10 years: systolic <70 + (2 × age in years) mm Hg",
             "pals: hypotension by age (as tabulated in hagedoorn2019, Table 2)"),
    AgeLimit("map", 1, 18, 40, 1.5, "Child 1-17 years: mean arterial pressure <40 + (1.5 × age in years) mm Hg (5th percentile at the 50th height percentile)",
             "haque2007: MAP 5th percentile = 1.5 × age + 40"),
)
# fmt: on
# Under 1 year no mean-arterial-pressure limit is cited: the systolic limit alone decides.


# --- Attribution: which therapy a CRS belongs to ------------------------------------------------
@dataclass(frozen=True)
class OnsetWindow:
    """CRS attributable to a therapy class when its onset falls within `days` after the most
    recent dose (the infusion, for cell therapy). When several fit, the lowest `rank` wins
    (the more frequent cause), then the most recent dose."""

    drug_class: str
    label: str
    rank: int
    days: float
    text: str
    source: str
    # Whether an infection recorded at the onset explains the findings instead (param
    # "crs_infection_window"): only where CRS from this class is rare.
    yields_to_infection: bool = False


# fmt: off
ONSET_WINDOWS: tuple[OnsetWindow, ...] = (
    OnsetWindow("cellular_therapy", "CAR T-cell or other T-cell therapy", 1, 14,
                "CRS after T-cell therapy begins within 14 days of the infusion (median 2-3 days)",
                "yescarta_label: 5.1 (median onset 2 days, range 1-12); kymriah_label: 5.1 (median 3 days, only 2 patients after day 10); tecelra_label: 5.1 (median 2 days, range 1-5); blood_adv2024: no new CRS after 2 weeks (475 patients)"),
    OnsetWindow("bispecific", "T-cell engager", 1, 7,
                "CRS after a T-cell engager begins within 7 days of the most recent dose, mostly during step-up dosing",
                "bsab_consensus2024: CRS mostly with the step-up doses of cycle 1, within days of a dose; immunotox: 7 days after the most recent dose, not verified against every label"),
    OnsetWindow("checkpoint_inhibitor", "checkpoint inhibitor", 2, 126,
                "CRS from a checkpoint inhibitor is rare and begins weeks into treatment; attributed when it begins within 18 weeks of the most recent dose and no T-cell therapy or engager fits better",
                "ceschi2020: 58 reports in VigiBase, onset a median 4 weeks after starting (IQR 1-18 weeks); immunotox: 18 weeks after the most recent dose",
                yields_to_infection=True),
)
# fmt: on
ONSET_BY_CLASS: dict[str, OnsetWindow] = {w.drug_class: w for w in ONSET_WINDOWS}

# Recorded diagnoses that, like an infection, explain fever and hypotension after a checkpoint
# inhibitor (the same window and the same rule: CRS grading does not apply). (condition kind of
# knowledge.codes, how the text names it, source)
CRS_MIMICS: tuple[tuple[str, str, str], ...] = (
    ("adrenal_insufficiency", "An adrenal crisis (adrenal insufficiency)",
     "asco2021: Table 4.2 primary adrenal insufficiency (G3-G4: hypotension or shock; IV stress-dose hydrocortisone and saline, not anti-IL-6 therapy); "
     "immunotox: a recorded adrenal insufficiency in the infection window is read as the cause of fever and hypotension after a checkpoint inhibitor"),
)  # fmt: skip

# Treatments that, given after CRS onset, lift the ASTCT fever requirement (footnote).
FEVER_LIFTING_CLASSES = frozenset({"antipyretic", "anti_cytokine", "corticosteroid"})
FEVER_LIFTING_SOURCE = "astct2019: CRS grading, footnote on antipyretic and anti-cytokine therapy"
# An anti-cytokine given after a dose of a CRS-associated therapy is read as treatment of CRS and
# marks an onset even when no fever is on record (masked, or before the record). Steroids and
# antipyretics never do: they are routine premedication (T-cell engager step-up dosing).
ONSET_MARKING_CLASSES = frozenset({"anti_cytokine"})
ONSET_MARKING_SOURCE = (
    "astct2019: footnote ('patients who have CRS then receive ... anticytokine therapy'); "
    "immunotox: an anti-cytokine after the therapy is read as CRS treatment, steroids and "
    "antipyretics (premedication) are not"
)

# --- The primary system: the one whose grade drives the plan ------------------------------------
PRIMARY_SYSTEMS = ("astct2019", "lee2014", "ctcae5")
DEFAULT_PRIMARY = "astct2019"
PRIMARY_SOURCE = (
    "astct2019: consensus grading meant to replace earlier systems; asco_iec2021: management by "
    "ASTCT grade; immunotox: IMMUNOTOX_CRS_PRIMARY for a site that chose Lee 2014 or CTCAE v5.0"
)
# Why another system may grade higher than the primary one (shown beside its grade).
WHY_HIGHER: dict[str, str] = {
    "lee2014": "Lee 2014 also counts organ toxicity, needs no current fever once CRS has begun, and reads two vasopressors (vasopressin included) as grade 3",
    "ctcae5": "CTCAE v5.0 reads any two pressors, vasopressin included, as grade 4 and needs no current fever once CRS has begun",
    "astct2019": "ASTCT 2019 grades by the vasopressor and the oxygen device alone, without the FiO2 or the dose Lee 2014 asks for",
}
# Lee 2014 after the onset of CRS needs no current fever; organ toxicity alone (no fever,
# hypotension or hypoxia in the window) is then not graded as CRS (text, source).
ORGAN_ALONE_NOTE = (
    "Organ toxicity without fever, hypotension or hypoxia in the window is not graded as CRS: "
    "look for another cause (IEC-HS, infection, drugs) and grade the organ toxicity itself",
    "astct2019: CRS grading (organ toxicities are graded separately and do not make the CRS "
    "grade, recalled, not verified against the paper's text this release); immunotox: applied "
    "to Lee 2014 too so that no system grades CRS without the syndrome",
)
PRIMARY_UNGRADED = "the primary system has no grade (data missing)"

AFEBRILE_NOTE = (
    "No fever ≥38.0 °C in this episode: CRS needs fever at onset in every grading system, so "
    "these findings are not graded as CRS (grade 0). Look for another cause: sepsis, bleeding, "
    "cardiac causes, drugs."
)
NOT_APPLICABLE_NOTE = "No CRS-associated therapy on record: CRS grading does not apply."


# VASST norepinephrine-equivalent (Lee 2014 Table 3 footnote):
# NE-eq (µg/min) = norepinephrine (µg/min) + dopamine (µg/kg/min)/2 + epinephrine (µg/min)
#                  + phenylephrine (µg/min)/10.  Vasopressin adds nothing to the sum.
NE_EQUIVALENT: dict[str, float] = {
    "norepinephrine": 1.0,
    "dopamine": 0.5,
    "epinephrine": 1.0,
    "phenylephrine": 0.1,
    "vasopressin": 0.0,
}
NE_EQUIVALENT_SOURCE = "lee2014: Table 3 footnote (VASST vasopressor equivalent equation)"
MONOTHERAPY_PARAM: dict[str, str] = {
    "norepinephrine": "vaso_norepinephrine_mono",
    "dopamine": "vaso_dopamine_mono",
    "phenylephrine": "vaso_phenylephrine_mono",
    "epinephrine": "vaso_epinephrine_mono",
}


@dataclass(frozen=True)
class Rule:
    """A grading criterion: the text the product shows when it fires, and its source."""

    id: str
    system: str
    grade: int
    text: str
    source: str


# fmt: off
_RULES = (
    # Lee 2014 revised grading (Table 2); organ toxicity by CTCAE v4.0.
    Rule("lee2014.g1.fever", "lee2014", 1, "fever (symptoms not life threatening, symptomatic treatment only)", "lee2014: Table 2"),
    Rule("lee2014.g2.o2_lt40", "lee2014", 2, "oxygen requirement <40% FiO2", "lee2014: Table 2"),
    Rule("lee2014.g2.low_flow", "lee2014", 2, "low-flow oxygen (the paper's '<40% FiO2'); FiO2 not recorded", "lee2014: Table 2 and text ('responsive to low flow oxygen (<40% FiO2)')"),
    Rule("lee2014.g2.hypotension", "lee2014", 2, "hypotension responsive to fluids (no vasopressor)", "lee2014: Table 2"),
    Rule("lee2014.g2.one_low_dose", "lee2014", 2, "hypotension on a low dose of one vasopressor", "lee2014: Table 2"),
    Rule("lee2014.g2.organ", "lee2014", 2, "grade 2 organ toxicity (CTCAE v4.0)", "lee2014: Table 2; ctcae4"),
    Rule("lee2014.g3.o2_ge40", "lee2014", 3, "oxygen requirement ≥40% FiO2", "lee2014: Table 2"),
    Rule("lee2014.g3.more_than_low_flow", "lee2014", 3, "more than low-flow oxygen (high-flow or mask); FiO2 not recorded", "lee2014: text ('patients who require more than low flow oxygen ... grade 3')"),
    Rule("lee2014.g3.high_dose", "lee2014", 3, "hypotension requiring high-dose vasopressors (Table 3, held ≥3 h)", "lee2014: Tables 2 and 3"),
    Rule("lee2014.g3.multiple", "lee2014", 3, "hypotension requiring multiple vasopressors", "lee2014: Table 2"),
    Rule("lee2014.g3.organ", "lee2014", 3, "grade 3 organ toxicity or grade 4 transaminitis (CTCAE v4.0)", "lee2014: Table 2; ctcae4"),
    Rule("lee2014.g4.ventilator", "lee2014", 4, "requirement for ventilator support", "lee2014: Table 2; immunotox: CPAP and BiPAP counted as ventilator support"),
    Rule("lee2014.g4.organ", "lee2014", 4, "grade 4 organ toxicity, excluding transaminitis (CTCAE v4.0)", "lee2014: Table 2; ctcae4"),
    Rule("lee2014.g5.death", "lee2014", 5, "death", "lee2014: Table 2"),
    # ASTCT 2019 consensus.
    Rule("astct2019.g1.fever", "astct2019", 1, "fever ≥38.0 °C (grade 1 when there is no hypotension or hypoxia)", "astct2019: CRS consensus grading"),
    Rule("astct2019.fever_lifted", "astct2019", 0, "Fever not required: tocilizumab, another anti-cytokine or a corticosteroid was given", "astct2019: CRS consensus grading, footnote on antipyretic and anti-cytokine therapy"),
    Rule("astct2019.g2.hypotension", "astct2019", 2, "hypotension not requiring vasopressors", "astct2019: CRS consensus grading"),
    Rule("astct2019.g2.low_flow", "astct2019", 2, "hypoxia requiring low-flow nasal cannula (≤6 L/min) or blow-by", "astct2019: CRS consensus grading"),
    Rule("astct2019.g3.one_vasopressor", "astct2019", 3, "hypotension requiring a vasopressor, with or without vasopressin", "astct2019: CRS consensus grading"),
    Rule("astct2019.g3.high_flow", "astct2019", 3, "hypoxia requiring high-flow nasal cannula (>6 L/min), facemask, non-rebreather or Venturi mask", "astct2019: CRS consensus grading"),
    Rule("astct2019.g4.multiple", "astct2019", 4, "hypotension requiring multiple vasopressors (excluding vasopressin)", "astct2019: CRS consensus grading"),
    Rule("astct2019.g4.positive_pressure", "astct2019", 4, "hypoxia requiring positive pressure (CPAP, BiPAP, intubation and mechanical ventilation)", "astct2019: CRS consensus grading"),
    Rule("astct2019.g5.death", "astct2019", 5, "death due to CRS", "astct2019: CRS consensus grading"),
    # CTCAE v5.0, Immune system disorders: Cytokine release syndrome.
    Rule("ctcae5.g1.fever", "ctcae5", 1, "fever, with or without constitutional symptoms", "ctcae5: Cytokine release syndrome"),
    Rule("ctcae5.g2.hypotension", "ctcae5", 2, "hypotension responding to fluids", "ctcae5: Cytokine release syndrome"),
    Rule("ctcae5.g2.o2_lt40", "ctcae5", 2, "hypoxia responding to <40% O2", "ctcae5: Cytokine release syndrome"),
    Rule("ctcae5.g2.low_flow", "ctcae5", 2, "hypoxia on low-flow oxygen; FiO2 not recorded", "ctcae5: Cytokine release syndrome; immunotox: low-flow oxygen read as <40% O2"),
    Rule("ctcae5.g3.one_pressor", "ctcae5", 3, "hypotension managed with one pressor", "ctcae5: Cytokine release syndrome"),
    Rule("ctcae5.g3.o2_ge40", "ctcae5", 3, "hypoxia requiring ≥40% O2", "ctcae5: Cytokine release syndrome"),
    Rule("ctcae5.g3.more_than_low_flow", "ctcae5", 3, "hypoxia on high-flow oxygen or a mask; FiO2 not recorded", "ctcae5: Cytokine release syndrome; immunotox: high-flow or mask read as ≥40% O2"),
    Rule("ctcae5.g4.urgent", "ctcae5", 4, "life-threatening consequences; urgent intervention indicated (ventilatory support or more than one pressor)", "ctcae5: Cytokine release syndrome; immunotox: ventilatory support and multiple pressors read as urgent intervention"),
    Rule("ctcae5.g5.death", "ctcae5", 5, "death", "ctcae5: Cytokine release syndrome"),
)
# fmt: on

RULES: dict[str, Rule] = {r.id: r for r in _RULES}


# CTCAE v4.03 organ toxicity from labs, as multiples of the upper limit of normal (ULN):
# (series, grade, lower bound exclusive ×ULN). Used for Lee 2014 organ toxicity.
@dataclass(frozen=True)
class LabGrade:
    series: str
    grade: int
    above_uln: float
    term: str
    source: str


# fmt: off
ORGAN_TOXICITY: tuple[LabGrade, ...] = (
    LabGrade("alt", 2, 3.0, "ALT increased", "ctcae4: Investigations, Alanine aminotransferase increased"),
    LabGrade("alt", 3, 5.0, "ALT increased", "ctcae4: Investigations, Alanine aminotransferase increased"),
    LabGrade("alt", 4, 20.0, "ALT increased", "ctcae4: Investigations, Alanine aminotransferase increased"),
    LabGrade("ast", 2, 3.0, "AST increased", "ctcae4: Investigations, Aspartate aminotransferase increased"),
    LabGrade("ast", 3, 5.0, "AST increased", "ctcae4: Investigations, Aspartate aminotransferase increased"),
    LabGrade("ast", 4, 20.0, "AST increased", "ctcae4: Investigations, Aspartate aminotransferase increased"),
    LabGrade("bilirubin", 2, 1.5, "Blood bilirubin increased", "ctcae4: Investigations, Blood bilirubin increased"),
    LabGrade("bilirubin", 3, 3.0, "Blood bilirubin increased", "ctcae4: Investigations, Blood bilirubin increased"),
    LabGrade("bilirubin", 4, 10.0, "Blood bilirubin increased", "ctcae4: Investigations, Blood bilirubin increased"),
    LabGrade("creatinine", 2, 1.5, "Creatinine increased", "ctcae4: Investigations, Creatinine increased"),
    LabGrade("creatinine", 3, 3.0, "Creatinine increased", "ctcae4: Investigations, Creatinine increased"),
    LabGrade("creatinine", 4, 6.0, "Creatinine increased", "ctcae4: Investigations, Creatinine increased"),
)
# Transaminases: Lee 2014 counts grade 4 transaminitis as grade 3 CRS.
TRANSAMINASES = frozenset({"alt", "ast"})
# Upper limits used only when a lab result carries no reference range; the criterion then says
# the ULN was assumed, and the missing-data list asks for the laboratory's range.
FALLBACK_ULN: dict[str, tuple[float, str]] = {
    "alt": (40.0, "immunotox: typical adult ULN 40 U/L, used only when the result has no reference range"),
    "ast": (40.0, "immunotox: typical adult ULN 40 U/L, used only when the result has no reference range"),
    "bilirubin": (1.2, "immunotox: typical adult ULN 1.2 mg/dL, used only when the result has no reference range"),
    "creatinine": (1.2, "immunotox: typical adult ULN 1.2 mg/dL, used only when the result has no reference range"),
}
# fmt: on

DISCLAIMER = (
    "A grade is not a diagnosis. Fever, hypotension and hypoxia in these patients may come from "
    "infection (above all with neutropenia), tumour lysis or other causes, and attributing them "
    "to CRS or to an immune-related adverse event needs clinical judgement (Lee 2014). Doses are "
    "suggestions for the clinician to check against the patient and local protocol."
)
