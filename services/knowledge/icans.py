"""ICANS grading knowledge (ASTCT 2019): every threshold, band, code and rule text, with sources.

The grader in `services.icans` reads these rows; no number below is repeated in the code.
Sources: see `services.knowledge.sources` (ids before the colon).

Verification (December 2026): the ICE score items and the adult ICANS table were read against
reproductions of Lee 2019 (ASTCT) Tables 2 and 4 (PMC8403007 Table 4, PMC7990806 Table 2,
PMC8153820 Table 2, BMJ Pract Neurol Table 2); the children's CAPD rows against the ASCO 2021
guideline's Table 2 footnote and a published summary of the Lee 2019 paediatric table (the
original table was not read). ICD-10-CM G92.00-G92.05 titles against public code look-ups
(FY2026); other codes as each row says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.knowledge.codes import ICD10CM, LOINC, SNOMED


@dataclass(frozen=True)
class Param:
    id: str
    value: float
    unit: str
    text: str
    source: str


# fmt: off
_PARAMS = (
    Param("window", 24, "h", "Findings in the 24 hours before the assessment time count as current; the ICANS grade is the worst in that window",
          "immunotox: the ICE score is taken at least twice a day (asco_iec2021: Table 2, work-up for all grades), so 24 hours holds two or more"),
    Param("trajectory", 7, "d", "The ICANS grade over time is shown hour by hour for the 7 days before the assessment time", "immunotox"),
    Param("ice_max", 10, "points", "ICE score: 10 points (orientation 4, naming 3, following commands 1, writing 1, attention 1); 10 is normal",
          "astct2019: Table 2 (ICE); asco_iec2021: Table 2 footnote"),
    Param("capd_max_age", 12, "a", "Children aged 12 years and under are assessed with the CAPD; adults and children over 12 with the ICE score",
          "astct2019: ICANS grading for children (CAPD for children aged 12 years or younger); asco_iec2021: Table 2 footnote"),
)
# fmt: on

PARAMS: dict[str, Param] = {p.id: p for p in _PARAMS}


def value(pid: str) -> float:
    return PARAMS[pid].value


@dataclass(frozen=True)
class Band:
    """A score from `low` to `high` (inclusive) is ICANS of `grade` in its domain."""

    tool: str  # "ice" | "capd"
    low: int
    high: int
    grade: int
    rule: str  # the rule id it fires


# fmt: off
BANDS: tuple[Band, ...] = (
    Band("ice", 7, 9, 1, "icans.ice.g1"),
    Band("ice", 3, 6, 2, "icans.ice.g2"),
    Band("ice", 0, 2, 3, "icans.ice.g3"),
    # CAPD: higher is worse (0-32); 1-8 is grade 1 (grade 2 only with depressed consciousness).
    Band("capd", 1, 8, 1, "icans.capd.g1"),
    Band("capd", 9, 32, 3, "icans.capd.g3"),
)
# fmt: on


@dataclass(frozen=True)
class Rule:
    """A grading criterion: the text shown when it fires, and its source."""

    id: str
    domain: str  # ice | capd | consciousness | seizure | motor | icp | recorded
    grade: int
    text: str
    source: str


_T4 = "astct2019: ICANS consensus grading for adults (as reproduced in PMC8403007 Table 4)"
_PED = (
    "astct2019: ICANS grading for children (summarised in MDedge 2018 and NCIt C188936, the "
    "original table not read); asco_iec2021: Table 2 footnote (CAPD ≥9 is grade 3)"
)

# fmt: off
_RULES = (
    Rule("icans.ice.g1", "ice", 1, "ICE score 7-9", _T4),
    Rule("icans.ice.g2", "ice", 2, "ICE score 3-6", _T4),
    Rule("icans.ice.g3", "ice", 3, "ICE score 0-2 (grade 4 only if unarousable: see consciousness)", _T4 + ", footnote ('an ICE score of 0 may be classified as grade 3 ICANS if awake with global aphasia')"),
    Rule("icans.capd.g1", "capd", 1, "CAPD 1-8 (child ≤12 years)", _PED),
    Rule("icans.capd.g3", "capd", 3, "CAPD ≥9 (child ≤12 years)", _PED),
    Rule("icans.loc.g1", "consciousness", 1, "depressed level of consciousness, awakens spontaneously", _T4),
    Rule("icans.loc.g2", "consciousness", 2, "depressed level of consciousness, awakens to voice", _T4),
    Rule("icans.loc.g3", "consciousness", 3, "awakens only to tactile stimulus", _T4),
    Rule("icans.loc.g4", "consciousness", 4, "unarousable, or needs vigorous or repetitive tactile stimuli to arouse; stupor or coma", _T4),
    Rule("icans.seizure.g3", "seizure", 3, "clinical seizure, focal or generalised, that resolves rapidly, or non-convulsive seizures on EEG that resolve with intervention", _T4),
    Rule("icans.seizure.g4", "seizure", 4, "life-threatening prolonged seizure (>5 min), or repetitive seizures without return to baseline in between", _T4),
    Rule("icans.motor.g4", "motor", 4, "deep focal motor weakness such as hemiparesis or paraparesis", _T4 + ", where tremor and myoclonus do not count (footnote)"),
    Rule("icans.icp.g3", "icp", 3, "focal or local oedema on neuroimaging", _T4 + ", intracranial haemorrhage excluded (footnote)"),
    Rule("icans.icp.g4", "icp", 4, "diffuse cerebral oedema on neuroimaging; decerebrate or decorticate posturing; cranial nerve VI palsy; papilloedema; or Cushing's triad", _T4),
    Rule("icans.recorded", "recorded", 0, "ICANS recorded with its grade (ICD-10-CM G92.0x): a floor, never lowered by missing data", "immunotox: a clinician's recorded grade is kept as a floor (ICD-10-CM G92.01-G92.05)"),
)
# fmt: on

RULES: dict[str, Rule] = {r.id: r for r in _RULES}


# --- Level of consciousness: coded values (AVPU) --------------------------------------------------
@dataclass(frozen=True)
class ConsciousnessCode:
    code: str  # "system|code" of the Observation's value
    label: str
    rule: str | None  # None: alert (no finding)
    source: str


_AVPU_SRC = (
    "SNOMED CT AVPU findings as expanded from tx.fhir.org in the IHE mPSC and PH Road Safety "
    "value sets; immunotox: 'responds to pain' read as grade 3 (tactile stimulus), with grade 4 "
    "asked for when vigorous or repetitive stimuli were needed"
)
# fmt: off
CONSCIOUSNESS: tuple[ConsciousnessCode, ...] = (
    ConsciousnessCode(f"{SNOMED}|248234008", "alert", None, _AVPU_SRC),
    ConsciousnessCode(f"{SNOMED}|300202002", "responds to voice", "icans.loc.g2", _AVPU_SRC),
    ConsciousnessCode(f"{SNOMED}|450847001", "responds only to pain", "icans.loc.g3", _AVPU_SRC),
    ConsciousnessCode(f"{SNOMED}|422768004", "unresponsive", "icans.loc.g4", _AVPU_SRC),
)
# fmt: on
CONSCIOUSNESS_BY_CODE = {c.code: c for c in CONSCIOUSNESS}

# An Observation is read as a level of consciousness (its coded value above, or its text below)
# only when its code names one: LOINC 80288-4, or one of these names as a whole phrase in
# code.text or a coding's display.
LOC_OBSERVATION_CODES = (f"{LOINC}|80288-4",)
LOC_OBSERVATION_SOURCE = (
    "LOINC 80288-4 'Level of consciousness' (seen in the HL7 Denmark DK Core Observation example "
    "MaxConsciousness, valued with the SNOMED CT AVPU finding 450847001 'Responds to pain'); no "
    "LOINC code for AVPU alone was found (not verified): AVPU is read by name"
)
LOC_OBSERVATION_NAMES = (
    "level of consciousness",
    "consciousness level",
    "conscious level",
    "level of responsiveness",
    "level of arousal",
    "avpu",
)


@dataclass(frozen=True)
class ConsciousnessTerm:
    """A phrase, read as a whole phrase in the value text of a level-of-consciousness
    Observation (valueString, valueCodeableConcept.text or a coding's display). `exact`: only
    when it is the whole value (the AVPU letters and single words)."""

    phrase: str
    rule: str | None  # None: alert (no finding)
    exact: bool = False


_LOC_TEXT_SRC = (
    "astct2019: ICANS table, depressed level of consciousness (grade 1 'awakens spontaneously', "
    "grade 2 'awakens to voice', grade 3 'awakens only to tactile stimulus', grade 4 'patient is "
    "unarousable or requires vigorous or repetitive tactile stimuli to arouse. Stupor or coma'; "
    "read in PMC8403007 Table 4 and Pract Neurol Table 2); the AVPU letters and words as in the "
    "SNOMED CT AVPU value sets above, 'P' (responds to pain) read as grade 3 as for its code; "
    "immunotox: the synonyms, matched as whole phrases, never after a negation ('not', 'no', "
    "'never', 'without', 'denies', 'no longer')"
)
# fmt: off
CONSCIOUSNESS_TERMS: tuple[ConsciousnessTerm, ...] = (
    *(ConsciousnessTerm(t, "icans.loc.g4") for t in (
        "unarousable", "unrousable", "not arousable", "not rousable", "cannot be aroused", "cannot be roused",
        "vigorous stimuli", "vigorous stimulus", "vigorous tactile stimuli", "vigorous tactile stimulus",
        "vigorous or repetitive tactile stimuli", "repetitive tactile stimuli", "repetitive stimuli",
        "stupor", "stuporous", "coma", "comatose", "unresponsive")),
    *(ConsciousnessTerm(t, "icans.loc.g3") for t in (
        "awakens only to tactile stimulus", "awakens only to tactile stimuli", "awakens only to touch",
        "awakens to tactile stimulus", "awakens to tactile stimuli", "awakens to touch",
        "rousable to touch", "arousable to touch", "responds only to pain", "responds to pain",
        "responds to painful stimuli", "responds only to painful stimuli")),
    *(ConsciousnessTerm(t, "icans.loc.g2") for t in (
        "awakens to voice", "awakens to verbal stimuli", "rousable to voice", "arousable to voice",
        "responds to voice", "responds to verbal stimuli", "somnolent, awakens to voice")),
    *(ConsciousnessTerm(t, "icans.loc.g1") for t in ("awakens spontaneously", "wakes spontaneously")),
    ConsciousnessTerm("alert", None, exact=True),
    ConsciousnessTerm("a", None, exact=True),
    ConsciousnessTerm("v", "icans.loc.g2", exact=True),
    ConsciousnessTerm("voice", "icans.loc.g2", exact=True),
    ConsciousnessTerm("verbal", "icans.loc.g2", exact=True),
    ConsciousnessTerm("p", "icans.loc.g3", exact=True),
    ConsciousnessTerm("pain", "icans.loc.g3", exact=True),
    ConsciousnessTerm("u", "icans.loc.g4", exact=True),
)
# fmt: on
CONSCIOUSNESS_NEGATIONS = ("not", "no", "never", "without", "denies", "nor", "isn't", "wasn't")
# A value naming sedation is not graded: depressed consciousness from sedating drugs is not ICANS.
SEDATION_TERMS = (
    "sedated",
    "sedation",
    "sedative",
    "induced coma",
    "medically induced",
    "paralysed",
    "paralyzed",
)
SEDATION_NOTE = (
    "sedation named, not graded as ICANS (ASTCT 2019: depressed level of consciousness should be "
    "attributable to no other cause, e.g. no sedating medication)"
)
_CLAUSE_BREAK = re.compile(r"[;,.()\-–]|\bbut\b")


def read_consciousness(text: str) -> tuple[bool, str | None]:
    """(recognised, rule) for the text of a level-of-consciousness value: the worst phrase of
    `CONSCIOUSNESS_TERMS` that the text affirms (a phrase within three words after a negation
    in its clause does not count). (True, None): alert; (False, None): not recognised."""
    low = " ".join(text.lower().replace("–", "-").split())
    if any(t in low for t in SEDATION_TERMS):
        return False, None
    bare = low.strip(" .;:-")
    hits: list[ConsciousnessTerm] = []
    for t in CONSCIOUSNESS_TERMS:
        if t.exact:
            if bare == t.phrase or re.match(rf"{re.escape(t.phrase)}\s*[-:(]", bare):
                hits.append(t)
            continue
        for m in re.finditer(rf"(?<![\w-]){re.escape(t.phrase)}(?![\w-])", low):
            before = _CLAUSE_BREAK.split(low[: m.start()])[-1].split()[-3:]
            if not any(w in CONSCIOUSNESS_NEGATIONS for w in before):
                hits.append(t)
                break
    if not hits:
        return False, None
    graded = [t.rule for t in hits if t.rule]
    if not graded:
        return True, None
    return True, max(graded, key=lambda r: RULES[r].grade)


CONSCIOUSNESS_TEXT_SOURCE = _LOC_TEXT_SRC
# An ICE score charted as text because the patient cannot be roused ("unable to assess -
# patient unarousable") is ICE 0 with an unarousable patient: grade 4 by consciousness.
ICE_UNAROUSABLE_SOURCE = (
    "astct2019: ICANS table, ICE score grade 4 '0 (patient is unarousable and unable to perform "
    "ICE)' (PMC8403007 Table 4); immunotox: read from the ICE row's text with the phrases above"
)

# Glasgow coma score: shown with its value, never graded (ASTCT 2019 grades consciousness by
# arousal, not by GCS; no cited source mapping GCS to an ICANS grade was found).
GCS_CODES = (f"{LOINC}|9269-2",)
GCS_NAMES = (
    "glasgow coma score total",
    "glasgow coma scale total",
    "glasgow coma score",
    "glasgow coma scale",
    "gcs",
)
# A coding of a GCS component (eye opening 9267-6, verbal 9270-0, motor 9268-4) is not the total.
GCS_COMPONENT_WORDS = ("eye", "eyes", "verbal", "motor")
GCS_MAX = 15
GCS_MIN = 3
GCS_NOTE = (
    "{text}: not an ASTCT 2019 ICANS criterion (the consensus grades consciousness by how the "
    "patient rouses: spontaneously, to voice, only to touch, or not at all)"
)
GCS_SOURCE = (
    "LOINC 9269-2 'Glasgow coma score total' (FHIR R4 Questionnaire and Observation examples "
    "'gcs'/'glasgow'); astct2019: ICANS table (no GCS criterion); immunotox: no cited mapping of "
    "GCS to an ICANS grade found, so none is made"
)
GCS_MISSING = (
    "level of consciousness",
    "A Glasgow coma score below {max} is charted: chart how the patient rouses (spontaneously, "
    "to voice, only to touch, or unarousable), which ASTCT 2019 grades",
)


# --- Assessment tools as Observations ------------------------------------------------------------
# No LOINC code for the ICE score or the CAPD total was found (LOINC search of public FHIR
# value sets and documentation, December 2026). They are read by name (code.text or a coding's
# display) with an integer value, or by the product's own code, which the app writes.
LOCAL_SYSTEM = "https://immunotox.example/fhir/CodeSystem/assessment"


@dataclass(frozen=True)
class Tool:
    tool: str  # "ice" | "capd"
    label: str
    local_code: str  # f"{LOCAL_SYSTEM}|..."
    names: tuple[str, ...]  # matched as whole phrases, case aside
    max_score: int
    source: str


# fmt: off
TOOLS: tuple[Tool, ...] = (
    Tool("ice", "ICE score", f"{LOCAL_SYSTEM}|ice-score",
         ("ice score", "ice total score", "immune effector cell-associated encephalopathy", "immune effector cell associated encephalopathy"),
         10, "astct2019: Table 2 (ICE, 0-10); immunotox: no LOINC code found, read by name"),
    Tool("capd", "CAPD", f"{LOCAL_SYSTEM}|capd-score",
         ("capd score", "capd total", "cornell assessment of pediatric delirium", "cornell assessment of paediatric delirium"),
         32, "astct2019: CAPD for children ≤12 years; immunotox: no LOINC code found, read by name (8 items scored 0-4, total 0-32); 'CAPD' alone is not read (also continuous ambulatory peritoneal dialysis)"),
)
# fmt: on
TOOL_BY_LOCAL_CODE = {t.local_code: t for t in TOOLS}


# --- The ICE assessment as the bedside form asks it (SMART app) ---------------------------------
@dataclass(frozen=True)
class IceItem:
    """One task of the ICE score: what the nurse asks, and the points it carries (each point
    scored 0 or 1; `points` > 1: the count of objects named)."""

    id: str
    domain: str
    text: str
    points: int
    local_code: str  # f"{LOCAL_SYSTEM}|...": the component code of the written Observation
    source: str


_ICE_T2 = (
    "astct2019: Table 2 (ICE), text read in the reproduction PMC8153820 Table 2 (Neuro-Oncology "
    "Practice 2021;8:259-265)"
)
# fmt: off
ICE_ITEMS: tuple[IceItem, ...] = (
    IceItem("orientation_year", "Orientation", "Orientation to year", 1, f"{LOCAL_SYSTEM}|ice-orientation-year", _ICE_T2),
    IceItem("orientation_month", "Orientation", "Orientation to month", 1, f"{LOCAL_SYSTEM}|ice-orientation-month", _ICE_T2),
    IceItem("orientation_city", "Orientation", "Orientation to city", 1, f"{LOCAL_SYSTEM}|ice-orientation-city", _ICE_T2),
    IceItem("orientation_hospital", "Orientation", "Orientation to hospital", 1, f"{LOCAL_SYSTEM}|ice-orientation-hospital", _ICE_T2),
    IceItem("naming", "Naming", "Names 3 objects (e.g. a watch, a pen, a button): one point each", 3, f"{LOCAL_SYSTEM}|ice-naming", _ICE_T2),
    IceItem("commands", "Following commands", "Follows simple commands (e.g. “Show 2 fingers”)", 1, f"{LOCAL_SYSTEM}|ice-commands", _ICE_T2),
    IceItem("writing", "Writing", "Writes a standard sentence (e.g. “Today is a sunny day”)", 1, f"{LOCAL_SYSTEM}|ice-writing", _ICE_T2),
    IceItem("attention", "Attention", "Counts backwards from 100 by 10", 1, f"{LOCAL_SYSTEM}|ice-attention", _ICE_T2),
)
# fmt: on


# --- Conditions that carry an ICANS domain --------------------------------------------------------
@dataclass(frozen=True)
class NeuroConcept:
    kind: str  # seizure | status_epilepticus | motor | cerebral_oedema | raised_icp | icans
    codes: tuple[str, ...]
    terms: tuple[str, ...]  # whole phrases in the text (negation aside: `codes.mentions`)
    rule: str | None  # the rule it fires (None: recorded ICANS, graded by its code)
    source: str
    # ICD-10-CM codes that carry the ICANS grade (G92.01 = grade 1).
    graded_codes: tuple[tuple[str, int], ...] = ()


def _icd(*cs: str) -> tuple[str, ...]:
    return tuple(f"{ICD10CM}|{c}" for c in cs)


_ICD_SEEN = "ICD-10-CM title checked in public code tables"
_ICD_UNVERIFIED = "ICD-10-CM code not verified against the tabular list this release"
_SCT_UNVERIFIED = "SNOMED CT code not verified against a public code table in this release"
# fmt: off
NEURO: tuple[NeuroConcept, ...] = (
    NeuroConcept("icans", _icd("G92.00", "G92.01", "G92.02", "G92.03", "G92.04", "G92.05"),
                 ("immune effector cell-associated neurotoxicity", "immune effector cell associated neurotoxicity", "icans"),
                 None, "ICD-10-CM G92.00 (grade unspecified), G92.01-G92.05 (grades 1-5), titles checked in public code look-ups (FY2026)",
                 graded_codes=tuple((f"{ICD10CM}|G92.0{g}", g) for g in range(1, 6))),
    NeuroConcept("status_epilepticus", (*_icd("G40.901", "G40.911"), f"{SNOMED}|230456007"),
                 ("status epilepticus", "prolonged seizure", "repetitive seizures"), "icans.seizure.g4",
                 f"{_ICD_UNVERIFIED} (G40.901, G40.911: epilepsy, unspecified, with status epilepticus); {_SCT_UNVERIFIED} (230456007)"),
    NeuroConcept("seizure", (*_icd("R56.9"), f"{SNOMED}|91175000"),
                 ("seizure", "convulsion", "convulsions", "non-convulsive seizure", "nonconvulsive seizure"), "icans.seizure.g3",
                 f"{_ICD_SEEN} (R56.9 unspecified convulsions); {_SCT_UNVERIFIED} (91175000 seizure)"),
    NeuroConcept("motor", _icd("G81.90", "G81.91", "G81.92", "G81.93", "G81.94", "G82.20"),
                 ("hemiparesis", "paraparesis", "hemiplegia", "paraplegia"), "icans.motor.g4",
                 f"{_ICD_UNVERIFIED} (G81.9x hemiplegia, G82.20 paraplegia)"),
    NeuroConcept("raised_icp", (*_icd("H47.10", "H47.11", "H49.20", "H49.21", "H49.22", "H49.23"),),
                 ("papilledema", "papilloedema", "decerebrate", "decorticate", "cushing's triad", "cushing triad",
                  "sixth nerve palsy", "abducens palsy", "abducens nerve palsy", "cranial nerve vi palsy", "diffuse cerebral edema", "diffuse cerebral oedema"),
                 "icans.icp.g4",
                 f"{_ICD_SEEN} (H49.20 sixth nerve palsy, unspecified eye); {_ICD_UNVERIFIED} (H47.10, H47.11 papilledema; H49.21-H49.23)"),
    NeuroConcept("cerebral_oedema", (*_icd("G93.6"), f"{SNOMED}|2032001"),
                 ("cerebral edema", "cerebral oedema", "brain edema", "brain oedema"), "icans.icp.g3",
                 f"{_ICD_SEEN} (G93.6 cerebral edema); {_SCT_UNVERIFIED} (2032001)"),
)
# fmt: on
NEURO_BY_KIND = {n.kind: n for n in NEURO}
# Oedema described as diffuse is grade 4 (icans.icp.g4); focal, local or unstated extent grade 3.
DIFFUSE_TERMS = ("diffuse", "generalized", "generalised", "global")
# Intracranial haemorrhage is not a neurotoxicity feature (ASTCT footnote): text naming it is
# not read as ICANS oedema.
HAEMORRHAGE_TERMS = ("hemorrhage", "haemorrhage", "hematoma", "haematoma", "bleed")
HAEMORRHAGE_SOURCE = "astct2019: ICANS table footnote (intracranial haemorrhage excluded)"


# --- Attribution: which therapy an ICANS belongs to --------------------------------------------------
@dataclass(frozen=True)
class OnsetWindow:
    drug_class: str
    label: str
    rank: int
    days: float
    text: str
    source: str


# fmt: off
ONSET_WINDOWS: tuple[OnsetWindow, ...] = (
    OnsetWindow("cellular_therapy", "CAR T-cell or other T-cell therapy", 1, 56,
                "ICANS after T-cell therapy begins within 8 weeks of the infusion (most within the first 2 weeks)",
                "yescarta_label: 5.2 neurologic toxicities (onset within the first weeks); kymriah_label: 5.2; immunotox: 8 weeks, not verified against the labels' exact ranges this release"),
    OnsetWindow("bispecific", "T-cell engager", 1, 14,
                "ICANS after a T-cell engager begins within 14 days of the most recent dose",
                "bsab_consensus2024: neurotoxicity with step-up dosing; immunotox: 14 days after the most recent dose, not verified against every label"),
)
# fmt: on
ONSET_BY_CLASS = {w.drug_class: w for w in ONSET_WINDOWS}
# Checkpoint inhibitors are never a cause of ICANS: their neurologic irAEs are graded apart.
NOT_ATTRIBUTABLE_NOTE = (
    "No CAR T-cell therapy or T-cell engager within its window: ICANS grading does not apply "
    "(neurologic adverse events of checkpoint inhibitors are graded as irAEs, not as ICANS)."
)
NOT_ATTRIBUTABLE_SOURCE = (
    "astct2019: ICANS defined for immune effector cell therapies; asco2021: neurologic irAEs of "
    "checkpoint inhibitors"
)

DISCLAIMER = (
    "ICANS is graded only when no other cause explains the findings (ASTCT 2019): sedating "
    "drugs, infection, metabolic causes and intracranial haemorrhage must be considered by the "
    "clinician."
)


# --- Management (ASCO 2021 immune effector cell guideline, Table 2) ------------------------------
@dataclass(frozen=True)
class PlanRow:
    """One line of the ICANS plan, for ICANS grades `min_grade`-`max_grade`.

    `crs`: "any", "with" (CRS of grade ≥`crs_min` now) or "without" (no CRS now). `domain`: only
    when a criterion of that domain fired (seizure, icp). `regimen`: a dosed row of
    `knowledge.dosing`; otherwise advice, naming `drug` without a dose when given.
    `after_tocilizumab`: with concurrent CRS, offered once a tocilizumab dose was given since the
    therapy, and until then shown with `when`."""

    id: str
    min_grade: int
    max_grade: int
    category: str
    text: str
    source: str
    crs: str = "any"
    crs_min: int = 1
    domain: str | None = None
    regimen: str | None = None
    urgency: str = "routine"
    service: str | None = None
    drug: str | None = None
    no_dose: str | None = None
    alternative_to: str | None = None
    when: str | None = None
    after_tocilizumab: bool = False
    # Dosed from this regimen of `knowledge.dosing` within the tocilizumab course (the doses
    # already given, the interval and the maximum), unless the CRS lines already offer it.
    course_regimen: str | None = None


_T2 = "asco_iec2021: Table 2"
# Read in the Guideline Central pocket copy of the guideline (eguideline.guidelinecentral.com,
# item 1475467, pages 7-8: the work-up for all grades and G1-G3); the G4 page and the table's
# footnotes were not found in the copies searched.
_T2_READ = "verified in the Guideline Central copy of Table 2, pages 7-8"
_T2_G4 = (
    "asco_iec2021: Table 2 G3-G4 (the G4 page of the guideline was not found in the copies "
    "searched: standard neurocritical care, not verified against its wording)"
)
# A corticosteroid the CRS plan already offers to sign: the ICANS corticosteroid lines are then
# shown with this condition and never offered as a second order.
STEROID_DRUGS = ("dexamethasone", "methylprednisolone", "prednisone", "hydrocortisone")
STEROID_WITH_CRS_PLAN = "instead of the corticosteroid in the CRS lines, never as a second one"
STEROID_WITH_CRS_PLAN_SOURCE = "immunotox: one corticosteroid order at a time (CRS and ICANS treated with the same drug, asco_iec2021: Table 2)"

_LP_SHIFT = (
    "vancrevel2002: abstract (brain shift is a contraindication to lumbar puncture, whether CSF "
    "pressure is raised or not, so CT first)"
)
# fmt: off
PLAN: tuple[PlanRow, ...] = (
    PlanRow("icans.monitor", 1, 4, "supportive",
            "ICE score and motor examination at least twice a day; serial CRP, ferritin, blood count, chemistry, fibrinogen and PT/PTT; correct severe hyponatraemia",
            f"{_T2}, work-up and supportive care for all grades"),
    PlanRow("icans.neurology", 1, 4, "consult", "Neurology consultation", f"{_T2}, work-up for all grades (signs of neurotoxicity)",
            service="Neurology consult"),
    PlanRow("icans.supportive", 1, 4, "supportive", "Supportive care: IV hydration, aspiration precautions, head of bed elevated",
            f"{_T2}, G1 and all grades"),
    PlanRow("icans.seizure_prophylaxis", 1, 4, "supportive",
            "Consider seizure prophylaxis with levetiracetam for products known for ICANS or a higher seizure risk (prior seizures, CNS disease, concerning EEG, brain lesions)",
            f"{_T2}, work-up for all grades", drug="levetiracetam", no_dose="Dose per local protocol (the guideline names no dose)"),
    PlanRow("icans.imaging", 2, 4, "consult",
            "MRI brain with and without contrast (CT if MRI is not feasible); repeat every 2-3 days while grade ≥3 persists",
            f"{_T2}, work-up (neuroimaging for ≥G2)", service="MRI brain"),
    PlanRow("icans.eeg", 2, 4, "consult", "EEG for seizure activity", f"{_T2}, work-up (EEG for ≥G2 or unexplained altered mental status)", service="EEG"),
    PlanRow("icans.lumbar_puncture", 3, 4, "consult", "Lumbar puncture (may be considered from grade 2), only after imaging has excluded raised intracranial pressure or mass effect", f"{_T2}, work-up (≥G3, may consider for G2); {_LP_SHIFT}",
            service="Lumbar puncture"),
    PlanRow("icans.icu", 3, 4, "consult", "Transfer to intensive care", f"{_T2}, G3 (all G3 patients)", urgency="urgent", service="Intensive care consult"),
    PlanRow("icans.icu_with_crs", 2, 2, "consult", "Consider intensive care: ICANS with CRS of grade 2 or more", f"{_T2}, G2 with concurrent CRS",
            crs="with", crs_min=2, service="Intensive care consult"),
    PlanRow("icans.tocilizumab_with_crs", 1, 4, "immunosuppression",
            "ICANS with concurrent CRS (CRS of any grade): tocilizumab first, within the course limits; caution with repeated doses in ICANS. Without CRS, tocilizumab is not given for ICANS",
            f"{_T2}, G1 with concurrent CRS ('Administer tocilizumab 8 mg/kg IV over 1 hour (not to exceed 800 mg/dose) ... Caution with repeated "
            f"tocilizumab doses in patients with ICANS'), G2 and G3 with concurrent CRS ('Administer tocilizumab as per G1'), {_T2_READ} (G4 not read)",
            crs="with", drug="tocilizumab", course_regimen="tocilizumab.label"),
    PlanRow("icans.dexamethasone_g2", 2, 2, "immunosuppression", "",
            f"{_T2}, G2 without CRS ('For high-risk products or patients consider dexamethasone 10 mg IV × 2 doses (or equivalent) and reassess. "
            f"Repeat every 6–12 hours if no improvement'), {_T2_READ}", crs="without",
            regimen="dexamethasone.icans", when="for high-risk products or patients: 2 doses, then reassess"),
    PlanRow("icans.dexamethasone", 3, 3, "immunosuppression", "",
            f"{_T2}, G3 without CRS ('Administer dexamethasone (10 mg IV every 6–12 hours) or methylprednisolone equivalent (1 mg/kg IV every "
            f"12 hours)'), {_T2_READ}", crs="without", regimen="dexamethasone.icans", urgency="urgent"),
    PlanRow("icans.dexamethasone_with_crs", 2, 3, "immunosuppression", "",
            f"{_T2}, G2 and G3 with concurrent CRS ('If refractory to tocilizumab past the first dose, initiate dexamethasone (10 mg IV every 6–12 "
            f"hours) or methylprednisolone equivalent (1 mg/kg IV every 12 hours)'), {_T2_READ}",
            crs="with", regimen="dexamethasone.icans", when="if no better after the first tocilizumab dose", after_tocilizumab=True),
    PlanRow("icans.methylprednisolone", 2, 3, "immunosuppression", "", f"{_T2}, G2-G3 ('or methylprednisolone equivalent (1 mg/kg IV every 12 hours)'), {_T2_READ}",
            regimen="methylprednisolone.icans", alternative_to="icans.dexamethasone"),
    PlanRow("icans.methylprednisolone_g4", 4, 4, "immunosuppression", "", f"{_T2}, G4", regimen="methylprednisolone.icans_g4", urgency="urgent"),
    PlanRow("icans.seizure", 3, 4, "supportive", "Treat the seizure: benzodiazepine for an ongoing seizure, levetiracetam, EEG monitoring; status epilepticus per protocol",
            _T2_G4, domain="seizure", urgency="urgent", drug="levetiracetam", no_dose="Dose per local seizure protocol"),
    PlanRow("icans.raised_icp", 3, 4, "consult",
            "Cerebral oedema or raised intracranial pressure: neurosurgery consultation; hyperosmolar therapy (mannitol or hypertonic saline) and hyperventilation per protocol",
            _T2_G4, domain="icp", urgency="urgent", service="Neurosurgery consult"),
    PlanRow("icans.taper", 2, 4, "supportive", "ICANS flares have followed rapid steroid tapers: watch closely while tapering", f"{_T2}, footnote ***"),
    PlanRow("icans.refractory", 3, 4, "immunosuppression",
            "Persistent or worsening ICANS despite steroids: anakinra, siltuximab, ruxolitinib, cyclophosphamide, ATG or intrathecal hydrocortisone with methotrexate (limited experience)",
            f"{_T2}, footnote ****", when="if persistent or worsening on corticosteroids"),
)
# fmt: on


# The CRS plan already offers tocilizumab: the ICANS line points to it (text, source, why no
# dose on this line).
TOCI_IN_CRS_LINE = (
    "The tocilizumab line of the CRS plan serves ICANS too: one order for both",
    "immunotox: one tocilizumab order at a time",
    "Dose: in the CRS tocilizumab line (one order for both)",
)

# Products for which the guideline recommends earlier corticosteroids: with concurrent CRS, the
# ICANS corticosteroid is then not held back until tocilizumab has failed.
EARLY_STEROID_PRODUCTS = ("axicabtagene ciloleucel", "brexucabtagene autoleucel")
EARLY_STEROID_WHEN = (
    "{drug}: earlier corticosteroids are recommended for this product, with or after tocilizumab"
)
EARLY_STEROID_SOURCE = (
    "asco_iec2021: Table 1, additional considerations ('Earlier steroid use appears to reduce the "
    "rate of CAR T-cell treatment-related CRS and neurologic events and is recommended for some "
    "products (axicabtagene ciloleucel or bexucabtagene [sic] autoleucel)'), verified in the "
    "Guideline Central copy, page 6 (Table 2's own footnote on high-risk products was not found)"
)

# The CRS grade-1 line ("symptomatic treatment only; no immunosuppression") is about CRS alone:
# with ICANS graded, it says so (text, source).
CRS_G1_WITH_ICANS = (
    "CRS grade 1: symptomatic treatment only, no immunosuppression for the CRS itself. ICANS "
    "grade {grade} is present: the ICANS lines govern corticosteroids and tocilizumab",
    f"{_T2}: ICANS management with concurrent CRS, {_T2_READ}",
)


# --- IEC-associated HLH-like syndrome (IEC-HS): a screen, not a diagnosis -------------------------
@dataclass(frozen=True)
class HsCriterion:
    """One laboratory finding of the IEC-HS screen. `kind`: "key" (required) or "supporting"."""

    id: str
    kind: str
    series: str
    text: str
    source: str
    above_uln: float | None = None  # multiple of the upper limit of normal (or of baseline)
    above: float | None = None  # an absolute limit, in the series' unit
    below: float | None = None
    # a cytopenia: counts only when new or worsening against the value before the therapy
    new_or_worse: bool = False


_HINES = (
    "hines2023: proposed diagnostic criteria (as recalled, the paper's table not read this release)"
)
_HLH = "hlh2004: diagnostic criteria (read in the AAP Pediatrics reproduction)"
# fmt: off
HS_CRITERIA: tuple[HsCriterion, ...] = (
    HsCriterion("iec_hs.ferritin", "key", "ferritin", "ferritin more than 2 × the upper limit of normal or 2 × the value before the therapy",
                _HINES, above_uln=2),
    HsCriterion("iec_hs.ferritin_rising", "key", "ferritin", "ferritin rising rapidly: at least doubled within 48 hours",
                f"{_HINES}; immunotox: 'rapidly rising' read as doubling within 48 hours (not verified: the paper, "
                "Transplant Cell Ther 2023 29(7) 438.e1-16, was found but not its criteria table, and 'rapidly "
                "rising ferritin' as a feature of IEC-HS was read in a nursing summary only, ONS Voice)"),
    HsCriterion("iec_hs.transaminases_alt", "supporting", "alt", "ALT more than 5 × the upper limit of normal", _HINES, above_uln=5),
    HsCriterion("iec_hs.transaminases_ast", "supporting", "ast", "AST more than 5 × the upper limit of normal", _HINES, above_uln=5),
    HsCriterion("iec_hs.fibrinogen", "supporting", "fibrinogen", "fibrinogen below 150 mg/dL", f"{_HINES}; {_HLH}", below=150),
    HsCriterion("iec_hs.triglycerides", "supporting", "triglycerides", "triglycerides above 265 mg/dL", f"{_HINES}; {_HLH}", above=265),
    HsCriterion("iec_hs.platelets", "supporting", "platelets", "platelets below 100 × 10⁹/L", f"{_HINES} (new or worsening cytopenias); {_HLH} (thresholds)", below=100, new_or_worse=True),
    HsCriterion("iec_hs.neutrophils", "supporting", "neutrophils", "neutrophils below 1.0 × 10⁹/L", f"{_HINES} (new or worsening cytopenias); {_HLH} (thresholds)", below=1.0, new_or_worse=True),
    HsCriterion("iec_hs.hemoglobin", "supporting", "hemoglobin", "haemoglobin below 9 g/dL", f"{_HINES} (new or worsening cytopenias); {_HLH} (thresholds)", below=9, new_or_worse=True),
)
# fmt: on
HS_WINDOW_H = (72.0, "immunotox: laboratory values in the 72 hours before the assessment")
HS_RISING_H = (
    48.0,
    "immunotox: 'rapidly rising' ferritin compared with the value 48 hours earlier or more",
)
HS_RISING_FACTOR = 2.0
HS_WORSENING = (
    0.25,
    "immunotox: Hines 2023 counts new or worsening cytopenias (Lee, Johnson, Hines, Shah, Hematol "
    "Oncol Clin North Am 2025 abstract: 'decreasing cell counts'); a cytopenia present before the "
    "therapy is read as worsening when it fell by at least this fraction of the baseline (not "
    "verified: no numeric rule for 'worsening' was found in the sources read)",
)
HS_BASELINE_MISSING = (
    "Needed to tell a new or worsening cytopenia from one present before the therapy; "
    "not counted without it"
)
# The phase of CRS beside the screen (Hines 2023: IEC-HS typically emerges as CRS resolves, or as
# inflammation worsens after first improving; not verified against the paper's text).
HS_PHASE = {
    "active": "During active CRS (grade {grade} now): CRS itself gives the same laboratory "
    "changes; IEC-HS typically emerges as CRS resolves",
    "after": "After CRS (first fever {onset}, no CRS graded now): the phase in which IEC-HS "
    "typically emerges",
    "none": "No CRS recorded since the therapy",
}
HS_PHASE_SOURCE = (
    "hines2023: IEC-HS typically emerges as CRS resolves (as recalled, not verified against "
    "the paper's text)"
)
HS_NOTE = (
    "A screen, not a diagnosis: IEC-HS is diagnosed clinically (often as CRS resolves, or "
    "inflammation worsens after first improving); infection, CRS itself and marrow disease cause "
    "the same laboratory changes."
)
HS_PATHWAY = (
    "If IEC-HS is suspected: haematology review, bone marrow examination for haemophagocytosis, "
    "and the Hines 2023 pathway (anakinra first line with or without corticosteroids; "
    "ruxolitinib or emapalumab when refractory)"
)
HS_PATHWAY_SOURCE = "hines2023: treatment recommendations (as recalled, not verified against the paper's text this release)"


@dataclass(frozen=True)
class HsPlanRow:
    """One line of the plan when the IEC-HS screen is positive; `criterion`: only when that
    criterion of HS_CRITERIA fired. No doses: none was verified against the paper's text."""

    id: str
    category: str
    text: str
    source: str
    criterion: str | None = None
    drug: str | None = None
    no_dose: str | None = None
    urgency: str = "routine"
    service: str | None = None
    when: str | None = None


_HINES_T = (
    "hines2023: treatment and supportive care, Table 4 (recalled, not verified against the "
    "paper's text)"
)
_NO_HS_DOSE = "No dose: the Hines 2023 dose was not verified; use the local IEC-HS protocol"
# fmt: off
HS_PLAN: tuple[HsPlanRow, ...] = (
    HsPlanRow("iec_hs.haematology", "consult", "Haematology consultation for suspected IEC-HS (bone marrow examination for haemophagocytosis if it would change management)",
              _HINES_T, urgency="urgent", service="Haematology consult"),
    HsPlanRow("iec_hs.infection", "supportive", "Infection work-up (blood cultures, viral studies) before and during immunosuppression: infection causes the same picture and can trigger it",
              _HINES_T),
    HsPlanRow("iec_hs.anakinra", "immunosuppression", "Anakinra: first line for IEC-HS", _HINES_T,
              drug="anakinra", no_dose=_NO_HS_DOSE, urgency="urgent"),
    HsPlanRow("iec_hs.corticosteroids", "immunosuppression", "Corticosteroids may be added to anakinra (first line: anakinra with or without corticosteroids)",
              _HINES_T),
    HsPlanRow("iec_hs.fibrinogen", "supportive", "Fibrinogen replacement (cryoprecipitate or fibrinogen concentrate) for the low fibrinogen; watch for bleeding",
              _HINES_T, criterion="iec_hs.fibrinogen"),
    HsPlanRow("iec_hs.refractory", "immunosuppression", "IEC-HS refractory to anakinra and corticosteroids: ruxolitinib or emapalumab (haematology)",
              _HINES_T, when="if refractory to anakinra and corticosteroids"),
)
# fmt: on


# Plan text adjusted to what is on record (`services.icans_plan.adjust`): (text, source).
LP_WITHHELD = (
    "Lumbar puncture not suggested: cerebral oedema or raised intracranial pressure is recorded "
    "(risk of herniation); decide with neurology and neurosurgery after imaging",
    f"{_T2}, work-up; {_LP_SHIFT}",
)
SEIZURE_DRUG_GIVEN = (
    "Antiseizure drug already given ({drugs}): continue per the seizure plan and neurology, "
    "no separate prophylaxis line",
    f"{_T2}, work-up for all grades (seizure prophylaxis)",
)
# For a child assessed with the CAPD (12 years or under), the twice-daily assessment is the CAPD
# (ASTCT 2019 ICANS grading for children: CAPD instead of the ICE score).
MONITOR_TOOL = {"ice": "ICE score", "capd": "CAPD"}
MONITOR_TOOL_SOURCE = "astct2019: ICANS grading for children 12 years or under (CAPD)"


@dataclass(frozen=True)
class OtherCause:
    """A recorded finding that may explain confusion or a depressed level of consciousness: shown
    as "consider another cause" beside the ICANS grade (ASTCT 2019 grades what is not
    attributable to another cause), never lowering the grade. `codes`: an active coded Condition;
    `series`/`below`: a laboratory value in the ICANS window; kind "infection": the CRS
    infection reading (`services.attribution`)."""

    id: str
    kind: str
    label: str
    source: str
    codes: tuple[str, ...] = ()
    series: str | None = None
    below: float | None = None


_ICD = "http://hl7.org/fhir/sid/icd-10-cm"
_OTHER = (
    "astct2019: ICANS grading, footnote (grade = the most severe event not attributable to any "
    "other cause)"
)
# fmt: off
OTHER_CAUSES: tuple[OtherCause, ...] = (
    OtherCause("icans.other.infection", "infection", "infection", f"{_OTHER}; immunotox: the CRS infection reading (a recorded infection, sepsis or positive test in the CRS infection window)"),
    OtherCause("icans.other.hyponatraemia_coded", "hyponatraemia", "hyponatraemia", f"{_OTHER}; {_T2}, all grades (correct severe hyponatraemia); immunotox: ICD-10-CM E87.1 'Hypo-osmolality and hyponatremia' (not verified against the code table this release)",
               codes=(f"{_ICD}|E87.1",)),
    OtherCause("icans.other.sodium", "hyponatraemia", "hyponatraemia", f"{_OTHER}; {_T2}, all grades (correct severe hyponatraemia); immunotox: 'profound' hyponatraemia below 125 mmol/L as in the European clinical practice guideline on hyponatraemia (Spasovski 2014, recalled, not verified this release)",
               series="sodium", below=125),
    OtherCause("icans.other.hypoglycaemia_coded", "hypoglycaemia", "hypoglycaemia", f"{_OTHER}; immunotox: ICD-10-CM E16.0-E16.2 hypoglycaemia (codes recalled, not verified this release)",
               codes=(f"{_ICD}|E16.0", f"{_ICD}|E16.1", f"{_ICD}|E16.2")),
    OtherCause("icans.other.glucose", "hypoglycaemia", "hypoglycaemia", f"{_OTHER}; immunotox: glucose below 70 mg/dL, level 1 hypoglycaemia of the ADA Standards of Care (recalled, not verified this release)",
               series="glucose", below=70),
)
# fmt: on
OTHER_CAUSE_TEXT = "Consider another cause"


# A T-cell engager behind ICANS: hold it while ICANS is active (text, source).
ENGAGER_HOLD_ICANS = (
    "Withhold {drug} while ICANS is active; whether and when to resume or to stop for good is in "
    "its label's neurologic toxicity table",
    "immunotox: the boxed warnings of TECVAYLI, TALVEY and LYNOZYFIC name neurologic toxicity "
    "including ICANS (openFDA label records read); each label's per-grade rule was not read here",
)
