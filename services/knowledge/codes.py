"""Code sets: every code the product recognises, one row a concept, each row with its source.

EHRs send ingredient codes, product and brand codes, NDCs or only text, so every concept is a
set of codes plus text terms (generic and brand names), matched case-insensitively on word
boundaries. Rows whose code could not be confirmed in a public code table carry no code and
are matched by name only; `docs/verification.md` records what was checked and where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from services.model import O2Level

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
NDC = "http://hl7.org/fhir/sid/ndc"
UCUM = "http://unitsofmeasure.org"

# Citations used by the rows below.
SRC_RXNORM = "RxNorm ingredient concept (NLM RxNav; OHDSI vocabulary export); docs/verification.md"
SRC_RXNORM_NAME = (
    "Matched by generic and brand name only: no RxNorm code confirmed (docs/verification.md)"
)
SRC_LOINC = "LOINC (Regenstrief); FHIR R4 Vital Signs profile where applicable"
SRC_SNOMED = "SNOMED CT International (confirmed in public code tables; docs/verification.md)"
# SNOMED CT 710027002 (cytokine release syndrome) is reported inactive in editions after July
# 2025; it is kept for older data, and ICD-10-CM D89.83x and text carry newer records.
SRC_ICD = "ICD-10-CM (CDC/NCHS), FY2026 tabular list"
SRC_FDA = "FDA prescribing information (brand name)"


@dataclass(frozen=True)
class DrugConcept:
    name: str  # generic name, lower case
    drug_class: str
    codes: tuple[str, ...]  # "system|code"
    terms: tuple[str, ...]  # generic and brand names, lower case
    source: str
    target: str | None = None  # checkpoint target
    components: tuple[str, ...] = ()  # fixed combinations (Opdualag): each component's name
    extra: dict = field(default_factory=dict)


def _rx(*codes: str) -> tuple[str, ...]:
    return tuple(f"{RXNORM}|{c}" for c in codes)


# fmt: off
DRUGS: tuple[DrugConcept, ...] = (
    # --- Immune checkpoint inhibitors (brief §4; FDA labels) -----------------------------------
    DrugConcept("pembrolizumab", "checkpoint_inhibitor", _rx("1547545"), ("pembrolizumab", "keytruda"), SRC_RXNORM, "PD-1"),
    DrugConcept("nivolumab", "checkpoint_inhibitor", _rx("1597876"), ("nivolumab", "opdivo"), SRC_RXNORM, "PD-1"),
    DrugConcept("cemiplimab", "checkpoint_inhibitor", _rx("2058826"), ("cemiplimab", "libtayo"), SRC_RXNORM, "PD-1"),
    DrugConcept("dostarlimab", "checkpoint_inhibitor", (), ("dostarlimab", "jemperli"), SRC_RXNORM_NAME, "PD-1"),
    DrugConcept("retifanlimab", "checkpoint_inhibitor", (), ("retifanlimab", "zynyz"), SRC_RXNORM_NAME, "PD-1"),
    DrugConcept("toripalimab", "checkpoint_inhibitor", (), ("toripalimab", "loqtorzi"), SRC_RXNORM_NAME, "PD-1"),
    DrugConcept("tislelizumab", "checkpoint_inhibitor", (), ("tislelizumab", "tevimbra"), SRC_RXNORM_NAME, "PD-1"),
    DrugConcept("penpulimab", "checkpoint_inhibitor", (), ("penpulimab",), SRC_RXNORM_NAME, "PD-1"),
    DrugConcept("atezolizumab", "checkpoint_inhibitor", _rx("1792776"), ("atezolizumab", "tecentriq"), SRC_RXNORM, "PD-L1"),
    DrugConcept("durvalumab", "checkpoint_inhibitor", _rx("1919503"), ("durvalumab", "imfinzi"), SRC_RXNORM, "PD-L1"),
    DrugConcept("avelumab", "checkpoint_inhibitor", (), ("avelumab", "bavencio"), SRC_RXNORM_NAME, "PD-L1"),
    DrugConcept("cosibelimab", "checkpoint_inhibitor", (), ("cosibelimab", "unloxcyt"), SRC_RXNORM_NAME, "PD-L1"),
    DrugConcept("ipilimumab", "checkpoint_inhibitor", _rx("1094833"), ("ipilimumab", "yervoy"), SRC_RXNORM, "CTLA-4"),
    DrugConcept("tremelimumab", "checkpoint_inhibitor", (), ("tremelimumab", "imjudo"), SRC_RXNORM_NAME, "CTLA-4"),
    DrugConcept("relatlimab", "checkpoint_inhibitor", (), ("relatlimab",), SRC_RXNORM_NAME, "LAG-3"),
    # Fixed combination: nivolumab and relatlimab (Opdualag); both components are recorded.
    DrugConcept("nivolumab and relatlimab", "checkpoint_inhibitor", (), ("opdualag",), SRC_FDA, "PD-1/LAG-3",
                components=("nivolumab", "relatlimab")),
    # --- Cellular therapies (CAR T) and T-cell engagers: they cause CRS (Lee 2014; ASTCT 2019) -
    DrugConcept("axicabtagene ciloleucel", "cellular_therapy", (), ("axicabtagene ciloleucel", "axi-cel", "yescarta"), SRC_RXNORM_NAME),
    DrugConcept("tisagenlecleucel", "cellular_therapy", (), ("tisagenlecleucel", "tisa-cel", "kymriah"), SRC_RXNORM_NAME),
    DrugConcept("brexucabtagene autoleucel", "cellular_therapy", (), ("brexucabtagene autoleucel", "brexu-cel", "tecartus"), SRC_RXNORM_NAME),
    DrugConcept("lisocabtagene maraleucel", "cellular_therapy", (), ("lisocabtagene maraleucel", "liso-cel", "breyanzi"), SRC_RXNORM_NAME),
    DrugConcept("idecabtagene vicleucel", "cellular_therapy", (), ("idecabtagene vicleucel", "ide-cel", "abecma"), SRC_RXNORM_NAME),
    DrugConcept("ciltacabtagene autoleucel", "cellular_therapy", (), ("ciltacabtagene autoleucel", "cilta-cel", "carvykti"), SRC_RXNORM_NAME),
    DrugConcept("obecabtagene autoleucel", "cellular_therapy", (), ("obecabtagene autoleucel", "obe-cel", "aucatzyl"), SRC_RXNORM_NAME),
    DrugConcept("chimeric antigen receptor t cells", "cellular_therapy", (), ("car t", "car-t", "chimeric antigen receptor"), SRC_RXNORM_NAME),
    DrugConcept("cytotoxic t lymphocytes", "cellular_therapy", (), ("cytotoxic t lymphocytes", "cytotoxic t cells", "virus-specific t cells"), SRC_RXNORM_NAME),
    DrugConcept("blinatumomab", "bispecific", (), ("blinatumomab", "blincyto"), SRC_RXNORM_NAME),
    DrugConcept("teclistamab", "bispecific", (), ("teclistamab", "tecvayli"), SRC_RXNORM_NAME),
    DrugConcept("elranatamab", "bispecific", (), ("elranatamab", "elrexfio"), SRC_RXNORM_NAME),
    DrugConcept("talquetamab", "bispecific", (), ("talquetamab", "talvey"), SRC_RXNORM_NAME),
    DrugConcept("linvoseltamab", "bispecific", (), ("linvoseltamab", "lynozyfic"), SRC_RXNORM_NAME),
    DrugConcept("epcoritamab", "bispecific", (), ("epcoritamab", "epkinly"), SRC_RXNORM_NAME),
    DrugConcept("glofitamab", "bispecific", (), ("glofitamab", "columvi"), SRC_RXNORM_NAME),
    DrugConcept("mosunetuzumab", "bispecific", (), ("mosunetuzumab", "lunsumio"), SRC_RXNORM_NAME),
    DrugConcept("tarlatamab", "bispecific", (), ("tarlatamab", "imdelltra"), SRC_RXNORM_NAME),
    DrugConcept("tebentafusp", "bispecific", (), ("tebentafusp", "kimmtrak"), SRC_RXNORM_NAME),
    # --- Anti-cytokine and immunosuppressive treatment -----------------------------------------
    DrugConcept("tocilizumab", "anti_cytokine", _rx("612865"), ("tocilizumab", "actemra", "tofidence", "tyenne"), SRC_RXNORM),
    DrugConcept("siltuximab", "anti_cytokine", (), ("siltuximab", "sylvant"), SRC_RXNORM_NAME),
    DrugConcept("anakinra", "anti_cytokine", _rx("72435"), ("anakinra", "kineret"), SRC_RXNORM),
    DrugConcept("infliximab", "immunosuppressant", _rx("191831"), ("infliximab", "remicade", "inflectra", "renflexis", "avsola"), SRC_RXNORM),
    DrugConcept("etanercept", "immunosuppressant", (), ("etanercept", "enbrel"), SRC_RXNORM_NAME),
    DrugConcept("immune globulin", "immunoglobulin", (), ("immune globulin", "immunoglobulin", "ivig",
                "gammagard", "privigen", "octagam", "gamunex", "flebogamma", "panzyga", "bivigam", "gammaplex", "asceniv"), SRC_RXNORM_NAME),
    # Corticosteroids: `extra["pred_eq"]` is mg of prednisone equivalent to 1 mg of the drug
    # (Liu D et al., Allergy Asthma Clin Immunol 2013;9:30, Table 1: 5 mg prednisone = 4 mg
    # methylprednisolone = 0.75 mg dexamethasone = 20 mg hydrocortisone = 5 mg prednisolone).
    DrugConcept("methylprednisolone", "corticosteroid", _rx("6902"), ("methylprednisolone", "solu-medrol", "medrol", "depo-medrol"), SRC_RXNORM, extra={"pred_eq": 1.25}),
    DrugConcept("prednisone", "corticosteroid", _rx("8640"), ("prednisone", "deltasone", "rayos"), SRC_RXNORM, extra={"pred_eq": 1.0}),
    DrugConcept("prednisolone", "corticosteroid", (), ("prednisolone", "orapred", "millipred"), SRC_RXNORM_NAME, extra={"pred_eq": 1.0}),
    DrugConcept("dexamethasone", "corticosteroid", _rx("3264"), ("dexamethasone", "decadron", "hemady"), SRC_RXNORM, extra={"pred_eq": 5 / 0.75}),
    DrugConcept("hydrocortisone", "corticosteroid", _rx("5492"), ("hydrocortisone", "solu-cortef", "cortef"), SRC_RXNORM, extra={"pred_eq": 0.25}),
    # --- Vasopressors (Lee 2014 Table 3). extra["unit"]: the domain's canonical rate unit ------
    DrugConcept("norepinephrine", "vasopressor", _rx("7512"), ("norepinephrine", "noradrenaline", "levophed"), SRC_RXNORM, extra={"unit": "ug/min"}),
    DrugConcept("epinephrine", "vasopressor", _rx("3992"), ("epinephrine", "adrenaline"), SRC_RXNORM, extra={"unit": "ug/min"}),
    DrugConcept("dopamine", "vasopressor", _rx("3628"), ("dopamine", "intropin"), SRC_RXNORM, extra={"unit": "ug/kg/min"}),
    DrugConcept("phenylephrine", "vasopressor", _rx("8163"), ("phenylephrine", "neo-synephrine", "vazculep", "biorphen"), SRC_RXNORM, extra={"unit": "ug/min"}),
    DrugConcept("vasopressin", "vasopressor", _rx("11149"), ("vasopressin", "vasostrict", "pitressin"), SRC_RXNORM, extra={"unit": "[iU]/min"}),
    # --- Supportive -------------------------------------------------------------------------
    DrugConcept("sulfamethoxazole and trimethoprim", "pjp_prophylaxis", (), ("sulfamethoxazole", "trimethoprim", "bactrim", "septra", "co-trimoxazole", "tmp-smx"), SRC_RXNORM_NAME),
)
# fmt: on


@dataclass(frozen=True)
class SeriesConcept:
    """A vital sign or lab: the LOINC codes that feed it and its canonical UCUM unit."""

    name: str
    codes: tuple[str, ...]
    unit: str
    label: str
    source: str
    # g/mol for labs reported in molar units (umol/L); used only to convert to the mass unit.
    molar_mass: float | None = None


def _ln(*codes: str) -> tuple[str, ...]:
    return tuple(f"{LOINC}|{c}" for c in codes)


# fmt: off
SERIES: tuple[SeriesConcept, ...] = (
    # 8310-5 body temperature; 8331-1 oral, 8328-7 axillary, 8333-7 tympanic, 8332-9 rectal (LOINC).
    SeriesConcept("temperature", _ln("8310-5", "8331-1", "8328-7", "8333-7", "8332-9"), "Cel", "Temperature", SRC_LOINC),
    SeriesConcept("heart_rate", _ln("8867-4"), "/min", "Heart rate", SRC_LOINC),
    SeriesConcept("resp_rate", _ln("9279-1"), "/min", "Respiratory rate", SRC_LOINC),
    SeriesConcept("sbp", _ln("8480-6"), "mm[Hg]", "Systolic blood pressure", SRC_LOINC),
    SeriesConcept("dbp", _ln("8462-4"), "mm[Hg]", "Diastolic blood pressure", SRC_LOINC),
    SeriesConcept("map", _ln("8478-0"), "mm[Hg]", "Mean arterial pressure", SRC_LOINC),
    SeriesConcept("spo2", _ln("59408-5", "2708-6"), "%", "Oxygen saturation", SRC_LOINC),
    SeriesConcept("o2_flow", _ln("3151-8"), "L/min", "Inhaled oxygen flow rate", SRC_LOINC),
    SeriesConcept("fio2", _ln("3150-0"), "%", "Inhaled oxygen concentration (FiO2)", SRC_LOINC),
    # 29463-7 body weight (vital signs profile); 3141-9 body weight measured.
    SeriesConcept("weight", _ln("29463-7", "3141-9"), "kg", "Body weight", SRC_LOINC),
    SeriesConcept("height", _ln("8302-2"), "cm", "Body height", SRC_LOINC),
    SeriesConcept("crp", _ln("1988-5"), "mg/L", "C-reactive protein", SRC_LOINC),
    SeriesConcept("ferritin", _ln("2276-4"), "ng/mL", "Ferritin", SRC_LOINC),
    SeriesConcept("il6", _ln("26881-3"), "pg/mL", "Interleukin-6", SRC_LOINC),
    SeriesConcept("alt", _ln("1742-6"), "U/L", "ALT", SRC_LOINC),
    SeriesConcept("ast", _ln("1920-8"), "U/L", "AST", SRC_LOINC),
    SeriesConcept("bilirubin", _ln("1975-2"), "mg/dL", "Total bilirubin", SRC_LOINC, molar_mass=584.66),
    SeriesConcept("creatinine", _ln("2160-0"), "mg/dL", "Creatinine", SRC_LOINC, molar_mass=113.12),
    SeriesConcept("fibrinogen", _ln("3255-7"), "mg/dL", "Fibrinogen", SRC_LOINC),
    SeriesConcept("d_dimer", _ln("48065-7"), "ng/mL", "D-dimer (FEU)", SRC_LOINC),
)
# fmt: on

BP_PANEL = f"{LOINC}|85354-9"  # components 8480-6 and 8462-4

# Oxygen delivery: SNOMED CT procedure and device codes → support level (brief §4, confirmed).
# fmt: off
O2_CODES: tuple[tuple[str, O2Level, str], ...] = (
    (f"{SNOMED}|371907003", O2Level.LOW_FLOW_CANNULA, "Oxygen by nasal cannula"),
    (f"{SNOMED}|371908008", O2Level.MASK, "Oxygen by mask"),
    (f"{SNOMED}|428285009", O2Level.MASK, "Venturi mask (device)"),
    (f"{SNOMED}|427591007", O2Level.MASK, "Non-rebreather mask (device)"),
    (f"{SNOMED}|425478008", O2Level.BLOW_BY, "Blow-by oxygen mask (device)"),
    (f"{SNOMED}|870533002", O2Level.HIGH_FLOW_CANNULA, "Heated humidified high-flow oxygen therapy"),
    (f"{SNOMED}|1259025002", O2Level.HIGH_FLOW_CANNULA, "High-flow nasal cannula oxygen therapy"),
    (f"{SNOMED}|426854004", O2Level.HIGH_FLOW_CANNULA, "High flow oxygen nasal cannula (device)"),
    (f"{SNOMED}|428311008", O2Level.NONINVASIVE_PPV, "Non-invasive ventilation"),
    (f"{SNOMED}|447837008", O2Level.NONINVASIVE_PPV, "Non-invasive positive pressure ventilation"),
    (f"{SNOMED}|47545007", O2Level.NONINVASIVE_PPV, "Continuous positive airway pressure"),
    (f"{SNOMED}|1258985005", O2Level.INVASIVE_VENTILATION, "Invasive mechanical ventilation"),
    (f"{SNOMED}|112798008", O2Level.INVASIVE_VENTILATION, "Insertion of endotracheal tube"),
    (f"{SNOMED}|232674004", O2Level.INVASIVE_VENTILATION, "Orotracheal intubation"),
    (f"{SNOMED}|408853006", O2Level.INVASIVE_VENTILATION, "Positive pressure ventilation via endotracheal tube"),
    (f"{SNOMED}|40617009", O2Level.INVASIVE_VENTILATION, "Artificial respiration"),
)
# Text fallbacks for device names, checked most-support first.
O2_TERMS: tuple[tuple[str, O2Level], ...] = (
    ("mechanical ventilation", O2Level.INVASIVE_VENTILATION), ("intubat", O2Level.INVASIVE_VENTILATION),
    ("endotracheal", O2Level.INVASIVE_VENTILATION), ("ventilator", O2Level.INVASIVE_VENTILATION),
    ("bipap", O2Level.NONINVASIVE_PPV), ("cpap", O2Level.NONINVASIVE_PPV), ("non-invasive", O2Level.NONINVASIVE_PPV),
    ("noninvasive", O2Level.NONINVASIVE_PPV), ("nippv", O2Level.NONINVASIVE_PPV),
    ("non-rebreather", O2Level.MASK), ("nonrebreather", O2Level.MASK), ("venturi", O2Level.MASK), ("face mask", O2Level.MASK),
    ("facemask", O2Level.MASK), ("mask", O2Level.MASK),
    ("high-flow", O2Level.HIGH_FLOW_CANNULA), ("high flow", O2Level.HIGH_FLOW_CANNULA), ("hfnc", O2Level.HIGH_FLOW_CANNULA),
    ("nasal cannula", O2Level.LOW_FLOW_CANNULA), ("blow-by", O2Level.BLOW_BY), ("blow by", O2Level.BLOW_BY),
    ("room air", O2Level.ROOM_AIR),
)
# fmt: on


@dataclass(frozen=True)
class ConditionConcept:
    kind: str  # irAE vocabulary (knowledge.irae) or "ici_adverse_effect"
    codes: tuple[str, ...]  # exact "system|code"
    prefixes: tuple[str, ...]  # ICD-10-CM code families "system|K71"
    terms: tuple[str, ...]
    source: str
    # ICD-10-CM codes that carry a grade (D89.831 = CRS grade 1).
    graded_codes: tuple[tuple[str, int], ...] = ()


def _icd(*codes: str) -> tuple[str, ...]:
    return tuple(f"{ICD10CM}|{c}" for c in codes)


# fmt: off
CONDITIONS: tuple[ConditionConcept, ...] = (
    ConditionConcept("crs", (*_icd("D89.839", "D89.83"), f"{SNOMED}|710027002"), (), ("cytokine release syndrome",), SRC_ICD,
                     graded_codes=tuple((f"{ICD10CM}|D89.83{g}", g) for g in range(1, 6))),
    ConditionConcept("transverse_myelitis", _icd("G37.3", "G04.89"), (), ("transverse myelitis", "myelitis"), SRC_ICD),
    ConditionConcept("rash", (*_icd("L27.0", "L27.1"), f"{SNOMED}|28926001", f"{SNOMED}|247471006"), (), ("maculopapular", "drug eruption", "rash", "dermatitis"), SRC_ICD),
    ConditionConcept("inflammatory_arthritis", (*_icd("M06.4"), f"{SNOMED}|3723001"), (), ("inflammatory arthritis", "polyarthritis", "arthritis"), SRC_ICD + "; " + SRC_SNOMED),
    ConditionConcept("colitis", (*_icd("K52.1"), f"{SNOMED}|64226004"), (), ("colitis", "enterocolitis"), SRC_ICD),
    ConditionConcept("hepatitis", (f"{SNOMED}|128241005", f"{SNOMED}|37871000"), (f"{ICD10CM}|K71",), ("hepatitis", "hepatotoxicity", "transaminitis"), SRC_ICD),
    ConditionConcept("pneumonitis", (*_icd("J70.2", "J70.3", "J70.4"), f"{SNOMED}|205237003"), (), ("pneumonitis",), SRC_ICD),
    ConditionConcept("myocarditis", (f"{SNOMED}|50920009",), (f"{ICD10CM}|I40", f"{ICD10CM}|I51.4"), ("myocarditis",), SRC_ICD),
    ConditionConcept("hypophysitis", _icd("E23.6"), (), ("hypophysitis",), SRC_ICD),
    ConditionConcept("thyroiditis", (), (f"{ICD10CM}|E06",), ("thyroiditis",), SRC_ICD),
    ConditionConcept("nephritis", _icd("N14.1", "N14.19", "N10"), (), ("nephritis",), SRC_ICD),
    ConditionConcept("myasthenia_gravis", (), (f"{ICD10CM}|G70.0",), ("myasthenia",), SRC_ICD),
    ConditionConcept("guillain_barre", _icd("G61.0"), (), ("guillain-barre", "guillain barre", "guillain-barré"), SRC_ICD),
    ConditionConcept("encephalitis", (), (f"{ICD10CM}|G04.8", f"{ICD10CM}|G04.9"), ("encephalitis",), SRC_ICD),
    # Attribution marker: adverse effect of immune checkpoint inhibitors (T45.AX5A initial encounter).
    ConditionConcept("ici_adverse_effect", (), (f"{ICD10CM}|T45.AX5",), ("immune-related adverse event", "irae"), SRC_ICD),
)
# fmt: on

# SNOMED CT severity qualifiers sometimes used on Condition.severity → a grade. Only used when no
# explicit grade is recorded; the finding says the grade came from a severity word.
SEVERITY_GRADE: dict[str, int] = {
    f"{SNOMED}|255604002": 1,  # Mild
    f"{SNOMED}|6736007": 2,  # Moderate
    f"{SNOMED}|24484000": 3,  # Severe
}


# --------------------------------------------------------------------------------------------
# Look-ups (built once, lazily; nothing at import time beyond the literals above)
# --------------------------------------------------------------------------------------------


@cache
def _drug_by_code() -> dict[str, DrugConcept]:
    return {code: d for d in DRUGS for code in d.codes}


@cache
def _drug_term_regex() -> tuple[re.Pattern[str], dict[str, DrugConcept]]:
    # Longest terms first so "nivolumab and relatlimab" / brand combos win over components.
    by_term: dict[str, DrugConcept] = {}
    for d in DRUGS:
        for t in d.terms:
            by_term.setdefault(t, d)
    terms = sorted(by_term, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![a-z0-9])(" + "|".join(re.escape(t) for t in terms) + r")(?![a-z0-9])"
    )
    return pattern, by_term


@cache
def _drug_by_name() -> dict[str, DrugConcept]:
    return {d.name: d for d in DRUGS}


def drug_by_name(name: str) -> DrugConcept | None:
    return _drug_by_name().get(name)


def match_drug(codings: list[tuple[str | None, str | None]], text: str) -> DrugConcept | None:
    """The drug a medication concept names: by code first, then by generic or brand name."""
    table = _drug_by_code()
    for system, code in codings:
        if system and code:
            hit = table.get(f"{system}|{code}")
            if hit:
                return hit
    if text:
        pattern, by_term = _drug_term_regex()
        m = pattern.search(text.lower())
        if m:
            return by_term[m.group(1)]
    return None


@cache
def _series_by_code() -> dict[str, SeriesConcept]:
    return {code: s for s in SERIES for code in s.codes}


def series_for_code(system: str | None, code: str | None) -> SeriesConcept | None:
    if not system or not code:
        return None
    return _series_by_code().get(f"{system}|{code}")


@cache
def observation_index() -> dict[tuple[str, str], SeriesConcept | None]:
    """(system, code) → series; the blood-pressure panel maps to None (read by components)."""
    index: dict[tuple[str, str], SeriesConcept | None] = {}
    for s in SERIES:
        for c in s.codes:
            system, _, code = c.partition("|")
            index[(system, code)] = s
    system, _, code = BP_PANEL.partition("|")
    index[(system, code)] = None
    return index


@cache
def series_by_name(name: str) -> SeriesConcept:
    for s in SERIES:
        if s.name == name:
            return s
    raise KeyError(name)


@cache
def _o2_by_code() -> dict[str, tuple[O2Level, str]]:
    return {code: (level, label) for code, level, label in O2_CODES}


def match_o2(codings: list[tuple[str | None, str | None]], text: str) -> tuple[O2Level, str] | None:
    table = _o2_by_code()
    for system, code in codings:
        hit = table.get(f"{system}|{code}")
        if hit:
            return hit
    low = (text or "").lower()
    for term, level in O2_TERMS:
        if term in low:
            return level, text
    return None


def match_condition(
    codings: list[tuple[str | None, str | None]], text: str
) -> tuple[ConditionConcept, str | None, int | None] | None:
    """(concept, matched 'system|code' or None when by text, grade carried by the code)."""
    for system, code in codings:
        if not system or not code:
            continue
        if system == ICD10:  # WHO ICD-10 codes share the families used here
            system = ICD10CM
        key = f"{system}|{code}"
        for c in CONDITIONS:
            for gcode, grade in c.graded_codes:
                if key == gcode:
                    return c, key, grade
            if key in c.codes or any(key.startswith(p) for p in c.prefixes):
                return c, key, None
    low = (text or "").lower()
    if low:
        for c in CONDITIONS:
            for term in c.terms:
                if re.search(r"(?<![a-z])" + re.escape(term) + r"(?![a-z])", low):
                    return c, None, None
    return None
