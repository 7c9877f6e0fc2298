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
    DrugConcept("nivolumab and relatlimab", "checkpoint_inhibitor", (), ("opdualag", "nivolumab and relatlimab", "relatlimab and nivolumab",
                "nivolumab-relatlimab", "nivolumab/relatlimab", "relatlimab-rmbw", "nivolumab and relatlimab-rmbw"), SRC_FDA, "PD-1/LAG-3",
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
    DrugConcept("afamitresgene autoleucel", "cellular_therapy", (), ("afamitresgene autoleucel", "afami-cel", "tecelra"), SRC_RXNORM_NAME),
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
    # --- Antipyretics: after CRS onset they lift the ASTCT fever requirement (footnote) --------
    DrugConcept("acetaminophen", "antipyretic", _rx("161"), ("acetaminophen", "paracetamol", "tylenol"), SRC_RXNORM),
    DrugConcept("ibuprofen", "antipyretic", _rx("5640"), ("ibuprofen", "advil", "motrin"), SRC_RXNORM),
    # --- Antiseizure drugs: read so that a seizure-prophylaxis line can say one was given ----
    DrugConcept("levetiracetam", "antiseizure", (), ("levetiracetam", "keppra", "spritam"), SRC_RXNORM_NAME),
    DrugConcept("brivaracetam", "antiseizure", (), ("brivaracetam", "briviact"), SRC_RXNORM_NAME),
    DrugConcept("lacosamide", "antiseizure", (), ("lacosamide", "vimpat"), SRC_RXNORM_NAME),
    DrugConcept("fosphenytoin", "antiseizure", (), ("fosphenytoin", "cerebyx"), SRC_RXNORM_NAME),
    DrugConcept("phenytoin", "antiseizure", (), ("phenytoin", "dilantin"), SRC_RXNORM_NAME),
    DrugConcept("valproate", "antiseizure", (), ("valproate", "valproic acid", "depacon", "depakote"), SRC_RXNORM_NAME),
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
    SeriesConcept("sodium", _ln("2951-2", "2947-0"), "mmol/L", "Sodium", SRC_LOINC),
    SeriesConcept("glucose", _ln("2345-7", "2339-0"), "mg/dL", "Glucose", SRC_LOINC, molar_mass=180.16),
    SeriesConcept("il6", _ln("26881-3"), "pg/mL", "Interleukin-6", SRC_LOINC),
    SeriesConcept("alt", _ln("1742-6"), "U/L", "ALT", SRC_LOINC),
    SeriesConcept("ast", _ln("1920-8"), "U/L", "AST", SRC_LOINC),
    SeriesConcept("bilirubin", _ln("1975-2"), "mg/dL", "Total bilirubin", SRC_LOINC, molar_mass=584.66),
    SeriesConcept("creatinine", _ln("2160-0"), "mg/dL", "Creatinine", SRC_LOINC, molar_mass=113.12),
    SeriesConcept("fibrinogen", _ln("3255-7"), "mg/dL", "Fibrinogen", SRC_LOINC),
    SeriesConcept("d_dimer", _ln("48065-7"), "ng/mL", "D-dimer (FEU)", SRC_LOINC),
    # Read for the IEC-HS screen (knowledge.icans): 2571-8 triglyceride, 777-3 platelets,
    # 751-8 neutrophils (automated count), 718-7 haemoglobin.
    SeriesConcept("triglycerides", _ln("2571-8"), "mg/dL", "Triglycerides", SRC_LOINC, molar_mass=885.7),
    SeriesConcept("platelets", _ln("777-3"), "10*9/L", "Platelets", SRC_LOINC),
    SeriesConcept("neutrophils", _ln("751-8"), "10*9/L", "Neutrophils", SRC_LOINC),
    SeriesConcept("hemoglobin", _ln("718-7"), "g/dL", "Haemoglobin", SRC_LOINC),
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
    # 243142003 Dual pressure spontaneous ventilation support (BiPAP): as mapped "BIPAP" in public
    # FHIR and NEMSIS code tables read here; not checked in a SNOMED CT browser.
    (f"{SNOMED}|243142003", O2Level.NONINVASIVE_PPV, "Dual pressure spontaneous ventilation support (BiPAP)"),
    (f"{SNOMED}|1258985005", O2Level.INVASIVE_VENTILATION, "Invasive mechanical ventilation"),
    (f"{SNOMED}|112798008", O2Level.INVASIVE_VENTILATION, "Insertion of endotracheal tube"),
    (f"{SNOMED}|232674004", O2Level.INVASIVE_VENTILATION, "Orotracheal intubation"),
    (f"{SNOMED}|408853006", O2Level.INVASIVE_VENTILATION, "Positive pressure ventilation via endotracheal tube"),
    (f"{SNOMED}|40617009", O2Level.INVASIVE_VENTILATION, "Artificial respiration"),
)
# Exact names (case, spacing and a trailing SNOMED CT semantic tag aside) that mean oxygen or
# ventilatory support when a Procedure, DeviceUseStatement or Device carries no code above.
# Never matched as a substring: "Non-invasive blood pressure" or "laryngeal mask airway" are
# not oxygen support. Observations count only by code.
O2_NAMES: tuple[tuple[str, O2Level], ...] = (
    ("room air", O2Level.ROOM_AIR),
    ("blow-by", O2Level.BLOW_BY), ("blow by", O2Level.BLOW_BY), ("blow-by oxygen", O2Level.BLOW_BY),
    ("blow by oxygen mask", O2Level.BLOW_BY),
    ("nasal cannula", O2Level.LOW_FLOW_CANNULA), ("oxygen nasal cannula", O2Level.LOW_FLOW_CANNULA),
    ("nasal prongs", O2Level.LOW_FLOW_CANNULA),
    ("low-flow nasal cannula", O2Level.LOW_FLOW_CANNULA), ("low flow nasal cannula", O2Level.LOW_FLOW_CANNULA),
    ("oxygen by nasal cannula", O2Level.LOW_FLOW_CANNULA),
    ("high-flow nasal cannula", O2Level.HIGH_FLOW_CANNULA), ("high flow nasal cannula", O2Level.HIGH_FLOW_CANNULA),
    ("hfnc", O2Level.HIGH_FLOW_CANNULA), ("high flow oxygen nasal cannula", O2Level.HIGH_FLOW_CANNULA),
    ("heated humidified high-flow nasal cannula", O2Level.HIGH_FLOW_CANNULA),
    ("face mask", O2Level.MASK), ("facemask", O2Level.MASK), ("simple face mask", O2Level.MASK),
    ("oxygen mask", O2Level.MASK), ("oxygen face mask", O2Level.MASK), ("oxygen by mask", O2Level.MASK),
    ("non-rebreather mask", O2Level.MASK), ("nonrebreather mask", O2Level.MASK),
    ("non-rebreather", O2Level.MASK), ("nonrebreather oxygen mask", O2Level.MASK),
    ("venturi mask", O2Level.MASK), ("venturi oxygen face mask", O2Level.MASK),
    ("cpap", O2Level.NONINVASIVE_PPV), ("bipap", O2Level.NONINVASIVE_PPV),
    ("continuous positive airway pressure", O2Level.NONINVASIVE_PPV),
    ("bilevel positive airway pressure", O2Level.NONINVASIVE_PPV),
    ("non-invasive ventilation", O2Level.NONINVASIVE_PPV), ("noninvasive ventilation", O2Level.NONINVASIVE_PPV),
    ("niv", O2Level.NONINVASIVE_PPV), ("nippv", O2Level.NONINVASIVE_PPV),
    ("non-invasive positive pressure ventilation", O2Level.NONINVASIVE_PPV),
    ("mechanical ventilation", O2Level.INVASIVE_VENTILATION),
    ("invasive mechanical ventilation", O2Level.INVASIVE_VENTILATION),
    ("mechanical ventilator", O2Level.INVASIVE_VENTILATION), ("ventilator", O2Level.INVASIVE_VENTILATION),
    ("endotracheal intubation", O2Level.INVASIVE_VENTILATION),
    ("orotracheal intubation", O2Level.INVASIVE_VENTILATION),
)
# A device Observation under a local code is read only when BOTH its code names an oxygen
# delivery device (exact name, code.text or display) AND its value is an exact device name above:
# "O2 Device: BiPAP". A name alone, or a value under any other Observation, is not read.
O2_DEVICE_OBSERVATION_NAMES: tuple[str, ...] = (
    "o2 device", "oxygen device", "o2 delivery device", "oxygen delivery device", "o2 delivery",
    "oxygen delivery", "oxygen delivery method", "o2 delivery method", "respiratory device",
)
O2_DEVICE_OBSERVATION_SOURCE = (
    "immunotox: flowsheet device rows (code.text 'O2 Device', display 'Oxygen delivery device') "
    "with an exact device name as their value; both must match"
)
# Numeric rows under local codes: read into a series only when BOTH the code's text or display
# is one of these exact names AND the value carries this UCUM unit code.
# fmt: off
LOCAL_SERIES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("o2_flow", ("o2 flow", "oxygen flow", "o2 flow rate", "oxygen flow rate", "o2 l/min", "inhaled oxygen flow rate"), ("L/min",)),
    ("weight", ("weight", "body weight", "admission weight", "patient weight", "weight (kg)"), ("kg",)),
    ("temperature", ("temp", "temperature", "body temperature", "temp (c)", "temperature (c)", "temp (f)", "temperature (f)"), ("Cel", "[degF]")),
)
# fmt: on
LOCAL_SERIES_SOURCE = (
    "immunotox: a local code is read by name only with the unit that proves what it measures "
    "(UCUM L/min for oxygen flow, kg for weight, Cel or [degF] for body temperature, as LOINC "
    "3151-8, 29463-7 and 8310-5 are recorded)"
)
O2_NAMES_SOURCE = (
    "immunotox: exact device and procedure names (SNOMED CT preferred terms of the codes above, "
    "and the ASTCT 2019 device names); a name inside a longer text is not matched"
)


def local_series(names: list[str], unit: str | None) -> SeriesConcept | None:
    """The series a locally coded numeric Observation is, when an exact name and its UCUM unit
    both match (LOCAL_SERIES); None otherwise."""
    keys = {_o2_name_key(n) for n in names if isinstance(n, str)}
    for name, labels, units in LOCAL_SERIES:
        if unit in units and keys & {_o2_name_key(x) for x in labels}:
            return next(c for c in SERIES if c.name == name)
    return None


def is_o2_device_observation(names: list[str]) -> bool:
    keys = {_o2_name_key(n) for n in names if isinstance(n, str)}
    return bool(keys & {_o2_name_key(x) for x in O2_DEVICE_OBSERVATION_NAMES})


@dataclass(frozen=True)
class ConditionConcept:
    kind: str  # irAE vocabulary (knowledge.irae) or "ici_adverse_effect"
    codes: tuple[str, ...]  # exact "system|code"; an irAE is never matched by a code family
    prefixes: tuple[str, ...]  # kept for older callers; irAE concepts leave it empty
    terms: tuple[str, ...]
    source: str
    # ICD-10-CM codes that carry a grade (D89.831 = CRS grade 1).
    graded_codes: tuple[tuple[str, int], ...] = ()
    # Words that, in the condition's text, name another cause: the text is then no irAE.
    exclude_terms: tuple[str, ...] = ()


def _icd(*codes: str) -> tuple[str, ...]:
    return tuple(f"{ICD10CM}|{c}" for c in codes)


def _sct(*codes: str) -> tuple[str, ...]:
    return tuple(f"{SNOMED}|{c}" for c in codes)


# Sources for the condition rows. ICD-10-CM codes were read against the CDC/NCHS tabular list
# (FY2026) and public value sets; SNOMED CT codes only where a public value set or code table
# showed them (docs/verification.md). A row says "not verified" where that check was not possible.
SRC_SCT_IPS = "SNOMED CT as listed in the HL7 IPS allergy-reaction value set (73442001, 23067006)"
# T45.AX5- Adverse effect of immune checkpoint inhibitors and immunostimulant drugs (A initial
# encounter, D subsequent, S sequela): new in ICD-10-CM FY2023 (1 October 2022).
ICI_MARKER = ("T45.AX5A", "T45.AX5D", "T45.AX5S", "T45.AX5")
SRC_ICD_MARKER = (
    "ICD-10-CM (CDC/NCHS) T45.AX5- adverse effect of immune checkpoint inhibitors and immunostimulant "
    "drugs, added in FY2023 (confirmed in public code tables, docs/verification.md)"
)

# Text that names an infection or another cause: a condition whose text holds one of these is
# never an irAE, whatever organ it names (Lee 2014 and ASCO 2021: rule out infection first).
INFECTION_TERMS: tuple[str, ...] = (
    "infectious",
    "infective",
    "infected",
    "infection",
    "bacterial",
    "viral",
    "virus",
    "septic",
    "sepsis",
    "fungal",
    "candida",
    "tuberculous",
    "tuberculosis",
    "difficile",
    "c. diff",
    "c.diff",
    "cdiff",
    "cdi ",
    "clostridium",
    "clostridioides",
    "salmonella",
    "shigella",
    "campylobacter",
    "norovirus",
    "rotavirus",
    "cmv",
    "cytomegalovirus",
    "herpes",
    "hsv",
    "varicella",
    "zoster",
    "covid",
    "sars-cov-2",
    "influenza",
    "pneumocystis",
    "pyelonephritis",
    "urinary tract infection",
    "abscess",
    "lyme",
    "hiv",
)

# fmt: off
CONDITIONS: tuple[ConditionConcept, ...] = (
    ConditionConcept("crs", (*_icd("D89.839", "D89.83"), f"{SNOMED}|710027002"), (), ("cytokine release syndrome",), SRC_ICD,
                     graded_codes=tuple((f"{ICD10CM}|D89.83{g}", g) for g in range(1, 6))),
    # --- Neurologic -------------------------------------------------------------------------
    ConditionConcept("transverse_myelitis", _icd("G37.3", "G04.89"), (), ("transverse myelitis", "myelitis"), SRC_ICD,
                     exclude_terms=("acute flaccid myelitis",)),
    ConditionConcept("guillain_barre", _icd("G61.0"), (), ("guillain-barre", "guillain barre", "guillain-barré", "guillain barré"),
                     SRC_ICD + "; HL7 ICSR GBS diagnosis value set (G61.0)"),
    ConditionConcept("myasthenia_gravis", _icd("G70.00", "G70.01", "G70.0"), (), ("myasthenia",), SRC_ICD + " (G70.0 for WHO ICD-10)"),
    ConditionConcept("encephalitis", _icd("G04.81", "G04.90", "G04.30", "G04.31", "G04.39"), (), ("encephalitis", "encephalopathy, autoimmune"),
                     SRC_ICD + "; G04.0x (post-infectious ADEM), G04.2 and A83-A89/B00.4/B02.0 are excluded as infection"),
    ConditionConcept("aseptic_meningitis", _icd("G03.0", "G03.9"), (), ("aseptic meningitis", "meningitis"),
                     SRC_ICD + "; G00.x, A39.0, A87.x, B00.3 excluded as infection"),
    # --- Skin -------------------------------------------------------------------------------
    ConditionConcept("sjs_ten", (*_icd("L51.1", "L51.2", "L51.3"), *_sct("73442001", "23067006")), (),
                     ("stevens-johnson", "stevens johnson", "toxic epidermal necrolysis", "sjs/ten", "sjs-ten"),
                     SRC_ICD + "; " + SRC_SCT_IPS),
    ConditionConcept("dress", _icd("D72.12"), (), ("drug reaction with eosinophilia", "dress syndrome", "drug-induced hypersensitivity syndrome"),
                     SRC_ICD + " (D72.12 drug rash with eosinophilia and systemic symptoms syndrome)"),
    ConditionConcept("bullous_dermatitis", _icd("L12.0", "L12.8", "L12.9"), (), ("bullous pemphigoid", "pemphigoid", "bullous dermatitis", "bullous dermatosis"),
                     SRC_ICD),
    ConditionConcept("rash", (*_icd("L27.0", "L27.1"), f"{SNOMED}|28926001", f"{SNOMED}|247471006"), (), ("maculopapular", "drug eruption", "rash", "dermatitis"),
                     SRC_ICD + "; SNOMED CT 28926001 drug rash, 247471006 maculopapular eruption (docs/verification.md section 6)", exclude_terms=("contact dermatitis", "seborrh", "atopic", "radiation dermatitis", "diaper")),
    # --- Musculoskeletal --------------------------------------------------------------------
    ConditionConcept("inflammatory_arthritis", (*_icd("M06.4", "M13.0"), f"{SNOMED}|3723001"), (), ("inflammatory arthritis", "polyarthritis", "arthritis"), SRC_ICD + "; " + SRC_SNOMED,
                     exclude_terms=("osteoarthritis", "septic arthritis", "gout", "pseudogout", "reactive arthritis", "rheumatoid arthritis", "psoriatic arthritis")),
    ConditionConcept("myositis", _icd("M60.9", "M60.80", "G72.0", "G72.49"), (), ("myositis", "inflammatory myopathy"),
                     SRC_ICD + "; M60.0x infective myositis excluded", exclude_terms=("inclusion body",)),
    # --- Gastrointestinal -------------------------------------------------------------------
    ConditionConcept("colitis", (*_icd("K52.1", "K52.89", "K52.9"), f"{SNOMED}|64226004"), (), ("colitis", "enterocolitis", "enteritis"),
                     SRC_ICD + "; SNOMED CT 64226004 colitis (docs/verification.md section 6)",
                     exclude_terms=("ulcerative colitis", "crohn", "ischemic colitis", "ischaemic colitis", "neutropenic", "microscopic colitis",
                                    "radiation", "long-standing", "longstanding")),
    ConditionConcept("hepatitis", (*_icd("K71.0", "K71.10", "K71.11", "K71.2", "K71.3", "K71.4", "K71.50", "K71.51", "K71.6", "K71.8", "K71.9", "K75.4", "K75.9"),
                                   f"{SNOMED}|128241005", f"{SNOMED}|37871000"), (),
                     ("hepatitis", "hepatotoxicity", "transaminitis"), SRC_ICD + "; B15-B19 (viral hepatitis) excluded as infection",
                     exclude_terms=("hepatitis a", "hepatitis b", "hepatitis c", "hepatitis d", "hepatitis e", "hbv", "hcv", "chronic hepatitis",
                                    "alcoholic", "ischemic hepatitis", "ischaemic hepatitis", "steatohepatitis", "nash")),
    ConditionConcept("pancreatitis", _icd("K85.30", "K85.31", "K85.32", "K85.80", "K85.81", "K85.82", "K85.90", "K85.91", "K85.92"), (),
                     ("pancreatitis",), SRC_ICD + "; K85.1x (biliary) and K85.2x (alcohol) excluded as another cause",
                     exclude_terms=("biliary", "gallstone", "alcohol", "chronic pancreatitis", "hypertriglyceridemi")),
    # --- Lung, heart, kidney ----------------------------------------------------------------
    ConditionConcept("pneumonitis", (*_icd("J70.0", "J70.1", "J70.2", "J70.3", "J70.4"), f"{SNOMED}|205237003"), (), ("pneumonitis",),
                     SRC_ICD + "; J12-J18 (pneumonia) excluded; J70.0/J70.1 (radiation) read as pneumonitis with radiation as a competing cause (COMPETING_CAUSES)",
                     exclude_terms=("aspiration", "hypersensitivity", "chemical", "pneumonia")),
    ConditionConcept("myocarditis", (*_icd("I40.1", "I40.8", "I40.9", "I51.4"), f"{SNOMED}|50920009"), (), ("myocarditis",),
                     SRC_ICD + "; I40.0 (infective myocarditis) and I41 (in diseases classified elsewhere) excluded",
                     exclude_terms=("rheumatic", "giant cell")),
    ConditionConcept("nephritis", _icd("N14.1", "N14.19"), (), ("interstitial nephritis", "immune nephritis", "immune-related nephritis", "nephritis"),
                     SRC_ICD + "; N10-N12 and N39.0 excluded as infection (N12 includes pyelonephritis NOS); "
                     "N14.11 contrast-induced nephropathy excluded (ICD-10-CM N14.11, docs/verification.md)",
                     exclude_terms=("lupus", "glomerulonephritis", "iga")),
    # --- Endocrine --------------------------------------------------------------------------
    ConditionConcept("hypophysitis", _icd("E23.6", "E23.1"), (), ("hypophysitis", "hypopituitarism"), SRC_ICD),
    ConditionConcept("adrenal_insufficiency", _icd("E27.1", "E27.2", "E27.40"), (), ("primary adrenal insufficiency", "adrenal insufficiency", "addison"),
                     SRC_ICD + "; E27.3 (drug-induced, mostly after steroid withdrawal) not matched",
                     exclude_terms=("secondary adrenal", "central adrenal", "steroid withdrawal", "tuberculous")),
    ConditionConcept("thyroiditis", _icd("E06.1", "E06.2", "E06.3", "E06.4", "E06.5", "E06.9"), (), ("thyroiditis",),
                     SRC_ICD + "; E06.0 (acute, infective) excluded", exclude_terms=("suppurative",)),
    ConditionConcept("hypothyroidism", _icd("E03.2", "E03.8", "E03.9"), (), ("hypothyroidism", "hypothyroid"), SRC_ICD,
                     exclude_terms=("congenital", "postprocedural", "post-surgical", "radioactive iodine")),
    ConditionConcept("hyperthyroidism", _icd("E05.90", "E05.91", "E05.80", "E05.81"), (), ("thyrotoxicosis", "hyperthyroidism", "hyperthyroid"), SRC_ICD,
                     exclude_terms=("graves",)),
    ConditionConcept("type1_diabetes", _icd("E10.9", "E10.65", "E10.10", "E10.11"), (),
                     ("type 1 diabetes", "insulin-dependent diabetes", "diabetic ketoacidosis", "autoimmune diabetes"), SRC_ICD,
                     graded_codes=((f"{ICD10CM}|E10.10", 3), (f"{ICD10CM}|E10.11", 4)), exclude_terms=("type 2",)),
    # --- Eye, blood -------------------------------------------------------------------------
    ConditionConcept("uveitis", _icd("H20.9", "H20.00", "H20.011", "H20.012", "H20.013", "H20.019", "H20.041", "H20.042", "H20.043", "H20.049",
                                     "H44.111", "H44.112", "H44.113", "H44.119"), (), ("uveitis", "iritis", "iridocyclitis", "panuveitis"),
                     SRC_ICD + "; H20.03x (secondary infectious iridocyclitis) excluded", exclude_terms=("toxoplasm",)),
    ConditionConcept("autoimmune_haemolytic_anaemia", _icd("D59.0", "D59.10", "D59.11", "D59.12", "D59.13", "D59.19"), (),
                     ("autoimmune hemolytic anemia", "autoimmune haemolytic anaemia", "hemolytic anemia", "haemolytic anaemia"), SRC_ICD),
    ConditionConcept("immune_thrombocytopenia", _icd("D69.3"), (), ("immune thrombocytopenia", "immune thrombocytopenic purpura", "itp"), SRC_ICD),
    # Not an irAE by itself: a conduction block or ventricular arrhythmia recorded beside a
    # myocarditis is its severity finding (knowledge.irae MYOCARDITIS_CONDUCTION).
    ConditionConcept("cardiac_conduction", _icd("I44.1", "I44.2", "I44.30", "I44.39", "I45.2", "I45.3", "I47.2", "I47.20", "I47.21", "I47.29",
                                                "I49.01", "I49.02"), (),
                     ("complete heart block", "heart block", "atrioventricular block", "av block", "ventricular tachycardia",
                      "ventricular fibrillation"),
                     SRC_ICD + "; I44.1 second-degree and I44.2 complete atrioventricular block, I44.3x other AV block, I45.2 bifascicular, "
                     "I45.3 trifascicular block, I47.2/I47.20-I47.29 ventricular tachycardia, I49.01 ventricular fibrillation, I49.02 "
                     "ventricular flutter (I44.2 as in the clinical review's record; the other titles not re-verified here)"),
    # Attribution marker: adverse effect of immune checkpoint inhibitors (T45.AX5A initial encounter).
    ConditionConcept("ici_adverse_effect", _icd(*ICI_MARKER), (), ("immune-related adverse event", "irae"), SRC_ICD_MARKER),
)
# fmt: on

# Organ codes that name an irAE only beside the T45.AX5- marker (on the same Condition, or on
# another one recorded within `knowledge.irae.MARKER_WINDOW_DAYS`), or with a text that says it is
# immune-related. K75.89 "Other specified inflammatory liver diseases" names no cause by itself;
# coded with T45.AX5A it is the immune hepatitis of ASCO 2021 Table 2.2.
MARKER_ONLY_CODES: dict[str, str] = {f"{ICD10CM}|K75.89": "hepatitis"}
# Codes that, alone, read as an infection (N12 includes "pyelonephritis NOS", N10 is acute
# pyelonephritis in current ICD-10-CM) but name the immune nephritis when the same Condition
# carries T45.AX5- or says it is immune-related, and no infection is named in its text.
NEPHRITIS_WITH_MARKER: tuple[str, ...] = _icd("N10", "N12")
NEPHRITIS_WITH_MARKER_SOURCE = (
    "ICD-10-CM: N12 Tubulo-interstitial nephritis, not specified as acute or chronic (includes "
    "interstitial nephritis NOS and pyelonephritis NOS), N10 acute pyelonephritis (formerly acute "
    "tubulo-interstitial nephritis), N14.1- drug-induced nephropathy with T36-T50 for the drug "
    "(titles read in public ICD-10-CM tables, icd10data.com and hccbuddy.com FY2026), "
    "asco2021: Table 6 nephritis (immune nephritis is mostly acute tubulo-interstitial)"
)
MARKER_ONLY_SOURCE = (
    "ICD-10-CM: K75.89 Other specified inflammatory liver diseases (title confirmed in public code "
    "tables, docs/verification.md); asco2021: Table 2.2 hepatitis"
)


@dataclass(frozen=True)
class CompetingCause:
    """Another cause a Condition names that cannot be told apart from the irAE on a checkpoint
    inhibitor: the irAE plan still applies, with the note."""

    kind: str
    codes: tuple[str, ...]
    terms: tuple[str, ...]
    note: str
    source: str


# fmt: off
COMPETING_CAUSES: tuple[CompetingCause, ...] = (
    CompetingCause("pneumonitis", _icd("J70.0", "J70.1"), ("radiation",),
                   "radiation is a competing cause (radiation pneumonitis); on a checkpoint inhibitor the two cannot be told apart, "
                   "so it is managed as pneumonitis",
                   "asco2021: Table 3.1 pneumonitis (managed by grade, whatever the trigger); imfinzi_label: 2.2 dosage modifications "
                   "(pneumonitis grade 2 withhold, grade 3-4 permanently discontinue) and 6.1 (PACIFIC: pneumonitis or radiation "
                   "pneumonitis reported together); ICD-10-CM J70.0 acute, J70.1 chronic pulmonary manifestations due to radiation"),
)


# A pre-existing autoimmune disease is no new irAE, but its flare on a checkpoint inhibitor is
# managed as the irAE of that organ by grade, with the specialist: said once, consistently.
PREEXISTING_AUTOIMMUNE = (
    "pre-existing autoimmune disease (rheumatoid or psoriatic arthritis): not a new irAE; a flare "
    "on a checkpoint inhibitor is managed as inflammatory arthritis by grade, with rheumatology",
    "asco2021: general recommendations (patients with pre-existing autoimmune disease may flare "
    "on ICPi) and Table 5.1 inflammatory arthritis (by grade, rheumatology), as quoted in the "
    "clinical review, not verified against the primary text",
)
PREEXISTING_AUTOIMMUNE_TERMS = ("rheumatoid arthritis", "psoriatic arthritis")


@dataclass(frozen=True)
class ExclusionConcept:
    """A condition that looks like an irAE but has another cause (above all infection)."""

    kind: str  # the irAE it mimics ("*" any)
    codes: tuple[str, ...]  # exact "system|code"
    prefixes: tuple[str, ...]  # code families: safe here, they only ever exclude more
    reason: str
    source: str


EXCLUSIONS: tuple[ExclusionConcept, ...] = (
    ExclusionConcept("nephritis", _icd("N10", "N11.0", "N11.1", "N11.8", "N11.9", "N12", "N39.0", "N15.1"), (f"{ICD10CM}|N11", f"{ICD10CM}|N13.6"),
                     "pyelonephritis or urinary tract infection: an infection, not an irAE", SRC_ICD),
    ExclusionConcept("colitis", (), (f"{ICD10CM}|A04.7", f"{ICD10CM}|A0"), "infectious enteritis or colitis (C. difficile and other infections, A00-A09): not an irAE",
                     SRC_ICD + " (A00-A09 intestinal infectious diseases; A04.71/A04.72 C. difficile enterocolitis)"),
    ExclusionConcept("colitis", _icd("K51.90", "K51.00", "K51.80", "K50.90", "K50.10", "K50.00", "K55.9", "K55.0"), (f"{ICD10CM}|K51", f"{ICD10CM}|K50"),
                     "ulcerative colitis, Crohn disease or ischaemic colitis: another cause", SRC_ICD),
    ExclusionConcept("myocarditis", _icd("I40.0", "I41", "B33.22", "I01.2", "I09.0"), (f"{ICD10CM}|I41",),
                     "infective, viral or rheumatic myocarditis: not an irAE", SRC_ICD),
    ExclusionConcept("hepatitis", (), (f"{ICD10CM}|B15", f"{ICD10CM}|B16", f"{ICD10CM}|B17", f"{ICD10CM}|B18", f"{ICD10CM}|B19", f"{ICD10CM}|K70"),
                     "viral or alcoholic hepatitis: not an irAE", SRC_ICD + " (B15-B19 viral hepatitis, K70 alcoholic liver disease)"),
    ExclusionConcept("pneumonitis", _icd("J69.0", "J67.9"), (f"{ICD10CM}|J12", f"{ICD10CM}|J13", f"{ICD10CM}|J14", f"{ICD10CM}|J15",
                     f"{ICD10CM}|J16", f"{ICD10CM}|J17", f"{ICD10CM}|J18", f"{ICD10CM}|B59", f"{ICD10CM}|U07.1"),
                     "pneumonia (J12-J18, Pneumocystis, COVID-19) or aspiration pneumonitis: another cause", SRC_ICD),
    ExclusionConcept("encephalitis", _icd("G04.00", "G04.01", "G04.02", "G04.2", "B00.4", "B02.0"), (f"{ICD10CM}|A83", f"{ICD10CM}|A84", f"{ICD10CM}|A85", f"{ICD10CM}|A86"),
                     "infective or post-infectious encephalitis: not an irAE", SRC_ICD),
    ExclusionConcept("aseptic_meningitis", _icd("A39.0", "B00.3", "B02.1"), (f"{ICD10CM}|G00", f"{ICD10CM}|A87", f"{ICD10CM}|G01", f"{ICD10CM}|G02"),
                     "bacterial or viral meningitis: an infection, not an irAE", SRC_ICD),
    ExclusionConcept("transverse_myelitis", _icd("G04.82"), (), "acute flaccid myelitis (usually enteroviral): not an irAE", SRC_ICD),
    ExclusionConcept("myositis", (), (f"{ICD10CM}|M60.0",), "infective myositis: not an irAE", SRC_ICD),
    ExclusionConcept("inflammatory_arthritis", _icd("M06.9", "M06.00", "M06.09"), (f"{ICD10CM}|M05", f"{ICD10CM}|L40.5"), PREEXISTING_AUTOIMMUNE[0],
                     SRC_ICD + " (M06.9 rheumatoid arthritis, unspecified, as in the clinical review's record; M05- with rheumatoid factor, "
                     "M06.0- without, L40.5- psoriatic arthropathy: titles not re-verified here); " + PREEXISTING_AUTOIMMUNE[1]),
    ExclusionConcept("inflammatory_arthritis", (), (f"{ICD10CM}|M00", f"{ICD10CM}|M01", f"{ICD10CM}|M02"),
                     "septic, infective or reactive arthritis: not an irAE", SRC_ICD),
    ExclusionConcept("thyroiditis", _icd("E06.0"), (), "acute (infective) thyroiditis: not an irAE", SRC_ICD),
    ExclusionConcept("uveitis", _icd("H20.031", "H20.032", "H20.033", "H20.039", "B58.01"), (f"{ICD10CM}|H44.0",),
                     "infectious iridocyclitis, endophthalmitis or toxoplasma chorioretinitis: not an irAE", SRC_ICD),
    ExclusionConcept("pancreatitis", (), (f"{ICD10CM}|K85.1", f"{ICD10CM}|K85.2"), "biliary or alcohol-induced pancreatitis: another cause", SRC_ICD),
    ExclusionConcept("*", (), (f"{ICD10CM}|A40", f"{ICD10CM}|A41", f"{ICD10CM}|R65.2"), "sepsis: an infection, not an irAE", SRC_ICD),
)
# fmt: on


@dataclass(frozen=True)
class ConditionMatch:
    """How a Condition was read: the irAE kind it names, by code or by text, and whether it is
    excluded (another cause named by its code or its text)."""

    kind: str
    concept: ConditionConcept | None
    code: str | None  # "system|code" that matched, None when by text
    grade: int | None
    text_matched: bool
    excluded: str | None = None  # reason
    exclusion_source: str | None = None
    ici_coded: str | None = None  # T45.AX5- on the same Condition, or a text saying immune-related
    needs_marker: bool = False  # an organ code that names the irAE only with that marker
    competing: str | None = None  # another cause that cannot be told apart (COMPETING_CAUSES)
    competing_source: str | None = None


@dataclass(frozen=True)
class InfectionTest:
    """A test that, when positive, names an infection explaining an organ finding."""

    label: str
    codes: tuple[str, ...]  # LOINC
    terms: tuple[str, ...]  # words in the Observation's name
    kinds: tuple[str, ...]  # irAE kinds it explains
    source: str


SRC_TEST = (
    "Attribution rule (ASCO 2021 work-up of each organ: rule out infection); LOINC codes not "
    "verified against the LOINC table in this release, test names matched as text"
)
# fmt: off
INFECTION_TESTS: tuple[InfectionTest, ...] = (
    InfectionTest("C. difficile test", (), ("difficile", "c. diff", "c.diff", "cdiff"), ("colitis",), SRC_TEST),
    InfectionTest("Stool pathogen test", _ln("625-4"), ("stool culture", "stool pathogen", "gastrointestinal pathogen", "gi pathogen", "enteric pathogen",
                  "campylobacter", "salmonella", "shigella", "norovirus", "rotavirus"), ("colitis",), SRC_TEST),
    InfectionTest("Urine culture", _ln("630-4"), ("urine culture",), ("nephritis",), SRC_TEST),
    InfectionTest("Blood culture", _ln("600-7"), ("blood culture",), ("nephritis", "pneumonitis", "myocarditis", "colitis", "hepatitis", "aseptic_meningitis",
                  "encephalitis"), SRC_TEST),
    InfectionTest("Hepatitis virus test", _ln("5196-1"), ("hepatitis b surface antigen", "hbsag", "hbv dna", "hepatitis b virus dna", "hcv rna",
                  "hepatitis c virus rna", "hepatitis a virus igm", "hepatitis e"), ("hepatitis",), SRC_TEST),
    InfectionTest("Respiratory pathogen test", (), ("sars-cov-2", "covid", "influenza", "respiratory syncytial", "legionella", "pneumococcal",
                  "pneumocystis", "respiratory pathogen", "sputum culture"), ("pneumonitis",), SRC_TEST),
    InfectionTest("CSF infection test", (), ("csf culture", "herpes simplex", "hsv pcr", "enterovirus", "meningitis/encephalitis panel"),
                  ("aseptic_meningitis", "encephalitis"), SRC_TEST),
)
# fmt: on


@cache
def _test_by_code() -> dict[str, InfectionTest]:
    return {c: t for t in INFECTION_TESTS for c in t.codes}


def match_infection_test(
    codings: list[tuple[str | None, str | None]], text: str
) -> InfectionTest | None:
    table = _test_by_code()
    for system, code in codings:
        hit = table.get(f"{system}|{code}")
        if hit:
            return hit
    low = (text or "").lower()
    if not low:
        return None
    for t in INFECTION_TESTS:
        if any(term in low for term in t.terms):
            return t
    return None


# SNOMED CT result values read as positive / negative (10828004 Positive, 260373001 Detected;
# 260385009 Negative, 260415000 Not detected) and HL7 interpretation codes.
POSITIVE_RESULT_CODES = frozenset({"10828004", "260373001", "POS", "DET", "A", "AA"})
NEGATIVE_RESULT_CODES = frozenset({"260385009", "260415000", "NEG", "ND", "N"})


@dataclass(frozen=True)
class AllergyClass:
    """A drug class named in allergy records, and the drugs of the plan it covers."""

    terms: tuple[str, ...]  # matched on word boundaries in the allergy's text
    drugs: tuple[str, ...]  # DrugConcept names
    source: str


# fmt: off
ALLERGY_CLASSES: tuple[AllergyClass, ...] = (
    AllergyClass(("sulfonamide", "sulfonamides", "sulfa", "sulpha", "sulphonamide", "sulphonamides"),
                 ("sulfamethoxazole and trimethoprim",),
                 "immunotox: sulfamethoxazole is a sulfonamide antibiotic, so a recorded sulfonamide ('sulfa') allergy covers trimethoprim-sulfamethoxazole"),
    # The PJP alternatives named when trimethoprim-sulfamethoxazole is ruled out (knowledge.courses).
    AllergyClass(("atovaquone", "mepron"), ("atovaquone",), "immunotox: the drug by its generic or US brand name"),
    AllergyClass(("dapsone",), ("dapsone",), "immunotox: the drug by its generic name"),
    AllergyClass(("pentamidine", "nebupent", "pentam"), ("pentamidine",), "immunotox: the drug by its generic or US brand name"),
)
# fmt: on


def allergy_class_drugs(text: str) -> tuple[str, ...]:
    """The drugs that an allergy to a class named in `text` covers."""
    low = (text or "").lower()
    out: list[str] = []
    for c in ALLERGY_CLASSES:
        if any(re.search(r"(?<![a-z])" + re.escape(t) + r"(?![a-z])", low) for t in c.terms):
            out.extend(c.drugs)
    return tuple(dict.fromkeys(out))


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


# The generic concept ("CAR-T", "chimeric antigen receptor") when no product is named.
GENERIC_CAR_T = "chimeric antigen receptor t cells"

# A T-cell therapy infusion is often charted as a Procedure ("CAR-T cell infusion (Yescarta)")
# rather than a MedicationAdministration: such a Procedure, completed or in progress, is read as
# the administration. Procedures of the pathway that are not the infusion are not exposures.
CELL_THERAPY_PROCEDURE_STATUS = frozenset({"completed", "in-progress"})
CELL_THERAPY_PROCEDURE_EXCLUDE = (
    "apheresis", "leukapheresis", "collection", "harvest", "lymphodeplet", "bridging",
    "consult", "evaluation", "referral", "education",
)  # fmt: skip


def match_drug(codings: list[tuple[str | None, str | None]], text: str) -> DrugConcept | None:
    """The drug a medication concept names: by code first, then by generic or brand name. A
    fixed combination is recognised however it is written (brand, "nivolumab and relatlimab",
    "relatlimab/nivolumab", two ingredient codes): every one of its components is named."""
    table = _drug_by_code()
    found: list[DrugConcept] = []
    for system, code in codings:
        if system and code:
            hit = table.get(f"{system}|{code}")
            if hit and hit not in found:
                found.append(hit)
    if text:
        pattern, by_term = _drug_term_regex()
        for m in pattern.finditer(text.lower()):
            hit = by_term[m.group(1)]
            if hit not in found:
                found.append(hit)
    if not found:
        return None
    if len(found) > 1 and any(d.name == GENERIC_CAR_T for d in found):
        # "CAR-T cell infusion (Yescarta)": the product named beside the generic words.
        found = [d for d in found if d.name != GENERIC_CAR_T] or found
    names = {d.name for d in found}
    for combo in _combinations():
        if combo in found or set(combo.components) <= names:
            return combo
    return found[0]


@cache
def _combinations() -> tuple[DrugConcept, ...]:
    return tuple(d for d in DRUGS if d.components)


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


@cache
def _o2_by_name() -> dict[str, tuple[O2Level, str]]:
    out = {name: (level, name) for name, level in O2_NAMES}
    for _code, level, label in O2_CODES:
        out.setdefault(_o2_name_key(label), (level, label))
    return out


_SEMANTIC_TAG = re.compile(r"\s*\((?:device|procedure|physical object|regime/therapy)\)\s*$")


def _o2_name_key(name: str) -> str:
    return _SEMANTIC_TAG.sub("", " ".join(name.lower().split())).strip(" .")


def match_o2(
    codings: list[tuple[str | None, str | None]], names: tuple[str, ...] | str = ()
) -> tuple[O2Level, str] | None:
    """Oxygen support by code, else by an exact name (never a substring of a longer text)."""
    table = _o2_by_code()
    for system, code in codings:
        hit = table.get(f"{system}|{code}")
        if hit:
            return hit
    by_name = _o2_by_name()
    for name in (names,) if isinstance(names, str) else names:
        if isinstance(name, str) and name.strip():
            hit = by_name.get(_o2_name_key(name))
            if hit:
                return hit[0], name.strip()
    return None


def _norm_key(system: str | None, code: str) -> str:
    if system == ICD10:  # WHO ICD-10 codes share the codes used here
        system = ICD10CM
    return f"{system}|{code.strip()}"


@cache
def _condition_by_code() -> dict[str, tuple[ConditionConcept, int | None]]:
    table: dict[str, tuple[ConditionConcept, int | None]] = {}
    for c in CONDITIONS:
        for code in c.codes:
            table.setdefault(code, (c, None))
        for code, grade in c.graded_codes:
            table[code] = (c, grade)
    return table


def _exclusion_for(key: str) -> ExclusionConcept | None:
    for e in EXCLUSIONS:
        if key in e.codes or any(key.startswith(p) for p in e.prefixes):
            return e
    return None


def _has_term(term: str, low: str) -> bool:
    return re.search(r"(?<![a-z])" + re.escape(term.strip()) + r"(?![a-z])", low) is not None


# Words that negate a finding within its clause ("C. difficile PCR negative", "no infection").
NEGATION_CUES = (
    "negative",
    "ruled out",
    "excluded",
    "no ",
    "not ",
    "without",
    "absent",
    "unlikely",
)
# ...unless the clause keeps it open ("infection not excluded", "possible infection").
OPEN_CUES = (
    "not excluded",
    "not ruled out",
    "possible",
    "suspected",
    "probable",
    "cannot be excluded",
)
_CLAUSE = re.compile(r";|\.\s+(?=[A-Z])|\n")


_PAREN = re.compile(r"\(([^)]*)\)([^,;()]*)")


def _segments(text: str) -> list[str]:
    """Clauses, each with its parentheses read apart: "hepatitis B (HBeAg negative) since 2009"
    gives "hepatitis B since 2009" and "HBeAg negative since 2009"; "serologies (HAV, HBV)
    negative" gives "serologies negative" and "HAV, HBV negative"."""
    out: list[str] = []
    for clause in _CLAUSE.split(text or ""):
        # A negation reaches only its own comma-separated part: "hepatitis B, HBeAg negative".
        out += re.sub(r"\([^)]*\)", " ", clause).split(",")
        out += [m.group(1) + " " + m.group(2) for m in _PAREN.finditer(clause)]
    return out


def mentions(term: str, text: str) -> bool:
    """Whether the text affirms the term: some clause names it without negating it."""
    for seg in _segments(text):
        low = " " + seg.lower() + " "
        if not _has_term(term, low):
            continue
        if any(c in low for c in OPEN_CUES) or not any(c in low for c in NEGATION_CUES):
            return True
    return False


# Words by which a record says a condition IS immune-related (it then overrides a legacy code
# title such as N10 "acute tubulo-interstitial nephritis", but never a named infection).
IMMUNE_TERMS = (
    "immune-related",
    "immune related",
    "immune-mediated",
    "immune mediated",
    "irae",
    "checkpoint inhibitor",
)


def classify_condition(
    codings: list[tuple[str | None, str | None]], text: str
) -> ConditionMatch | None:
    """Read a Condition: an exclusion code wins over everything; then an exact irAE code; the
    text only when no coding is recognised, and then any word naming an infection or another
    cause excludes it. Codes are matched exactly per system, never by substring."""
    low = (text or "").lower()
    keys = [_norm_key(s, c) for s, c in codings if s and isinstance(c, str) and c.strip()]
    table = _condition_by_code()
    marker_keys = {f"{ICD10CM}|{c}" for c in ICI_MARKER}
    marker = next((k for k in keys if k in marker_keys), None)
    # An organ code wins over the marker that sits beside it.
    coded = next(
        (table[k] + (k,) for k in keys if k in table and k not in marker_keys), None
    ) or next((table[k] + (k,) for k in keys if k in table), None)
    infection = next((t for t in INFECTION_TERMS if mentions(t, text)), None)
    immune_term = next((t for t in IMMUNE_TERMS if _has_term(t, low)), None)
    immune = immune_term is not None and infection is None
    ici_coded = (
        f"ICD-10-CM {marker.partition('|')[2]}"
        if marker
        else (f"the text ('{immune_term}')" if immune else None)
    )
    neph = next((k for k in keys if k in NEPHRITIS_WITH_MARKER), None)
    if (
        neph is not None
        and (marker or immune)
        and infection is None
        and (coded is None or coded[0].kind == "ici_adverse_effect")
    ):
        concept = next(c for c in CONDITIONS if c.kind == "nephritis")
        return ConditionMatch(concept.kind, concept, neph, None, False, ici_coded=ici_coded)
    for k in keys:
        ex = _exclusion_for(k)
        if ex is not None and not (immune and ex.kind != "*"):
            kind = ex.kind if ex.kind != "*" else (coded[0].kind if coded else _text_kind(low))
            if kind is None or kind == "ici_adverse_effect":
                # Sepsis with no organ named: kept as an infection, which the CRS and irAE
                # attribution read (an infection explains fever and organ dysfunction).
                kind = "infection" if ex.kind == "*" else None
            if kind is None:
                return None
            return ConditionMatch(kind, None, k, None, False, ex.reason, ex.source)
    if (coded is None or coded[0].kind == "ici_adverse_effect") and not infection:
        only = next((k for k in keys if k in MARKER_ONLY_CODES), None)
        if only is not None:
            concept = next(c for c in CONDITIONS if c.kind == MARKER_ONLY_CODES[only])
            return ConditionMatch(
                concept.kind,
                concept,
                only,
                None,
                False,
                ici_coded=ici_coded,
                needs_marker=ici_coded is None,
            )
    if coded is not None:
        concept, grade, key = coded
        if infection:
            return ConditionMatch(
                concept.kind,
                concept,
                key,
                grade,
                False,
                f"the text names an infection ('{infection.strip()}'): not an irAE",
                "immunotox: text exclusion terms (knowledge.codes)",
            )
        cc = _competing(concept.kind, keys, text)
        return ConditionMatch(
            concept.kind,
            concept,
            key,
            grade,
            False,
            ici_coded=ici_coded if concept.kind != "ici_adverse_effect" else None,
            competing=cc.note if cc else None,
            competing_source=cc.source if cc else None,
        )
    kind_concept = _text_concept(low)
    if kind_concept is None:
        return None
    for term in (*INFECTION_TERMS, *kind_concept.exclude_terms):
        if mentions(term, text):
            if term in PREEXISTING_AUTOIMMUNE_TERMS:
                return ConditionMatch(
                    kind_concept.kind,
                    kind_concept,
                    None,
                    None,
                    True,
                    PREEXISTING_AUTOIMMUNE[0],
                    PREEXISTING_AUTOIMMUNE[1],
                )
            return ConditionMatch(
                kind_concept.kind,
                kind_concept,
                None,
                None,
                True,
                f"the text names another cause ('{term.strip()}'): not an irAE",
                "immunotox: text exclusion terms (knowledge.codes)",
            )
    cc = _competing(kind_concept.kind, keys, text)
    return ConditionMatch(
        kind_concept.kind,
        kind_concept,
        None,
        None,
        True,
        ici_coded=ici_coded if kind_concept.kind != "ici_adverse_effect" else None,
        competing=cc.note if cc else None,
        competing_source=cc.source if cc else None,
    )


def _competing(kind: str, keys: list[str], text: str) -> CompetingCause | None:
    for cc in COMPETING_CAUSES:
        if cc.kind == kind and (
            any(k in cc.codes for k in keys) or any(mentions(t, text) for t in cc.terms)
        ):
            return cc
    return None


def _text_concept(low: str) -> ConditionConcept | None:
    if not low:
        return None
    for c in CONDITIONS:
        for term in c.terms:
            if _has_term(term, low):
                return c
    return None


def _text_kind(low: str) -> str | None:
    c = _text_concept(low)
    return c.kind if c else None


# --------------------------------------------------------------------------------------------
# Product strengths: milligrams per tablet of RxNorm clinical drugs (SCD), to convert a dose
# written as "1 tablet". Only codes confirmed in a public table are listed; other products are
# read from the Medication's ingredient strength or the strength in the product name
# ("Prednisone 20 MG Oral Tablet").
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductStrength:
    code: str  # "system|code"
    drug: str  # generic name (DRUGS)
    mg_per_unit: float
    form: str
    source: str


_OPENFDA_NDC = "openFDA NDC directory (single-strength product listing this RxCUI)"
# fmt: off
STRENGTHS: tuple[ProductStrength, ...] = (
    ProductStrength(f"{RXNORM}|312615", "prednisone", 20.0, "oral tablet",
                    f"RxNorm SCD predniSONE 20 MG Oral Tablet: {_OPENFDA_NDC} 72789-500 (20 mg/1, rxcui 312615); C-CDA and VA examples"),
    ProductStrength(f"{RXNORM}|198145", "prednisone", 10.0, "oral tablet",
                    f"RxNorm SCD predniSONE 10 MG Oral Tablet: {_OPENFDA_NDC} 66267-812 (10 mg/1, rxcui 198145)"),
    ProductStrength(f"{RXNORM}|312617", "prednisone", 5.0, "oral tablet",
                    "RxNorm SCD predniSONE 5 MG Oral Tablet: Synthea-style medication table; openFDA NDC 0054-9828 "
                    "(5 mg/1) lists 312617 beside 198145 and 312615. Single source for the name: verify"),
    ProductStrength(f"{RXNORM}|197582", "dexamethasone", 4.0, "oral tablet",
                    "RxNorm SCD dexAMETHasone 4 MG Oral Tablet: FHIR IG example and a public RxNorm code map (two sources)"),
)
# fmt: on


@cache
def _strength_by_code() -> dict[str, ProductStrength]:
    return {s.code: s for s in STRENGTHS}


def strength_for(codings: list[tuple[str | None, str | None]]) -> ProductStrength | None:
    """The per-tablet strength of a coded clinical drug, when the code is in `STRENGTHS`."""
    table = _strength_by_code()
    for system, code in codings:
        if system and code:
            hit = table.get(f"{system}|{code}")
            if hit:
                return hit
    return None


# "20 MG", "0.5 mg", "1 g" in a product name; not "20 mg/mL" (a concentration).
_STRENGTH_IN_TEXT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(mg|mcg|µg|ug|g)\b(?!\s*/)", re.I)
_SOLID_FORM = re.compile(r"\b(tablet|tab|capsule|cap|pill)s?\b", re.I)
_MG_PER = {"mg": 1.0, "mcg": 0.001, "µg": 0.001, "ug": 0.001, "g": 1000.0}


def strength_in_text(text: str) -> float | None:
    """Milligrams per unit from a solid-form product name with exactly one strength."""
    if not text or not _SOLID_FORM.search(text):
        return None
    found = {
        float(m.group(1)) * _MG_PER[m.group(2).lower()] for m in _STRENGTH_IN_TEXT.finditer(text)
    }
    return found.pop() if len(found) == 1 else None
