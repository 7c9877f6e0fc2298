"""The CRS plan beyond grading: who cites tocilizumab for which exposure, what to do with a
T-cell engager during CRS, and the options for CRS refractory to tocilizumab and
corticosteroids. One row a rule, each with its source (ids in `knowledge.sources`); doses are
rows of `knowledge.dosing`; `services.management` applies them.

What was read (December 2026):
- ASCO 2021 CAR T guideline (Santomasso et al., JCO 2021), Table 1 "Cytokine Release Syndrome
  Recommendations", read in the Guideline Central pocket guide of the guideline. G3: "Tocilizumab
  as per G2 if maximum dose not reached within 24-hour period plus dexamethasone 10 mg IV every
  6 hours (or equivalent) and rapidly taper once symptoms improve. If refractory, manage as per
  G4." G4: "Initiate high-dose methylprednisolone at a dose of 500 mg IV every 12 hours for 3
  days, followed by 250 mg IV every 12 hours for 2 days, 125 mg IV every 12 hours for 2 days,
  and 60 mg IV every 12 hours until CRS improvement to G1. If not improving, consider
  methylprednisolone 1,000 mg IV 2 times a day or alternate therapy." The G2 text and the
  footnote naming the alternate therapies were not read.
- T-cell engager labels, boxed warning (openFDA label records): TECVAYLI "Withhold TECVAYLI
  until CRS resolves or permanently discontinue based on severity [see Dosage and
  Administration (2.1, 2.5)]"; the same sentence in TALVEY (2.2, 2.5), COLUMVI (2.1-2.4),
  EPKINLY (2.1, 2.2, 2.6) and LUNSUMIO (2.1, 2.4). The grade-by-grade tables (which grades and
  recurrences mean permanent discontinuation) were not read: the plan names the table.
- Anakinra and siltuximab after tocilizumab: "both medicines are unlicensed for this
  indication" (UK Specialist Pharmacy Service evidence review, CAR T CRS after tocilizumab
  failure). Siltuximab 11 mg/kg IV: the CARTOX recommendations (Neelapu 2018) as tabulated in
  Front Immunol 2022 (PMC9616161, Table 4). Anakinra doses differ by centre; the ones read are
  quoted with their source and the plan computes none.
"""

from __future__ import annotations

from dataclasses import dataclass

# Tocilizumab's citation besides the label, by what the CRS is attributed to.
TOCILIZUMAB_SOURCE = {
    "ici": "pembro_crs_qa",
    "effector": "asco_iec2021: Table 1 CRS (G3-G4: tocilizumab as per G2 if the maximum dose is "
    "not reached within 24 hours)",
}


# --------------------------------------------------------------------------------------------
# Corticosteroids for CRS after CAR T cells or a T-cell engager (ASCO 2021 CAR T, Table 1)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SteroidStep:
    regimen: str  # knowledge.dosing regimen id
    min_grade: int  # the primary system's grade at or above which it applies
    after_tocilizumab: bool  # True: only once tocilizumab has been given in this episode
    max_grade: int | None  # applies below this grade (None: no upper limit)
    source: str
    when: str | None = None  # shown with this condition, never as an order to sign now


# fmt: off
EFFECTOR_STEROIDS: tuple[SteroidStep, ...] = (
    # Grade 2 still present after tocilizumab: dexamethasone (read in a secondary table only).
    SteroidStep("dexamethasone.crs", 2, True, 3,
                "immunotox: grade 2 after tocilizumab as in the review table of J Clin Med 2023 (PMC10573998 Table 1: hypotension persisting after 1-2 doses of anti-IL-6 therapy, dexamethasone 10 mg IV every 6 h for 1-3 days), not verified against the ASCO 2021 G2 text",
                when="if CRS persists after tocilizumab (refractory grade 2)"),
    SteroidStep("dexamethasone.crs", 3, False, 4, "asco_iec2021: Table 1 CRS G3"),
    SteroidStep("methylprednisolone.crs.g4", 4, False, None, "asco_iec2021: Table 1 CRS G4"),
)
# fmt: on

# Lee 2014's methylprednisolone when no corticosteroid step is due yet (grade 2 before any
# tocilizumab): corticosteroids are second line after tocilizumab (Lee 2014, "Corticosteroids
# and other agents"; ASCO 2021 CAR T Table 1 G2 adds dexamethasone only when CRS persists after
# anti-IL-6 therapy), so the line is shown with its condition and never offered as an order.
SECOND_LINE_WHEN = "if CRS does not improve after tocilizumab"
# Beside these regimens Lee 2014's methylprednisolone 2 mg/kg/day is not offered: it is a
# fraction of the grade-4 dose (1,000 mg/day), so as an "alternative" it would de-escalate.
LEE_NOT_BESIDE = (
    frozenset({"methylprednisolone.crs.g4"}),
    "asco_iec2021: Table 1 CRS G4 (methylprednisolone 1,000 mg/day IV, or 500 mg every 12 h "
    "as in Santomasso 2021); lee2014: methylprednisolone 2 mg/kg/day is its second-line dose, "
    "below the grade-4 regimen",
)

# CRS still uncontrolled after tocilizumab on corticosteroids: "If refractory, manage as per
# G4" (grade 3), and for grade 4 "consider methylprednisolone 1,000 mg IV 2 times a day or
# alternate therapy".
REFRACTORY_STEROID = (
    "methylprednisolone.crs.g4",
    "asco_iec2021: Table 1 CRS G3 (if refractory, manage as per G4)",
)
REFRACTORY_G4_TEXT = (
    "If not improving on it: methylprednisolone 1,000 mg IV twice a day or an alternative agent "
    "(anakinra, siltuximab), with the treating team",
    "asco_iec2021: Table 1 CRS G4 (if not improving)",
)


# --------------------------------------------------------------------------------------------
# Refractory CRS: agents beyond tocilizumab and corticosteroids (off-label)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefractoryAgent:
    id: str
    drug: str
    regimen: str | None  # knowledge.dosing regimen when the plan doses it
    text: str  # shown when not dosed, or beside the dose
    source: str


# fmt: off
REFRACTORY_AGENTS: tuple[RefractoryAgent, ...] = (
    RefractoryAgent("crs.refractory.anakinra", "anakinra", None,
                    "Anakinra (IL-1 receptor antagonist), off-label for CRS: dose per local protocol "
                    "(reported: 100 mg subcutaneously every 12 hours in a T-cell engager protocol; "
                    "in children 2 mg/kg IV up to every 6 hours, at most 100 mg a dose)",
                    "sps_crs: anakinra and siltuximab unlicensed for CRS; miami_tce: Table 3 (100 mg SC every 12 h); blood_adv2022_anakinra: Table 1 (2 mg/kg IV up to every 6 h, maximum 100 mg a dose)"),
    RefractoryAgent("crs.refractory.siltuximab", "siltuximab", "siltuximab.crs",
                    "Siltuximab (anti-IL-6), off-label for CRS",
                    "sps_crs: anakinra and siltuximab unlicensed for CRS"),
)
# fmt: on

# Infliximab is an irAE agent (ASCO 2021, colitis and pneumonitis), not a CRS agent: never
# offered for CRS.


# --------------------------------------------------------------------------------------------
# T-cell engagers: the label's rule for the drug itself during CRS
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngagerHold:
    drug: str  # generic name (knowledge.codes)
    brand: str
    text: str
    source: str


def _boxed(brand: str, drug: str, sections: str) -> str:
    return (
        f"Withhold {drug} ({brand}) until CRS resolves, or permanently discontinue based on "
        f"severity: the label's CRS table (section {sections}) gives the rule for each grade"
    )


# fmt: off
ENGAGER_HOLD: dict[str, EngagerHold] = {
    h.drug: h
    for h in (
        EngagerHold("teclistamab", "TECVAYLI", _boxed("TECVAYLI", "teclistamab", "2.5"), "tecvayli_label: boxed warning, section 2.5"),
        EngagerHold("talquetamab", "TALVEY", _boxed("TALVEY", "talquetamab", "2.5"), "talvey_label: boxed warning, section 2.5"),
        EngagerHold("glofitamab", "COLUMVI", _boxed("COLUMVI", "glofitamab", "2.4"), "columvi_label: boxed warning, section 2.4"),
        EngagerHold("epcoritamab", "EPKINLY", _boxed("EPKINLY", "epcoritamab", "2.6"), "epkinly_label: boxed warning, section 2.6"),
        EngagerHold("mosunetuzumab", "LUNSUMIO", _boxed("LUNSUMIO", "mosunetuzumab", "2.4"), "lunsumio_label: boxed warning, section 2.4"),
    )
}
# fmt: on
# Engagers whose label was not read here: hold while CRS is active and follow the label.
ENGAGER_HOLD_UNREAD = (
    "Hold {drug} while CRS is active; whether and when to resume or to stop for good is in its "
    "label's CRS table",
    "immunotox: every T-cell engager label read here withholds the drug until CRS resolves, "
    "this drug's label was not verified",
)


# --------------------------------------------------------------------------------------------
# Corticosteroids before CRS: relative adrenal insufficiency (Lee 2014)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChronicSteroids:
    """Long-term corticosteroids before CRS: a recorded corticosteroid (MedicationStatement)
    taken at some time in the `lookback_days` before the assessment (still running, or ended
    within them, however long ago it began) that lasted `min_days` or more, or has no end. With CRS of grade `min_grade` or more the plan suggests considering stress-dose
    hydrocortisone."""

    min_days: int
    lookback_days: int
    min_grade: int
    source: str

    @property
    def text(self) -> str:
        return (
            f"Recent long-term corticosteroids ({self.min_days} days or more, or no end recorded, "
            f"taken within the last {self.lookback_days} days): consider stress-dose hydrocortisone "
            "for relative adrenal insufficiency"
        )


CHRONIC_STEROIDS = ChronicSteroids(
    min_days=14,
    lookback_days=90,
    min_grade=2,
    source=(
        "lee2014: Corticosteroids and other agents (patients who received corticosteroids "
        "chronically may have a relative corticosteroid deficiency in which stress doses of "
        "hydrocortisone may be indicated; no duration, look-back or grade given); "
        "immunotox: 14 days within the last 90 days, from grade 2, not verified against a "
        "source; ese_es2024: Essential points (a risk of adrenal insufficiency from 3-4 weeks "
        "of therapy above a physiological dose, 4-6 mg/day prednisone), so 14 days flags earlier"
    ),
)
