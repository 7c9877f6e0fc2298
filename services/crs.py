"""CRS grading under Lee 2014, ASTCT 2019 and CTCAE v5.0, now and hour by hour.

How it works: the findings in a window (`knowledge.crs` "window") are gathered once into a
`Findings` (worst temperature, lowest pressures, oxygen support, vasopressors, organ toxicity,
anti-cytokine therapy), and each system's grader turns the same `Findings` into a grade, the
criteria that fired with their evidence, and what is missing. Every number is a row of
`knowledge.crs`; rule text and sources come from `knowledge.crs.RULES`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from services import format as fmt
from services import grading
from services import vasopressors as V
from services.knowledge import codes
from services.knowledge import crs as K
from services.model import (
    Criterion,
    DrugEvent,
    Evidence,
    GradeResult,
    Missing,
    O2Episode,
    O2Level,
    PatientData,
    Sample,
    TrajectoryPoint,
)

SYSTEMS = ("lee2014", "astct2019", "ctcae5")
ORGAN_SERIES = ("alt", "ast", "bilirubin", "creatinine")
PPV = (O2Level.NONINVASIVE_PPV, O2Level.INVASIVE_VENTILATION)
MORE_THAN_LOW_FLOW = (O2Level.HIGH_FLOW_CANNULA, O2Level.MASK)
LOW_FLOW = (O2Level.LOW_FLOW_CANNULA, O2Level.BLOW_BY)


@dataclass(slots=True)
class OrganTox:
    series: str
    grade: int
    sample: Sample
    uln: float
    uln_assumed: bool
    source: str


@dataclass(slots=True)
class Findings:
    start: datetime
    end: datetime
    temp_max: Sample | None = None
    temp_n: int = 0
    sbp_min: Sample | None = None
    map_min: Sample | None = None
    bp_n: int = 0
    fio2_max: Sample | None = None
    flow_max: Sample | None = None
    o2_top: O2Episode | None = None
    o2_n: int = 0
    vaso_segments: list[V.Segment] = field(default_factory=list)
    vaso_evidence: tuple[Evidence, ...] = ()  # the infusions of `vaso_segments`, once each
    high_dose: V.HighDoseRun | None = None
    labs_n: int = 0
    organ: list[OrganTox] = field(default_factory=list)
    # An antipyretic, anti-cytokine or corticosteroid given after the episode's onset: it lifts
    # the ASTCT fever requirement (footnote). None when none was given after an onset.
    anticytokine: DrugEvent | None = None
    deceased: bool = False
    # The episode's onset: the first fever ≥38.0 °C, or a recorded CRS, within the look-back.
    onset: Evidence | None = None
    # Hypotension limits for the patient's age at the window's end (None: no limit cited).
    sbp_limit: float = 90.0
    map_limit: float | None = 65.0
    age_known: bool = True
    # A corticosteroid or antipyretic in the episode with no onset before it (premedication):
    # it may mask a fever, and it does not lift the fever requirement.
    masking: DrugEvent | None = None

    # -- derived --------------------------------------------------------------------------
    @property
    def hypotension(self) -> list[Evidence]:
        out = []
        if self.sbp_min is not None and self.sbp_min.value < self.sbp_limit:
            out.append(_ev_sample("sbp", self.sbp_min))
        if (
            self.map_min is not None
            and self.map_limit is not None
            and self.map_min.value < self.map_limit
        ):
            out.append(_ev_sample("map", self.map_min))
        return out

    @property
    def fever(self) -> bool:
        return self.temp_max is not None and self.temp_max.value >= K.value("fever")

    @property
    def max_concurrent(self) -> int:
        return max((len(s.drugs) for s in self.vaso_segments), default=0)

    @property
    def max_concurrent_excluding_vasopressin(self) -> int:
        return max((len(s.drugs - {"vasopressin"}) for s in self.vaso_segments), default=0)

    @property
    def unknown_rate_infusions(self) -> list:
        seen = {}
        for s in self.vaso_segments:
            for i in s.infusions:
                if i.rate is None:
                    seen[i.ref] = i
        return list(seen.values())

    @property
    def o2_level(self) -> O2Level | None:
        """The most support in the window: the device, or a flow above the low-flow limit."""
        level = self.o2_top.level if self.o2_top else None
        if self.flow_max is not None and self.flow_max.value > 0:
            by_flow = (
                O2Level.HIGH_FLOW_CANNULA
                if self.flow_max.value > K.value("astct_low_flow_max")
                else O2Level.LOW_FLOW_CANNULA
            )
            if level is None or level in (
                O2Level.ROOM_AIR,
                O2Level.BLOW_BY,
                O2Level.LOW_FLOW_CANNULA,
            ):
                level = max(level or by_flow, by_flow)
        return level

    @property
    def oxygen_support(self) -> list[Evidence]:
        """Supplemental oxygen in the window: a device above room air, a flow, or a measured
        FiO2 above room air's; what it rests on (empty: none recorded)."""
        out: list[Evidence] = []
        if self.o2_top is not None and self.o2_top.level > O2Level.ROOM_AIR:
            out.append(_ev_o2(self.o2_top))
        if self.flow_max is not None and self.flow_max.value > 0:
            out.append(_ev_sample("o2_flow", self.flow_max))
        if self.fio2_max is not None and self.fio2_max.value > 21:
            out.append(_ev_sample("fio2", self.fio2_max))
        return out

    @property
    def has_o2_data(self) -> bool:
        return self.o2_n > 0 or self.fio2_max is not None or self.flow_max is not None

    def grading_key(self) -> tuple:
        """Everything the graders read from these findings, by identity (counts only as "any or
        none", which is all the graders ask of them). Within one `evaluate`, where every sample,
        segment and run is one object held by the index, windows with equal keys get equal
        grades, so the trajectory grades each distinct key once. Identities are cheap to hash
        and never equal across different objects, so a key can only miss, never mix up two
        windows. A test fails if a field is added to `Findings` and left out of this key."""
        return (
            id(self.temp_max),
            self.temp_n > 0,
            id(self.sbp_min),
            id(self.map_min),
            self.bp_n > 0,
            id(self.fio2_max),
            id(self.flow_max),
            id(self.o2_top),
            self.o2_n > 0,
            *map(id, self.vaso_segments),
            -1,  # separates the variable-length part
            id(self.vaso_evidence),
            id(self.high_dose),
            self.labs_n > 0,
            *map(id, self.organ),
            id(self.anticytokine),
            self.deceased,
            id(self.onset),
            self.sbp_limit,
            self.map_limit,
            self.age_known,
            id(self.masking),
        )


# ------------------------------------------------------------------------------------------
# Evidence helpers
# ------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _ev_sample(name: str, s: Sample) -> Evidence:
    sc = codes.series_by_name(name)
    return Evidence(s.ref, f"{sc.label} {fmt.charted(s.value)} {sc.unit}", s.time, s.value, sc.unit)


def _ev_o2(e: O2Episode) -> Evidence:
    return Evidence(e.ref, e.label, e.start)


def _ev_segments(
    segs: Iterable[V.Segment], built: dict[int, Evidence] | None = None
) -> tuple[Evidence, ...]:
    """One line of evidence per infusion (an infusion spans many segments). `built` keeps the
    lines already written, by infusion identity, across the windows of one evaluation."""
    built = {} if built is None else built
    out: dict[str, Evidence] = {}
    for s in segs:
        for i in s.infusions:
            if i.ref in out:
                continue
            ev = built.get(id(i))
            if ev is None:
                unit = codes.drug_by_name(i.drug).extra["unit"]  # type: ignore[union-attr]
                rate = f"{fmt.charted(i.rate)} {unit}" if i.rate is not None else "rate unknown"
                ev = built[id(i)] = Evidence(i.ref, f"{i.drug} {rate}", i.start, i.rate, unit)
            out[i.ref] = ev
    return tuple(out.values())


def _ev_run(run: V.HighDoseRun) -> tuple[Evidence, ...]:
    evs = list(_ev_segments(run.segments))
    nee = min((s.ne_equivalent() or 0.0) for s in run.segments)
    hours = (run.end - run.start).total_seconds() / 3600
    evs.append(
        Evidence(
            "derived/norepinephrine-equivalent",
            f"held {hours:.1f} h from {run.start.isoformat()} (norepinephrine-equivalent ≥ {fmt.charted(nee)} µg/min throughout)",
            run.start,
            nee,
            "ug/min",
        )
    )
    return tuple(evs)


def _crit(rule_id: str, evidence: tuple[Evidence, ...] | list[Evidence] = ()) -> Criterion:
    return grading.criterion(K.RULES[rule_id], evidence)


# ------------------------------------------------------------------------------------------
# Gathering findings for a window
# ------------------------------------------------------------------------------------------


class _Index:
    """Per-patient sorted views, built once and queried for many windows."""

    def __init__(self, data: PatientData, until: datetime):
        self.data = data
        self.times = {name: [s.time for s in ss] for name, ss in data.series.items()}
        self.values = {name: [s.value for s in ss] for name, ss in data.series.items()}
        # Each laboratory value's organ toxicity, once per sample rather than once per window.
        self.organ = {
            name: [_organ_grade(name, s) for s in data.series.get(name, ())]
            for name in ORGAN_SERIES
        }
        self.segs = V.segments(data.infusions, until)  # sorted, not overlapping
        self.seg_starts = [s.start for s in self.segs]
        self.seg_ends = [s.end for s in self.segs]
        self._seg_evidence: dict[tuple[int, int], tuple[Evidence, ...]] = {}
        self._infusion_evidence: dict[int, Evidence] = {}
        self.runs = V.high_dose_runs(self.segs)
        self.lifters = [
            d
            for d in data.drugs
            if d.drug_class in K.FEVER_LIFTING_CLASSES
            and d.kind in ("administration", "statement")
            and d.time is not None
        ]
        self.lifter_times = [d.time for d in self.lifters]
        fever = K.value("fever")
        self.fevers = [s for s in data.series.get("temperature", ()) if s.value >= fever]
        self.fever_times = [s.time for s in self.fevers]
        self.recorded = sorted(
            (c for c in data.conditions if c.kind == "crs" and c.onset is not None),
            key=lambda c: c.onset,  # type: ignore[arg-type,return-value]
        )
        self.recorded_times = [c.onset for c in self.recorded]
        # An anti-cytokine given after a dose of a CRS-associated therapy: CRS was treated.
        self.treated = treated_onsets(data)
        self.treated_times = [d.time for d in self.treated]
        self._onset_ev: dict[int, Evidence] = {}

    def onset(self, a: datetime, b: datetime) -> Evidence | None:
        """The episode's onset in [a, b]: the first fever, or a recorded CRS if earlier."""
        best: Evidence | None = None
        i = bisect_left(self.fever_times, a)
        if i < len(self.fevers) and self.fever_times[i] <= b:
            s = self.fevers[i]
            best = self._onset_ev.get(id(s)) or self._onset_ev.setdefault(
                id(s), _ev_sample("temperature", s)
            )
        j = bisect_left(self.recorded_times, a)  # type: ignore[arg-type]
        if j < len(self.recorded) and self.recorded_times[j] <= b:  # type: ignore[operator]
            c = self.recorded[j]
            if best is None or c.onset < best.time:  # type: ignore[operator]
                best = self._onset_ev.get(id(c)) or self._onset_ev.setdefault(
                    id(c), Evidence(c.ref, f"CRS recorded: {c.text}", c.onset)
                )
        k = bisect_left(self.treated_times, a)  # type: ignore[arg-type]
        if k < len(self.treated) and self.treated_times[k] <= b:  # type: ignore[operator]
            d = self.treated[k]
            if best is None or d.time < best.time:  # type: ignore[operator]
                best = self._onset_ev.get(id(d)) or self._onset_ev.setdefault(
                    id(d), Evidence(d.ref, f"{d.drug} given (treatment of CRS)", d.time)
                )
        return best

    def lifter(self, onset: datetime, b: datetime) -> DrugEvent | None:
        """The last antipyretic, anti-cytokine or corticosteroid given in [onset, b]."""
        j = bisect_right(self.lifter_times, b)  # type: ignore[arg-type]
        if j and self.lifter_times[j - 1] >= onset:  # type: ignore[operator]
            return self.lifters[j - 1]
        return None

    def limits(self, b: datetime) -> tuple[float, float | None, bool]:
        """Systolic and mean-pressure limits for the patient's age at `b` (adult if unknown)."""
        bd = self.data.birth_date
        if bd is None:
            return K.value("hypotension_sbp"), K.value("hypotension_map"), False
        d = b.date()
        years = (d - bd).days / 365.25
        whole = grading.whole_years(bd, d)
        sbp, mean = K.value("hypotension_sbp"), None
        if whole >= K.value("adult_age"):
            mean = K.value("hypotension_map")
        for row in K.AGE_LIMITS:
            if row.min_years <= years < row.max_years:
                if row.series == "sbp":
                    sbp = row.limit(whole)
                else:
                    mean = row.limit(whole)
        return sbp, mean, True

    def segments(self, a: datetime, b: datetime) -> tuple[list[V.Segment], tuple[Evidence, ...]]:
        """The vasopressor segments touching [a, b] (`vasopressors.overlapping`, by bisection:
        the segments are sorted and do not overlap) and their evidence, built once per span."""
        i, j = bisect_left(self.seg_ends, a), bisect_right(self.seg_starts, b)
        if j <= i:
            return [], ()
        ev = self._seg_evidence.get((i, j))
        if ev is None:
            ev = _ev_segments(self.segs[i:j], self._infusion_evidence)
            self._seg_evidence[(i, j)] = ev
        return self.segs[i:j], ev

    def span(self, name: str, a: datetime, b: datetime) -> tuple[int, int]:
        ts = self.times.get(name)
        if not ts:
            return 0, 0
        return bisect_left(ts, a), bisect_right(ts, b)

    def extreme(self, name: str, a: datetime, b: datetime, pick=max) -> tuple[Sample | None, int]:
        """The first sample with the highest (`pick=max`) or lowest (`min`) value in [a, b],
        as `max(window, key=value)` would find it, and the window's sample count."""
        i, j = self.span(name, a, b)
        if j <= i:
            return None, 0
        vals = self.values[name]
        return self.data.series[name][vals.index(pick(vals[i:j]), i, j)], j - i


def treated_onsets(data: PatientData) -> list[DrugEvent]:
    """Anti-cytokine administrations after a dose of a CRS-associated therapy, sorted."""
    doses = sorted(
        d.time
        for d in data.drugs
        if d.drug_class in K.ONSET_BY_CLASS and d.time is not None and d.kind != "order"
    )
    if not doses:
        return []
    return sorted(
        (
            d
            for d in data.drugs
            if d.drug_class in K.ONSET_MARKING_CLASSES
            and d.kind == "administration"
            and d.time is not None
            and d.time > doses[0]
        ),
        key=lambda d: d.time,  # type: ignore[arg-type,return-value]
    )


def gather(ix: _Index, a: datetime, b: datetime) -> Findings:
    f = Findings(a, b)
    f.temp_max, f.temp_n = ix.extreme("temperature", a, b, max)
    f.sbp_min, n_sbp = ix.extreme("sbp", a, b, min)
    f.map_min, n_map = ix.extreme("map", a, b, min)
    f.bp_n = n_sbp + n_map
    f.fio2_max, _ = ix.extreme("fio2", a, b, max)
    f.flow_max, _ = ix.extreme("o2_flow", a, b, max)
    for e in ix.data.o2_episodes:
        if e.start > b:
            break
        if grading.overlaps(e.start, e.end, a, b):
            f.o2_n += 1
            if f.o2_top is None or e.level > f.o2_top.level:
                f.o2_top = e
    f.vaso_segments, f.vaso_evidence = ix.segments(a, b)
    f.high_dose = V.run_in_window(ix.runs, a, b)
    for name in ORGAN_SERIES:
        i, j = ix.span(name, a, b)
        f.labs_n += j - i
        worst: OrganTox | None = None
        for tox in ix.organ[name][i:j]:
            if tox and (worst is None or tox.grade > worst.grade):
                worst = tox
        if worst:
            f.organ.append(worst)
    start = b - timedelta(days=K.value("crs_episode_lookback"))
    f.onset = ix.onset(start, b)
    if f.onset is not None and f.onset.time is not None:
        f.anticytokine = ix.lifter(f.onset.time, b)
    else:
        f.masking = ix.lifter(start, b)
    f.sbp_limit, f.map_limit, f.age_known = ix.limits(b)
    dead = ix.data.deceased and (ix.data.deceased_time is None or ix.data.deceased_time <= b)
    f.deceased = bool(dead)
    return f


def _organ_grade(series: str, s: Sample) -> OrganTox | None:
    uln, assumed = s.high, False
    if uln is None or uln <= 0:
        uln, assumed = K.FALLBACK_ULN[series][0], True
    ratio = s.value / uln
    hit = None
    for row in K.ORGAN_TOXICITY:
        if row.series == series and ratio > row.above_uln:
            hit = row if hit is None or row.grade > hit.grade else hit
    if hit is None:
        return None
    return OrganTox(series, hit.grade, s, uln, assumed, hit.source)


# ------------------------------------------------------------------------------------------
# The three graders
# ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Out:
    criteria: list[Criterion] = field(default_factory=list)
    missing: list[Missing] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Findings that would meet a criterion but are not graded as CRS (no fever in the episode).
    findings: list[Evidence] = field(default_factory=list)

    @property
    def grade(self) -> int:
        return max((c.grade for c in self.criteria), default=0)


def _oxygen(f: Findings, out: _Out, system: str) -> None:
    """Lee 2014 and CTCAE v5 read oxygen the same way: measured FiO2 first, else the device."""
    level = f.o2_level
    prefix = "lee2014" if system == "lee2014" else "ctcae5"
    threshold = K.value("lee_fio2" if system == "lee2014" else "ctcae_fio2")
    if level in PPV:
        rid = "lee2014.g4.ventilator" if system == "lee2014" else "ctcae5.g4.urgent"
        out.criteria.append(_crit(rid, [_ev_o2(f.o2_top)]))  # type: ignore[arg-type]
        return
    fio2 = f.fio2_max
    if fio2 is not None and fio2.value > 21:
        rid = f"{prefix}.g3.o2_ge40" if fio2.value >= threshold else f"{prefix}.g2.o2_lt40"
        out.criteria.append(_crit(rid, [_ev_sample("fio2", fio2)]))
        return
    ev: list[Evidence] = []
    if f.o2_top is not None and f.o2_top.level > O2Level.ROOM_AIR:
        ev.append(_ev_o2(f.o2_top))
    if f.flow_max is not None and f.flow_max.value > 0:
        ev.append(_ev_sample("o2_flow", f.flow_max))
    if level in MORE_THAN_LOW_FLOW:
        out.criteria.append(_crit(f"{prefix}.g3.more_than_low_flow", ev))
        out.missing.append(
            Missing(
                "FiO2",
                "Grade 3 rests on the oxygen device; a measured FiO2 below 40% would make it grade 2",
            )
        )
    elif level in LOW_FLOW:
        out.criteria.append(_crit(f"{prefix}.g2.low_flow", ev))
        out.missing.append(Missing("FiO2", "A measured FiO2 of 40% or more would make it grade 3"))


def _hypotension_lee(f: Findings, out: _Out) -> None:
    if f.max_concurrent >= 2:
        out.criteria.append(_crit("lee2014.g3.multiple", f.vaso_evidence))
    if f.high_dose is not None:
        out.criteria.append(_crit("lee2014.g3.high_dose", _ev_run(f.high_dose)))
    elif f.max_concurrent == 1:
        out.criteria.append(_crit("lee2014.g2.one_low_dose", f.vaso_evidence))
    elif f.hypotension:
        out.criteria.append(_crit("lee2014.g2.hypotension", f.hypotension))
    unknown = f.unknown_rate_infusions
    if unknown and f.high_dose is None:
        for i in unknown:
            out.missing.append(
                Missing(
                    f"{i.drug} infusion rate ({i.rate_note or 'unknown'})",
                    "A high dose held for 3 hours (Lee 2014 Table 3) would make it grade 3",
                )
            )


def _missing_vitals(
    f: Findings, out: _Out, *, temperature: bool, o2_what: str, o2_why: str
) -> None:
    """Missing temperature, blood pressure and oxygen data, listed only when it could raise the
    grade (shared by the three graders)."""
    g = out.grade
    if temperature and f.temp_n == 0 and g < 1:
        out.missing.append(Missing("temperature", "A fever would make it grade 1"))
    if f.bp_n == 0 and not f.vaso_segments and g < 2:
        out.missing.append(Missing("blood pressure", "Hypotension would make it grade 2"))
    if not f.has_o2_data and g < 4:
        out.missing.append(Missing(o2_what, o2_why))
    if not f.age_known and f.bp_n > 0:
        out.missing.append(
            Missing("birth date", "Hypotension limits depend on age: the adult limits were used")
        )


def lee2014(f: Findings) -> _Out:
    out = _Out()
    if f.fever:
        out.criteria.append(_crit("lee2014.g1.fever", [_ev_sample("temperature", f.temp_max)]))  # type: ignore[arg-type]
    _oxygen(f, out, "lee2014")
    _hypotension_lee(f, out)
    for tox in f.organ:
        ev = Evidence(
            tox.sample.ref,
            f"{codes.series_by_name(tox.series).label} {fmt.charted(tox.sample.value)} = "
            f"{tox.sample.value / tox.uln:.1f} × ULN {fmt.charted(tox.uln)}"
            + (" (ULN assumed: no reference range sent)" if tox.uln_assumed else ""),
            tox.sample.time,
            tox.sample.value,
            codes.series_by_name(tox.series).unit,
        )
        if tox.grade == 4 and tox.series in K.TRANSAMINASES:
            out.criteria.append(_crit("lee2014.g3.organ", [ev]))
        elif tox.grade >= 2:
            out.criteria.append(_crit(f"lee2014.g{tox.grade}.organ", [ev]))
        if tox.uln_assumed:
            out.missing.append(
                Missing(
                    f"reference range for {codes.series_by_name(tox.series).label}",
                    "The organ toxicity grade uses an assumed upper limit of normal",
                )
            )
    _missing_vitals(
        f,
        out,
        temperature=True,
        o2_what="oxygen support (device, flow, FiO2)",
        o2_why="An oxygen requirement would make it grade 2 to 4",
    )
    g = out.grade
    if f.labs_n == 0 and g < 4:
        out.missing.append(
            Missing(
                "ALT, AST, bilirubin, creatinine",
                "Grade 2 to 4 organ toxicity (CTCAE v4.0) would raise the grade",
            )
        )
    return out


def astct2019(f: Findings) -> _Out:
    out = _Out()
    if f.fever:
        out.criteria.append(_crit("astct2019.g1.fever", [_ev_sample("temperature", f.temp_max)]))  # type: ignore[arg-type]
    elif f.anticytokine is not None:
        d = f.anticytokine
        ev = [Evidence(d.ref, f"{d.drug} given", d.time)]
        if f.onset is not None:
            ev.insert(0, f.onset)
        out.criteria.append(_crit("astct2019.fever_lifted", ev))
    # Hypotension
    if f.max_concurrent_excluding_vasopressin >= 2:
        out.criteria.append(_crit("astct2019.g4.multiple", f.vaso_evidence))
    elif f.vaso_segments:
        out.criteria.append(_crit("astct2019.g3.one_vasopressor", f.vaso_evidence))
    elif f.hypotension:
        out.criteria.append(_crit("astct2019.g2.hypotension", f.hypotension))
    # Hypoxia
    level = f.o2_level
    ev: list[Evidence] = []
    if f.o2_top is not None and f.o2_top.level > O2Level.ROOM_AIR:
        ev.append(_ev_o2(f.o2_top))
    if f.flow_max is not None and f.flow_max.value > 0:
        ev.append(_ev_sample("o2_flow", f.flow_max))
    if level in PPV:
        out.criteria.append(_crit("astct2019.g4.positive_pressure", ev))
    elif level in MORE_THAN_LOW_FLOW:
        out.criteria.append(_crit("astct2019.g3.high_flow", ev))
    elif level in LOW_FLOW:
        out.criteria.append(_crit("astct2019.g2.low_flow", ev))
    _missing_vitals(
        f,
        out,
        temperature=False,
        o2_what="oxygen support (device and flow)",
        o2_why="Oxygen by cannula, mask or positive pressure would make it grade 2 to 4",
    )
    return out


def ctcae5(f: Findings) -> _Out:
    out = _Out()
    if f.fever:
        out.criteria.append(_crit("ctcae5.g1.fever", [_ev_sample("temperature", f.temp_max)]))  # type: ignore[arg-type]
    _oxygen(f, out, "ctcae5")
    if f.max_concurrent >= 2:
        out.criteria.append(_crit("ctcae5.g4.urgent", f.vaso_evidence))
    elif f.vaso_segments:
        out.criteria.append(_crit("ctcae5.g3.one_pressor", f.vaso_evidence))
    elif f.hypotension:
        out.criteria.append(_crit("ctcae5.g2.hypotension", f.hypotension))
    _missing_vitals(
        f,
        out,
        temperature=True,
        o2_what="oxygen support (device, flow, FiO2)",
        o2_why="An oxygen requirement would make it grade 2 to 4",
    )
    return out


GRADERS = {"lee2014": lee2014, "astct2019": astct2019, "ctcae5": ctcae5}


def _no_data(f: Findings) -> bool:
    return (
        f.temp_n == 0
        and f.bp_n == 0
        and not f.has_o2_data
        and not f.vaso_segments
        and f.labs_n == 0
    )


def _to_findings(out: _Out) -> None:
    """Criteria that fired become plain findings (their evidence, fever excluded)."""
    for c in out.criteria:
        if c.id.endswith(".g1.fever") or c.id.endswith(".fever_lifted"):
            continue
        for ev in c.evidence:
            if ev not in out.findings:
                out.findings.append(ev)
    out.criteria = []


def _eligible(system: str, f: Findings) -> bool:
    """Fever first: fever now; or, after onset in this episode, ASTCT only once an antipyretic,
    anti-cytokine or corticosteroid was given (footnote), Lee 2014 and CTCAE v5.0 on the
    fever that began the episode."""
    if f.fever:
        return True
    if system == "astct2019":
        return f.anticytokine is not None
    return f.onset is not None


def grade_window(
    system: str, f: Findings, not_applicable: str | None = None
) -> tuple[int | None, _Out]:
    """One system's grade for one window, fever-first rule applied. `not_applicable`: why CRS
    grading does not apply (no CRS-associated therapy): the findings are listed, grade 0."""
    out = GRADERS[system](f)
    if _no_data(f):
        return None, out
    if not_applicable is not None:
        _to_findings(out)
        out.missing = []
        if out.findings:
            out.notes.append(not_applicable)
        return 0, out
    if _eligible(system, f):
        if not f.fever and out.criteria and all(".organ" in c.id for c in out.criteria):
            # Organ toxicity alone, without fever, hypotension or hypoxia, is not the syndrome.
            _to_findings(out)
            out.missing = [m for m in out.missing if m.data != "ALT, AST, bilirubin, creatinine"]
            out.notes.append(K.ORGAN_ALONE_NOTE[0])
        return out.grade, out
    would = out.grade
    _to_findings(out)
    # Without fever nothing else could make it CRS: only a temperature is worth asking for.
    out.missing = [m for m in out.missing if m.data == "temperature"]
    if f.temp_n == 0 and (system == "astct2019" or would >= 1):
        hours = fmt.charted(K.value("window"))
        out.notes.append(
            f"No temperature in the {hours} hours before the assessment and no fever earlier in "
            "this episode: whether these findings are CRS depends on fever, so there is no grade."
            if would >= 1
            else f"No temperature in the {hours} hours before the assessment and no tocilizumab "
            "or steroids: ASTCT needs to know whether there is fever."
        )
        return None, out
    if would >= 1:
        note = K.AFEBRILE_NOTE
        if system == "astct2019" and f.onset is not None:
            note = (
                f"Fever began this episode ({f.onset.what}) but there is none now and no "
                "antipyretic, anti-cytokine or corticosteroid was given since: ASTCT grades "
                "without fever only after such treatment."
            )
        elif system == "astct2019":
            note += (
                " ASTCT no longer requires fever only once antipyretics, tocilizumab or steroids "
                "were given after CRS had begun; prophylaxis before any fever does not count."
            )
        out.notes.append(note)
    if would >= 1 and f.masking is not None:
        d = f.masking
        out.notes.append(
            f"{d.drug} was given before any fever ({d.time.astimezone(UTC):%Y-%m-%d %H:%M} UTC): it may mask a "
            "fever, so watch the temperature closely; given before CRS began, it does not "
            "replace the fever the grading needs."
        )
    return 0, out


# ------------------------------------------------------------------------------------------
# Public entry points
# ------------------------------------------------------------------------------------------


def findings_now(data: PatientData, at: datetime) -> Findings:
    """The findings in the grading window before `at`, as the graders read them: for a caller
    comparing two versions of a record (with and without newly charted observations)."""
    return gather(_Index(data, at), at - timedelta(hours=K.value("window")), at)


@dataclass(slots=True)
class CrsEvaluation:
    now: dict[str, GradeResult]
    trajectory: list[TrajectoryPoint]
    worst: dict[str, TrajectoryPoint | None]
    window_start: datetime


def evaluate(
    data: PatientData,
    at: datetime,
    not_applicable: str | None = None,
    *,
    trajectory: bool = True,
) -> CrsEvaluation:
    """`not_applicable`: why CRS grading does not apply to this patient (no CRS-associated
    therapy); every window then grades 0 with its findings listed. `trajectory` False: the
    grades now only (no hour-by-hour trajectory, no worst point), as a comparison needs them."""
    window = timedelta(hours=K.value("window"))
    ix = _Index(data, at)
    # Hour by hour back over the trajectory span; the last point is `at` itself.
    hours = grading.trajectory_hours(K.value("trajectory"))
    graded: dict[tuple, dict[str, int | None]] = {}  # grading_key -> grades

    def grades_at(a: datetime, b: datetime) -> dict[str, int | None]:
        f = gather(ix, a, b)
        key = f.grading_key()
        grades = graded.get(key)
        if grades is None:
            grades = {system: grade_window(system, f, not_applicable)[0] for system in GRADERS}
            graded[key] = grades
        return dict(grades)

    points = grading.hourly(at, hours, window, grades_at) if trajectory else []
    # Now, with full evidence
    f_now = gather(ix, at - window, at)
    at_death: dict[str, int | None] = {}
    death_t = data.deceased_time if data.deceased_time is not None else at
    if data.deceased and death_t <= at:
        f_death = gather(ix, death_t - window, death_t)
        at_death = {system: grade_window(system, f_death, not_applicable)[0] for system in GRADERS}
    now: dict[str, GradeResult] = {}
    for system in GRADERS:
        grade, out = grade_window(system, f_now, not_applicable)
        notes = list(out.notes)
        if grade is None and not out.notes:
            notes.append(_why_no_grade(system, f_now))
        g_death = at_death.get(system)
        if g_death is not None and g_death >= K.value("death_during_crs_min_grade"):
            # The system's death row (grade 5) is named, never assigned: causation is judgement.
            g5 = K.RULES[f"{system}.g5.death"].grade
            notes.append(
                f"Death during CRS grade {g_death}; whether CRS caused it (grade {g5}) is a "
                "clinician's judgement."
            )
        now[system] = GradeResult(
            system,
            grade,
            tuple(out.criteria),
            tuple(out.missing),
            at,
            tuple(notes),
            tuple(out.findings),
        )
    worst = {system: grading.worst(points, system) for system in SYSTEMS}
    return CrsEvaluation(now, grading.changes(points), worst, at - timedelta(hours=hours))


def _why_no_grade(system: str, f: Findings) -> str:
    hours = fmt.charted(K.value("window"))
    if system == "astct2019" and not _no_data(f):
        return f"No temperature in the {hours} hours before the assessment and no tocilizumab or steroids: ASTCT needs to know whether there is fever."
    return f"No temperature, blood pressure, oxygen, vasopressor or laboratory data in the {hours} hours before the assessment."


def hypotension_limits(data: PatientData, at: datetime) -> tuple[float, float | None]:
    """The systolic and mean-pressure limits below which pressure counts as hypotension for the
    patient's age at `at` (the adult limits when the birth date is unknown): for the timeline's
    reference lines, from the same rows the grading uses."""
    sbp, mean, _ = _Index(data, at).limits(at)
    return sbp, mean
