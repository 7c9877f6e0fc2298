"""Typed domain inputs and outputs.

Inputs (`PatientData`) are built from FHIR by `services.fhir_adapter`; outputs (`Assessment`)
are built by `services.assess` and rendered by the web layers. Everything here is plain data:
no FHIR parsing, no clinical thresholds (those live in `services.knowledge`).

Units inside the domain are fixed and named in the field names: temperatures in °C, pressures in
mm[Hg], oxygen flow in L/min, FiO2 as a percentage, weights in kg, vasopressor rates in ug/min or
ug/kg/min (dopamine), lab values in the unit the knowledge table names for that lab.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum
from typing import Any

# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    """One measured value at one time, normalised to the series' canonical unit."""

    time: datetime
    value: float
    ref: str  # "Observation/123"; never a patient identifier
    # Reference range bounds in the same unit, when the source sent them.
    low: float | None = None
    high: float | None = None


class O2Level(IntEnum):
    """Oxygen support, ordered from least to most. Mapping from codes: knowledge.codes."""

    ROOM_AIR = 0
    BLOW_BY = 1
    LOW_FLOW_CANNULA = 2
    HIGH_FLOW_CANNULA = 3
    MASK = 4  # simple face mask, Venturi, non-rebreather
    NONINVASIVE_PPV = 5  # CPAP, BiPAP, NIPPV
    INVASIVE_VENTILATION = 6


@dataclass(frozen=True, slots=True)
class O2Episode:
    """A period on one kind of oxygen support (a Procedure or DeviceUseStatement)."""

    level: O2Level
    start: datetime
    end: datetime | None  # None: still running
    ref: str
    label: str


@dataclass(frozen=True, slots=True)
class Infusion:
    """A vasopressor infusion at one rate (a MedicationAdministration with rateQuantity).

    `rate` is in the drug's canonical unit (knowledge.codes.VASOPRESSORS): ug/min for most,
    ug/kg/min for dopamine, U/min for vasopressin. `rate` is None when the source gave no rate
    or a rate that could not be converted (for example ug/kg/min with no weight); `rate_note`
    says why.
    """

    drug: str  # generic name, lower case
    start: datetime
    end: datetime | None  # None: still running
    rate: float | None
    ref: str
    rate_note: str | None = None


@dataclass(frozen=True, slots=True)
class DrugEvent:
    """One exposure event: an administration, an order, or a statement of use."""

    drug: str  # generic name, lower case
    drug_class: str  # knowledge.codes class: checkpoint_inhibitor, corticosteroid, ...
    kind: str  # "administration" | "order" | "statement"
    time: datetime | None  # when given (administration), authored (order), asserted (statement)
    end: datetime | None
    ref: str
    status: str
    dose_value: float | None = None
    dose_unit: str | None = None
    route: str | None = None
    target: str | None = None  # checkpoint inhibitors: PD-1, PD-L1, CTLA-4, LAG-3
    # The dose in mg (mass units, per-kg doses with a weight, tablets through the product's
    # strength), or None with `dose_note` saying why; orders also carry doses per day.
    dose_mg: float | None = None
    dose_note: str | None = None
    doses_per_day: float | None = None
    start: datetime | None = None  # orders: when the order starts (bounds or authoredOn)


@dataclass(frozen=True, slots=True)
class DraftOrder:
    """A MedicationRequest being ordered (CDS Hooks `draftOrders`, or a draft in the record)."""

    id: str
    ref: str  # "MedicationRequest/<id>"
    resource: dict[str, Any]  # as drafted: an update suggestion starts from it
    drug: Any  # knowledge.codes.DrugConcept
    dose_mg: float | None  # one administration, in mg
    doses_per_day: float | None
    dose_text: str  # as drafted, for display
    dose_problem: str | None = None  # why dose_mg is None
    dose_basis: str | None = None  # how a count or per-kg dose became mg


@dataclass(frozen=True, slots=True)
class ConditionFact:
    kind: str  # knowledge.codes condition vocabulary: crs, rash, transverse_myelitis, ...
    onset: datetime | None
    active: bool
    ref: str
    text: str
    code: str | None  # "system|code" that matched, or None when matched by text
    grade: int | None = None  # a grade carried by the code (D89.83x) or recorded on it
    bsa_percent: float | None = None
    text_matched: bool = False  # recognised by its text only (no known code)
    excluded: str | None = None  # another cause named by its code or text (an infection...)
    exclusion_source: str | None = None
    recorded: datetime | None = None  # Condition.recordedDate (not an onset)
    # Mass effect of hypophysitis (severe headache, visual change, chiasm compression) when the
    # record says so; None: not recorded.
    mass_effect: bool | None = None
    # The Condition itself carries T45.AX5- (adverse effect of immune checkpoint inhibitors) or
    # says it is immune-related: the coder attributed it (strong attribution evidence).
    ici_coded: str | None = None  # the marker ("ICD-10-CM T45.AX5A", "the text")
    # An organ code that names an irAE only with that marker (K75.89): read as the irAE only
    # when the marker is on this Condition or on another one recorded at the same time.
    needs_marker: bool = False
    # Another recorded cause that cannot be told apart on a checkpoint inhibitor (radiation
    # pneumonitis): the irAE plan applies, with this note.
    competing_cause: str | None = None


@dataclass(frozen=True, slots=True)
class TestResult:
    """A microbiology or serology result that can explain an organ finding (a positive C.
    difficile test explains diarrhoea; a positive urine culture, pyelonephritis)."""

    kinds: tuple[str, ...]  # irAE kinds it can explain
    label: str
    time: datetime
    positive: bool
    ref: str
    source: str


@dataclass(frozen=True, slots=True)
class NeuroFact:
    """A neurologic datum the ICANS grader reads (`knowledge.icans`): an ICE or CAPD score, a
    coded level of consciousness, or a Condition carrying an ICANS domain (seizure, motor
    weakness, cerebral oedema, raised intracranial pressure, ICANS recorded with its grade)."""

    kind: str  # ice | capd | consciousness | knowledge.icans NEURO kinds
    time: datetime  # effective time, onset (or recorded date when no onset)
    ref: str
    text: str  # as recorded, for display
    rule: str | None = None  # the knowledge.icans rule it fires, None when no finding
    score: int | None = None  # ICE or CAPD
    grade: int | None = None  # ICANS recorded with its grade (G92.0x)
    end: datetime | None = None  # abatement; None: still present (events end at `time`)
    text_matched: bool = False
    excluded: str | None = None  # why it is not read as ICANS (intracranial haemorrhage)
    extent_unknown: bool = False  # cerebral oedema with no stated extent


@dataclass(frozen=True, slots=True)
class AllergyFact:
    """An active allergy or intolerance to a drug the plan could propose."""

    substance: str  # as recorded
    drugs: tuple[str, ...]  # generic names (knowledge.codes) it covers
    criticality: str | None
    ref: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "substance": self.substance,
            "drugs": list(self.drugs),
            "criticality": self.criticality,
            "ref": self.ref,
        }


@dataclass(slots=True)
class PatientData:
    """Everything the graders and the irAE engine read, one patient, sorted by time."""

    birth_date: date | None = None
    deceased: bool = False
    deceased_time: datetime | None = None
    gender: str | None = None
    # Vital-sign and lab series keyed by knowledge.codes series name ("temperature", "sbp", ...)
    series: dict[str, list[Sample]] = field(default_factory=dict)
    o2_episodes: list[O2Episode] = field(default_factory=list)
    infusions: list[Infusion] = field(default_factory=list)
    drugs: list[DrugEvent] = field(default_factory=list)
    conditions: list[ConditionFact] = field(default_factory=list)
    tests: list[TestResult] = field(default_factory=list)
    # Draft MedicationRequests stored in the record (not exposures: nothing was given or ordered).
    drafts: list[DrugEvent] = field(default_factory=list)
    allergies: list[AllergyFact] = field(default_factory=list)
    # ICE and CAPD scores, levels of consciousness and neurologic conditions (ICANS), by time.
    neuro: list[NeuroFact] = field(default_factory=list)
    # Metabolic conditions coded on the record (knowledge.icans.OTHER_CAUSES): (kind, time, ref,
    # text), time the onset or the recorded date; only active ones are kept.
    metabolic: list[tuple[str, datetime | None, str, str]] = field(default_factory=list)
    # What the adapter could not read, as (resource reference, reason); shown, never dropped silently.
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    def samples(self, name: str) -> list[Sample]:
        return self.series.get(name, [])


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """A datum a criterion rests on."""

    ref: str
    what: str  # "Body temperature 38.4 Cel"
    time: datetime | None
    value: float | None = None
    unit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "what": self.what,
            "time": _iso(self.time),
            "value": self.value,
            "unit": self.unit,
        }


@dataclass(frozen=True, slots=True)
class Criterion:
    """A rule row that fired (or a rule row that could not be checked)."""

    id: str  # knowledge row id, e.g. "lee2014.g3.o2_fio2_ge_40"
    grade: int
    text: str
    source: str
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "grade": self.grade,
            "text": self.text,
            "source": self.source,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True, slots=True)
class Missing:
    """Data that is absent and could change the grade."""

    data: str  # "blood pressure", "oxygen support", "weight"
    why: str  # what it would change

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "why": self.why}


@dataclass(frozen=True, slots=True)
class GradeResult:
    system: str  # "lee2014" | "astct2019" | "ctcae5"
    grade: int | None  # 0 criteria not met; None: the data cannot support a grade
    criteria: tuple[Criterion, ...]
    missing: tuple[Missing, ...]
    at: datetime
    notes: tuple[str, ...] = ()
    # What would meet a criterion but is not graded as CRS (no fever in the episode, or no
    # CRS-associated therapy): listed so the clinician sees it, never counted in `grade`.
    findings: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "grade": self.grade,
            "at": _iso(self.at),
            "criteria": [c.to_dict() for c in self.criteria],
            "missing": [m.to_dict() for m in self.missing],
            "notes": list(self.notes),
            "findings": [e.to_dict() for e in self.findings],
        }


@dataclass(frozen=True, slots=True)
class TrajectoryPoint:
    time: datetime
    grades: dict[str, int | None]  # system -> grade

    def to_dict(self) -> dict[str, Any]:
        return {"time": _iso(self.time), **self.grades}


@dataclass(frozen=True, slots=True)
class Dose:
    """A dose after caps, in UCUM (mg, mg/d, g, g/d). `value` or `low`/`high`, never both."""

    unit: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    basis: str | None = None  # "2 mg/kg/d x 70 kg"
    capped: bool = False
    cap: str | None = None  # "800 mg per dose (label)"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"unit": self.unit}
        if self.value is not None:
            d["value"] = self.value
        else:
            d["low"], d["high"] = self.low, self.high
        if self.basis:
            d["basis"] = self.basis
        if self.capped:
            d["capped"] = True
            d["cap"] = self.cap
        return d


@dataclass(frozen=True, slots=True)
class Recommendation:
    id: str  # stable id of the knowledge row, e.g. "tocilizumab.label"
    category: str  # "checkpoint_inhibitor" | "immunosuppression" | "consult" | "supportive" | ...
    text: str
    sources: tuple[str, ...]
    drug: str | None = None  # generic name, lower case; None for non-drug advice
    dose: Dose | None = None
    dose_missing_reason: str | None = None  # set when a drug dose could not be computed
    route: str | None = None
    frequency: str | None = None  # "once", "daily", "every 8 h if needed"
    duration: str | None = None
    for_irae: tuple[str, ...] = ()  # irAE kinds this answers
    alternative_to: str | None = None  # id of the recommendation this one is an alternative to
    urgency: str = "routine"  # "routine" | "urgent"
    service: str | None = None  # consult or procedure name (non-drug orders)
    # Set when the line applies only later or under a condition ("if steroid-refractory after
    # 3 days"): shown, but never offered as an order to sign now.
    when: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "category": self.category,
            "text": self.text,
            "drug": self.drug,
            "dose": self.dose.to_dict() if self.dose else None,
            "dose_missing_reason": self.dose_missing_reason,
            "route": self.route,
            "frequency": self.frequency,
            "duration": self.duration,
            "for_irae": list(self.for_irae),
            "alternative_to": self.alternative_to,
            "urgency": self.urgency,
            "service": self.service,
            "when": self.when,
            "sources": list(self.sources),
        }


@dataclass(frozen=True, slots=True)
class Exposure:
    drug: str
    drug_class: str  # checkpoint_inhibitor | cellular_therapy | bispecific | ...
    target: str | None
    first_seen: datetime | None
    last_given: datetime | None  # last administration (or last order/statement time, see basis)
    basis: str  # "administration" | "order" | "statement"
    refs: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "drug": self.drug,
            "drug_class": self.drug_class,
            "target": self.target,
            "first_seen": _iso(self.first_seen),
            "last_given": _iso(self.last_given),
            "basis": self.basis,
            "refs": list(self.refs),
        }


@dataclass(frozen=True, slots=True)
class IraeFinding:
    kind: str  # knowledge.irae vocabulary
    label: str
    grade: int | None
    grade_basis: str
    checkpoint_inhibitor_action: str | None  # "continue" | "hold" | "discontinue" | None
    action_reason: str
    evidence: tuple[Evidence, ...]
    sources: tuple[str, ...]
    missing: tuple[Missing, ...] = ()
    # Why the finding is attributed to the checkpoint inhibitor ("onset 2026-11-19, 24 days
    # after the first pembrolizumab dose"), and whether it was recognised by text only.
    attribution: str = ""
    text_matched: bool = False
    rechallenge: str | None = None  # what the guideline says about giving the drug again

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "grade": self.grade,
            "grade_basis": self.grade_basis,
            "checkpoint_inhibitor_action": self.checkpoint_inhibitor_action,
            "action_reason": self.action_reason,
            "evidence": [e.to_dict() for e in self.evidence],
            "missing": [m.to_dict() for m in self.missing],
            "sources": list(self.sources),
            "attribution": self.attribution,
            "text_matched": self.text_matched,
            "rechallenge": self.rechallenge,
        }


@dataclass(frozen=True, slots=True)
class IraeExclusion:
    """A condition that looks like an irAE but is not attributed to the checkpoint inhibitor,
    with the reason (an infection, present before the first dose, onset unknown...)."""

    kind: str
    label: str
    reason: str
    evidence: tuple[Evidence, ...]
    sources: tuple[str, ...] = ()
    text_matched: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "reason": self.reason,
            "text_matched": self.text_matched,
            "evidence": [e.to_dict() for e in self.evidence],
            "sources": list(self.sources),
        }


@dataclass(frozen=True, slots=True)
class Weight:
    kg: float
    time: datetime | None
    ref: str
    stale: bool = False  # older than knowledge.params WEIGHT_MAX_AGE

    def to_dict(self) -> dict[str, Any]:
        return {"kg": self.kg, "time": _iso(self.time), "ref": self.ref, "stale": self.stale}


@dataclass(frozen=True, slots=True)
class GivenDose:
    """One administration of a course: when, what, how much (mg, None when not recorded)."""

    time: datetime
    drug: str
    mg: float | None
    ref: str
    note: str | None = None  # why mg is None
    # An order (MedicationRequest) with no administration charted after it: counted as a dose
    # at the time it was ordered, and said so.
    ordered: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": _iso(self.time),
            "drug": self.drug,
            "mg": self.mg,
            "ref": self.ref,
            "note": self.note,
            "ordered": self.ordered,
        }


@dataclass(frozen=True, slots=True)
class TocilizumabCourse:
    """The tocilizumab doses of the current CRS episode and what the label allows next.

    `status`: "due" (a dose is allowed now), "wait" (the interval has not passed),
    "max_reached", "no_improvement" (escalate to corticosteroids), "improving" (no repeat dose
    while the patient improves)."""

    doses: tuple[GivenDose, ...]
    max_doses: int
    min_interval_h: float
    next_not_before: datetime | None
    status: str
    text: str
    grade_at_last_dose: int | None
    grade_now: int | None
    sources: tuple[str, ...]

    @property
    def given(self) -> int:
        return len(self.doses)

    @property
    def last_time(self) -> datetime | None:
        return self.doses[-1].time if self.doses else None

    def allows_dose_at(self, t: datetime) -> bool:
        """The label's limits only (count and interval): clinical response is judged apart."""
        if self.given >= self.max_doses:
            return False
        return self.next_not_before is None or t >= self.next_not_before

    def to_dict(self) -> dict[str, Any]:
        return {
            "doses": [d.to_dict() for d in self.doses],
            "given": self.given,
            "max_doses": self.max_doses,
            "min_interval_h": self.min_interval_h,
            "last_given": _iso(self.last_time),
            "next_not_before": _iso(self.next_not_before),
            "status": self.status,
            "text": self.text,
            "grade_at_last_dose": self.grade_at_last_dose,
            "grade_now": self.grade_now,
            "sources": list(self.sources),
        }


@dataclass(frozen=True, slots=True)
class SteroidCourse:
    """The current systemic corticosteroid course, in prednisone-equivalent mg per day."""

    drug: str  # the latest drug given or ordered
    last_dose_mg: float | None  # of `drug`
    last_dose_time: datetime | None
    pred_eq_per_day: float | None  # the latest full day (or the active order's daily dose)
    start: datetime
    day_of_course: int
    peak_pred_eq_per_day: float
    taper_start: datetime | None  # the first day below the peak
    taper_lines: tuple[str, ...]  # progress against the plan's taper
    resume_met: bool | None  # None: the current daily dose is not known
    resume_text: str
    refractory_text: str | None
    days_at_or_above_20: int
    days_above_30: int
    pjp_due: bool
    pjp_text: str
    daily: tuple[tuple[str, float], ...]  # (ISO date, prednisone-equivalent mg) per day given
    doses: tuple[GivenDose, ...]
    sources: tuple[str, ...]
    # A drafted daily dose in [taper_low, pred_eq_per_day] is the next taper step, not a mismatch.
    taper_low: float | None = None

    @property
    def tapering(self) -> bool:
        return self.taper_start is not None

    def accepts_daily(self, pred_eq: float, tolerance: float) -> bool:
        """A drafted daily prednisone-equivalent that continues this course or takes its next
        taper step."""
        if self.pred_eq_per_day is None or self.taper_low is None:
            return False
        return self.taper_low * (1 - tolerance) <= pred_eq <= self.pred_eq_per_day * (1 + tolerance)

    def to_dict(self) -> dict[str, Any]:
        return {
            "drug": self.drug,
            "last_dose_mg": self.last_dose_mg,
            "last_dose_time": _iso(self.last_dose_time),
            "prednisone_equivalent_mg_per_day": self.pred_eq_per_day,
            "start": _iso(self.start),
            "day_of_course": self.day_of_course,
            "peak_prednisone_equivalent_mg_per_day": self.peak_pred_eq_per_day,
            "tapering": self.tapering,
            "taper_start": _iso(self.taper_start),
            "taper": list(self.taper_lines),
            "resume_criterion_met": self.resume_met,
            "resume": self.resume_text,
            "refractory": self.refractory_text,
            "days_at_or_above_20_mg": self.days_at_or_above_20,
            "days_above_30_mg": self.days_above_30,
            "pjp_prophylaxis_due": self.pjp_due,
            "pjp": self.pjp_text,
            "daily": [{"date": d, "prednisone_equivalent_mg": mg} for d, mg in self.daily],
            "doses": [d.to_dict() for d in self.doses],
            "sources": list(self.sources),
        }


@dataclass(frozen=True, slots=True)
class PendingOrder:
    """A checkpoint-inhibitor order not yet given: active, draft, or a scheduled dose."""

    drug: str
    ref: str
    kind: str  # "active order" | "draft order" | "scheduled dose"
    time: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {"drug": self.drug, "ref": self.ref, "kind": self.kind, "time": _iso(self.time)}


@dataclass(frozen=True, slots=True)
class Courses:
    """What has already been given: read once, shown by the plan, the cards and the page."""

    tocilizumab: TocilizumabCourse | None = None
    corticosteroid: SteroidCourse | None = None
    checkpoint_orders: tuple[PendingOrder, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "tocilizumab": self.tocilizumab.to_dict() if self.tocilizumab else None,
            "corticosteroid": self.corticosteroid.to_dict() if self.corticosteroid else None,
            "checkpoint_inhibitor_orders": [o.to_dict() for o in self.checkpoint_orders],
        }


@dataclass(frozen=True, slots=True)
class CrsAttribution:
    """Whether CRS grading applies, and to which therapy a CRS is attributed (by timing)."""

    applies: bool
    agent: str | None  # generic name of the therapy, None when grading does not apply
    drug_class: str | None  # cellular_therapy | bispecific | checkpoint_inhibitor
    reason: str
    onset: datetime | None  # the first fever (or recorded CRS) after the agent's last dose
    last_dose: datetime | None = None
    source: str | None = None  # the onset-window row's citation

    def to_dict(self) -> dict[str, Any]:
        return {
            "applies": self.applies,
            "agent": self.agent,
            "drug_class": self.drug_class,
            "reason": self.reason,
            "onset": _iso(self.onset),
            "last_dose": _iso(self.last_dose),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class IcansResult:
    """ICANS (ASTCT 2019) now, the worst in the window, the hour-by-hour changes, and the
    therapy it is attributed to. `applies` False: no CAR T-cell therapy or T-cell engager fits,
    the grade is 0 and what would have counted is listed in `findings`."""

    applies: bool
    grade: int | None  # None: no neurologic data in the window
    tool: str  # "ice" (adults and children over 12) or "capd" (children 12 and under)
    criteria: tuple[Criterion, ...]
    missing: tuple[Missing, ...]
    notes: tuple[str, ...]
    at: datetime
    window_start: datetime
    worst: TrajectoryPoint | None
    trajectory: tuple[TrajectoryPoint, ...]
    agent: str | None = None
    drug_class: str | None = None
    reason: str = ""
    onset: datetime | None = None
    findings: tuple[Evidence, ...] = ()
    sources: tuple[str, ...] = ()
    # The IEC-associated HLH-like syndrome screen (a flag with its evidence, not a diagnosis).
    iec_hs: dict[str, Any] | None = None
    # Recorded findings that may explain the neurologic picture (infection, hyponatraemia,
    # hypoglycaemia): "consider another cause" beside the grade, never lowering it.
    other_causes: tuple[dict[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "applies": self.applies,
            "grade": self.grade,
            "tool": self.tool,
            "at": _iso(self.at),
            "criteria": [c.to_dict() for c in self.criteria],
            "missing": [m.to_dict() for m in self.missing],
            "notes": list(self.notes),
            "findings": [e.to_dict() for e in self.findings],
            "worst": self.worst.to_dict() if self.worst else None,
            "trajectory": [p.to_dict() for p in self.trajectory],
            "window_start": _iso(self.window_start),
            "attribution": {
                "agent": self.agent,
                "drug_class": self.drug_class,
                "reason": self.reason,
                "onset": _iso(self.onset),
            },
            "sources": list(self.sources),
            "iec_hs": self.iec_hs,
            "other_causes": list(self.other_causes),
        }


@dataclass(slots=True)
class Assessment:
    at: datetime
    ruleset_version: str
    age_years: int | None
    weight: Weight | None
    deceased: bool
    crs: dict[str, GradeResult]  # system -> result at `at`
    crs_worst: dict[str, TrajectoryPoint | None]  # system -> worst point in the window
    trajectory: list[TrajectoryPoint]
    window_start: datetime
    exposures: list[Exposure]
    irae: list[IraeFinding]
    recommendations: list[Recommendation]
    data_quality: list[dict[str, str]]  # unreadable resources and why
    disclaimer: str
    # Trends for the app's timeline (see `services.timeline` for the shape): series of vitals
    # and labs, oxygen support episodes, vasopressor rates, norepinephrine-equivalent segments
    # and drug doses, all inside [window_start, at]. Empty when the caller asked for none (hooks).
    timeline: dict[str, Any] = field(default_factory=dict)
    # Conditions that look like irAEs but are not attributed, each with its reason.
    irae_excluded: list[IraeExclusion] = field(default_factory=list)
    # What has already been given (tocilizumab and corticosteroid courses, checkpoint-inhibitor
    # orders still pending): `services.courses`.
    courses: Courses = field(default_factory=Courses)
    # Active allergies to drugs the plan could propose; a recommendation of such a drug is
    # turned into a caution without a dose (`services.allergy`).
    allergies: list[AllergyFact] = field(default_factory=list)
    # Whether CRS grading applies and to which therapy CRS is attributed (None: not assessed).
    crs_attribution: CrsAttribution | None = None
    # The grading system whose grade drives the plan (knowledge.crs.PRIMARY_SYSTEMS).
    crs_primary_system: str = "astct2019"
    # Systems grading higher than the primary one, and why: [{"system", "grade", "why"}].
    crs_higher_than_primary: list[dict[str, Any]] = field(default_factory=list)
    # ICANS graded by ASTCT 2019 (None: not assessed).
    icans: IcansResult | None = None

    @property
    def crs_applies(self) -> bool:
        return self.crs_attribution is None or self.crs_attribution.applies

    @property
    def primary_crs_grade(self) -> int | None:
        """The primary system's grade now; 0 when CRS grading does not apply."""
        r = self.crs.get(self.crs_primary_system)
        if r is None:
            return self.max_crs_grade
        if not self.crs_applies:
            return 0 if r.grade is not None else None
        return r.grade

    @property
    def checkpoint_inhibitors(self) -> list[Exposure]:
        return [e for e in self.exposures if e.drug_class == "checkpoint_inhibitor"]

    @property
    def max_crs_grade(self) -> int | None:
        grades = [r.grade for r in self.crs.values() if r.grade is not None]
        return max(grades) if grades else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": _iso(self.at),
            "ruleset_version": self.ruleset_version,
            "patient": {
                "age_years": self.age_years,
                "weight": self.weight.to_dict() if self.weight else None,
                "deceased": self.deceased,
                "allergies": [al.to_dict() for al in self.allergies],
            },
            "crs": {k: v.to_dict() for k, v in self.crs.items()},
            "crs_worst": {k: (v.to_dict() if v else None) for k, v in self.crs_worst.items()},
            "trajectory": [p.to_dict() for p in self.trajectory],
            "window_start": _iso(self.window_start),
            "exposures": [e.to_dict() for e in self.exposures],
            "checkpoint_inhibitors": [
                {"drug": e.drug, "last_given": _iso(e.last_given)}
                for e in self.checkpoint_inhibitors
            ],
            "irae": [f.to_dict() for f in self.irae],
            "irae_excluded": [x.to_dict() for x in self.irae_excluded],
            "recommendations": [r.to_dict() for r in self.recommendations],
            "data_quality": self.data_quality,
            "disclaimer": self.disclaimer,
            "timeline": self.timeline,
            "courses": self.courses.to_dict(),
            "crs_attribution": self.crs_attribution.to_dict() if self.crs_attribution else None,
            "crs_primary_system": self.crs_primary_system,
            "crs_higher_than_primary": list(self.crs_higher_than_primary),
            "icans": self.icans.to_dict() if self.icans else None,
        }


@dataclass(frozen=True, slots=True)
class Grades:
    """The grades of an assessment and nothing else (no plan, no trajectory, no timeline): what
    a comparison of the record without and with new observations needs of "before"
    (`services.assess.grades`). The same fields, and the same reading of them, as `Assessment`."""

    at: datetime
    crs: dict[str, GradeResult]
    crs_attribution: CrsAttribution | None
    crs_primary_system: str
    irae: list[IraeFinding]
    icans: IcansResult | None

    crs_applies = Assessment.crs_applies
    primary_crs_grade = Assessment.primary_crs_grade
    max_crs_grade = Assessment.max_crs_grade


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None
