"""What has already been given: the tocilizumab doses of the current CRS episode, the current
corticosteroid course, and checkpoint-inhibitor orders still pending. Read once per assessment;
the plan (`management`), the order checks, the cards and the page all use the same `Courses`.

Every limit, interval and threshold is a row of `knowledge.courses` (or `knowledge.codes` for
the steroid equivalences); this module only applies them to one patient's data.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from services import format as fmt
from services.knowledge import codes
from services.knowledge import courses as K
from services.knowledge import irae as KI
from services.model import (
    Courses,
    DrugEvent,
    Exposure,
    GivenDose,
    IraeFinding,
    PatientData,
    PendingOrder,
    SteroidCourse,
    TocilizumabCourse,
    TrajectoryPoint,
    Weight,
)

# Routes that are not systemic: a cream or an inhaler is not a corticosteroid course.
_NOT_SYSTEMIC = re.compile(
    r"topical|cutaneous|skin|inhal|nasal|ophthalm|otic|\beye\b|\bear\b|rectal|enema", re.I
)
_ACTIVE_ORDER = frozenset({"active", "on-hold"})


def build(
    data: PatientData,
    at: datetime,
    weight: Weight | None,
    trajectory: list[TrajectoryPoint],
    crs_grade: int | None,
    found: list[IraeFinding],
    expos: list[Exposure] | None = None,
) -> Courses:
    return Courses(
        tocilizumab=tocilizumab(data, at, trajectory, crs_grade),
        corticosteroid=corticosteroid(data, at, weight, found, _for_irae(expos)),
        checkpoint_orders=pending_checkpoint_orders(data, at),
    )


def _for_irae(expos: list[Exposure] | None) -> bool:
    """Whether corticosteroids now are for a checkpoint-inhibitor irAE (ASCO's taper and resume
    rules) rather than CRS after CAR T cells or a T-cell engager given more recently."""
    if expos is None:
        return True
    ici = [e.last_given for e in expos if e.drug_class == "checkpoint_inhibitor"]
    effector = [e.last_given for e in expos if e.drug_class in ("cellular_therapy", "bispecific")]
    if not ici:
        return not effector
    if not effector:
        return True
    last_ici = max((t for t in ici if t), default=None)
    last_eff = max((t for t in effector if t), default=None)
    return last_eff is None or (last_ici is not None and last_ici > last_eff)


def when(t: datetime) -> str:
    """ "03:00 (20 Nov)": the hour first, as a clinician reads a course."""
    return f"{t:%H:%M} ({t.day} {t:%b})"


# --------------------------------------------------------------------------------------------
# Tocilizumab
# --------------------------------------------------------------------------------------------


def _grade_at(trajectory: list[TrajectoryPoint], t: datetime) -> int | None:
    """The highest grade of any system at the last trajectory point at or before `t`."""
    best: TrajectoryPoint | None = None
    for p in trajectory:
        if p.time <= t and (best is None or p.time >= best.time):
            best = p
    if best is None:
        return None
    grades = [g for g in best.grades.values() if g is not None]
    return max(grades) if grades else None


def tocilizumab(
    data: PatientData,
    at: datetime,
    trajectory: list[TrajectoryPoint],
    grade_now: int | None,
    regimen: str = "tocilizumab.label",
) -> TocilizumabCourse | None:
    """The doses of the current CRS episode (None: no dose in the episode window). An active or
    completed order with no administration charted at or after it counts as a dose at the time
    it was ordered ("ordered at HH:MM, not yet charted given"): the interval runs from it."""
    admins = [
        d
        for d in data.drugs
        if d.drug == "tocilizumab"
        and d.kind == "administration"
        and d.time is not None
        and d.time <= at
    ]
    given = sorted(
        [*admins, *_uncharted_orders(data, at, admins)],
        key=lambda d: d.time,  # type: ignore[arg-type, return-value]
    )
    gap = timedelta(days=K.TOCILIZUMAB_EPISODE_GAP_DAYS[0])
    if not given or at - given[-1].time > gap:  # type: ignore[operator]
        return None
    episode = [given[-1]]
    for d in reversed(given[:-1]):
        if episode[0].time - d.time > gap:  # type: ignore[operator]
            break
        episode.insert(0, d)
    rule = K.TOCILIZUMAB_COURSE[regimen]
    doses = tuple(
        GivenDose(
            d.time,  # type: ignore[arg-type]
            d.drug,
            d.dose_mg,
            d.ref,
            d.dose_note,
            ordered=d.kind == "order",
        )
        for d in episode
    )
    last = doses[-1].time
    n = len(doses)
    next_nb = last + timedelta(hours=rule.min_interval_h) if n < rule.max_doses else None
    grade_then = _grade_at(trajectory, last)
    window_h, window_src = K.TOCILIZUMAB_RESPONSE_WINDOW_H
    how = "ordered at {}, not yet charted given" if doses[-1].ordered else "given at {}"
    head = f"Tocilizumab dose {n} of {rule.max_doses} {how.format(when(last))}"
    sources = [rule.source, K.TOCILIZUMAB_EPISODE_GAP_DAYS[1]]
    if any(d.ordered for d in doses):
        sources.append(K.TOCILIZUMAB_ORDER_AS_DOSE[1])
    if data.deceased and (data.deceased_time is None or data.deceased_time <= at):
        status = "deceased"
        died = f" at {when(data.deceased_time)}" if data.deceased_time else ""
        text = f"{head}; the patient died{died}: no further dose"
    elif n >= rule.max_doses:
        status = "max_reached"
        text = (
            f"{head}: no more tocilizumab, the maximum of {rule.max_doses} doses for one CRS "
            "episode is reached; escalate with corticosteroids"
        )
        sources.append(window_src)
    elif next_nb is not None and at < next_nb:
        status = "wait"
        text = (
            f"{head}; the next not before {when(next_nb)} "
            f"(at least {fmt.charted(rule.min_interval_h)} hours apart)"
        )
    elif grade_now == 0 and (next_nb is None or at >= next_nb):
        status = "improving"
        text = (
            f"{head}; no CRS graded now: no further dose (repeat doses are for CRS without "
            "clinical improvement)"
        )
    elif grade_then is not None and grade_now is not None and grade_now < grade_then:
        status = "improving"
        text = (
            f"{head}; CRS has improved since (grade {grade_then} then, {grade_now} now): no "
            "repeat dose while improving (repeat doses are for no clinical improvement)"
        )
    elif (
        grade_then is not None
        and grade_now is not None
        and at - last >= timedelta(hours=window_h)
        and grade_now >= grade_then
    ):
        status = "no_improvement"
        text = (
            f"{head}; no improvement {fmt.charted(window_h)} hours later (grade {grade_then} then, "
            f"{grade_now} now): a further dose is allowed (at most {rule.max_doses} doses, at "
            f"least {fmt.charted(rule.min_interval_h)} hours apart) together with corticosteroids"
        )
        sources.append(window_src)
    else:
        status = "due"
        text = (
            f"{head}; a further dose is allowed from {when(next_nb or last)} if there is no "
            f"clinical improvement (at most {rule.max_doses} doses, at least "
            f"{fmt.charted(rule.min_interval_h)} hours apart)"
        )
    return TocilizumabCourse(
        doses=doses,
        max_doses=rule.max_doses,
        min_interval_h=rule.min_interval_h,
        next_not_before=next_nb,
        status=status,
        text=text,
        grade_at_last_dose=grade_then,
        grade_now=grade_now,
        sources=tuple(sources),
    )


def _uncharted_orders(data: PatientData, at: datetime, admins: list[DrugEvent]) -> list[DrugEvent]:
    """Tocilizumab orders (active or completed, ordered by now) that no administration charted
    at or after the order answers: each administration answers at most one order, the earliest
    open one before it (a dose charted up to the tabled slack before the order also answers it,
    for an order entered after the fact)."""
    statuses = K.TOCILIZUMAB_ORDER_AS_DOSE[0]
    slack = timedelta(hours=K.TOCILIZUMAB_ORDER_CHARTING_SLACK_H[0])
    orders = sorted(
        (
            d
            for d in data.drugs
            if d.drug == "tocilizumab"
            and d.kind == "order"
            and d.status in statuses
            and (d.start or d.time) is not None
            and (d.start or d.time) <= at  # type: ignore[operator]
        ),
        key=lambda d: d.start or d.time,  # type: ignore[arg-type, return-value]
    )
    open_orders: list[DrugEvent] = []
    free = sorted(admins, key=lambda d: d.time)  # type: ignore[arg-type, return-value]
    for o in orders:
        t = o.start or o.time
        match = next((a for a in free if a.time >= t - slack), None)  # type: ignore[operator]
        if match is None:
            open_orders.append(
                DrugEvent(
                    drug=o.drug,
                    drug_class=o.drug_class,
                    kind="order",
                    time=t,
                    end=None,
                    ref=o.ref,
                    status=o.status,
                    dose_mg=o.dose_mg,
                    dose_note=o.dose_note,
                )
            )
        else:
            free.remove(match)
    return open_orders


# --------------------------------------------------------------------------------------------
# Corticosteroids
# --------------------------------------------------------------------------------------------


def _factor(drug: str) -> float:
    concept = codes.drug_by_name(drug)
    return float(concept.extra.get("pred_eq", 1.0)) if concept else 1.0


def _systemic(d: DrugEvent) -> bool:
    return d.drug_class == "corticosteroid" and not (d.route and _NOT_SYSTEMIC.search(d.route))


def _order_span(o: DrugEvent, orders: list[DrugEvent], at: datetime) -> tuple[date, date] | None:
    start = o.start or o.time
    if start is None or start > at:
        return None
    end = o.end
    if end is None:
        later = [
            (x.start or x.time)
            for x in orders
            if x.drug == o.drug and (x.start or x.time) and (x.start or x.time) > start  # type: ignore[operator]
        ]
        end = min(later) - timedelta(days=1) if later else None  # type: ignore[type-var]
    if end is None:
        end = at if o.status in _ACTIVE_ORDER else start
    first = max(start.date(), (at - timedelta(days=K.STEROID_COURSE_LOOKBACK_DAYS[0])).date())
    last = min(end, at).date()
    return (first, last) if first <= last else None


def _fill(
    o: DrugEvent,
    orders: list[DrugEvent],
    at: datetime,
    covered: set[date],
    daily: dict[date, float],
    by_drug: dict[date, dict[str, float]],
    unknown_days: set[date],
) -> set[date]:
    """Add an order's (or statement's) daily dose on the days it spans that no higher-priority
    record covers; the days it filled."""
    span = _order_span(o, [x for x in orders if x.kind == o.kind], at)
    if span is None:
        return set()
    per_day = None if o.dose_mg is None else o.dose_mg * (o.doses_per_day or 1.0)
    filled: set[date] = set()
    day = span[0]
    while day <= span[1]:
        if day not in covered:
            filled.add(day)
            if per_day is None:
                unknown_days.add(day)
                daily.setdefault(day, 0.0)
            else:
                daily[day] = daily.get(day, 0.0) + per_day * _factor(o.drug)
                per = by_drug.setdefault(day, {})
                per[o.drug] = per.get(o.drug, 0.0) + per_day * _factor(o.drug)
        day += timedelta(days=1)
    return filled


def _taper_after(peak: float, days: int, every: int) -> float:
    """The daily dose after `days` days of the ASCO taper from `peak`, a step every `every`
    days (the first step on day 1)."""
    dose = peak
    steps = 1 + (days - 1) // every if days >= 1 else 0
    for _ in range(steps):
        step = next(s for s in K.TAPER_STEPS if dose > s.above_mg)
        dose = max(0.0, dose - step.step_mg)
        if dose <= 0:
            break
    return dose


def _steps_to_zero(dose: float) -> int:
    n = 0
    while dose > 0:
        step = next(s for s in K.TAPER_STEPS if dose > s.above_mg)
        dose = max(0.0, dose - step.step_mg)
        n += 1
    return n


def corticosteroid(
    data: PatientData,
    at: datetime,
    weight: Weight | None,
    found: list[IraeFinding],
    for_irae: bool = True,
) -> SteroidCourse | None:
    """The current systemic corticosteroid course, from administrations (each day given) and
    orders (each day they cover without a recorded administration). None: no course."""
    admins = [
        d
        for d in data.drugs
        if _systemic(d) and d.kind == "administration" and d.time is not None and d.time <= at
    ]
    # Orders and statements of use both cover the days they span (a statement is how an
    # outpatient course often arrives); administrations take precedence on their days.
    orders = [d for d in data.drugs if _systemic(d) and d.kind in ("order", "statement")]
    daily: dict[date, float] = {}
    by_drug: dict[date, dict[str, float]] = {}
    unknown_days: set[date] = set()
    for d in admins:
        day = d.time.date()  # type: ignore[union-attr]
        if d.dose_mg is None:
            unknown_days.add(day)
            daily.setdefault(day, 0.0)
            continue
        daily[day] = daily.get(day, 0.0) + d.dose_mg * _factor(d.drug)
        per = by_drug.setdefault(day, {})
        per[d.drug] = per.get(d.drug, 0.0) + d.dose_mg * _factor(d.drug)
    # Administrations first; then orders on the days without one; then statements on the days
    # with neither (an order and a statement of the same course are not counted twice).
    covered = set(daily)
    for kind in ("order", "statement"):
        level_days: set[date] = set()
        for o in (x for x in orders if x.kind == kind):
            level_days |= _fill(o, orders, at, covered, daily, by_drug, unknown_days)
        covered |= level_days
    if not daily:
        return None

    gap = K.STEROID_COURSE_GAP_DAYS[0]
    days = sorted(daily)
    if (at.date() - days[-1]).days > gap:
        return None
    course_days = [days[-1]]  # newest first while walking back, then put in order
    for day in reversed(days[:-1]):
        if (course_days[-1] - day).days > gap:
            break
        course_days.append(day)
    course_days.reverse()
    known = [day for day in course_days if day not in unknown_days]
    start_day = course_days[0]
    events = sorted(
        (d for d in admins if d.time.date() >= start_day),  # type: ignore[union-attr]
        key=lambda d: d.time,  # type: ignore[arg-type, return-value]
    )
    active = [
        o
        for o in orders
        if o.status in _ACTIVE_ORDER and (o.start or o.time) and (o.start or o.time) <= at  # type: ignore[operator]
    ]
    latest = events[-1] if events else None
    drug = latest.drug if latest else (active[-1].drug if active else orders[-1].drug)
    # The current daily dose: what was given in the last 24 hours (doses every 6 hours and a
    # dose once a day read alike); without an administration in that time, the active orders.
    recent = [d for d in events if d.time > at - timedelta(hours=24)]  # type: ignore[operator]
    current: float | None
    if recent:
        unread = any(d.dose_mg is None for d in recent)
        current = None if unread else sum(d.dose_mg * _factor(d.drug) for d in recent)  # type: ignore[operator]
    elif active:
        # Active orders, else active statements (never both: they describe the same course).
        level = [o for o in active if o.kind == "order"] or active
        per = [o.dose_mg * (o.doses_per_day or 1.0) * _factor(o.drug) for o in level if o.dose_mg]
        current = sum(per) if per and len(per) == len(level) else None
    elif at.date() in known:
        current = daily[at.date()]  # an order or statement covering today
    else:
        current = 0.0  # nothing given in the last 24 hours and nothing ordered now
    today = at.date()
    before = [d for d in known if d < today]
    cur_vals = [current] if current is not None else []
    # The highest daily dose, leaving out days on which one drug replaced another (both are on
    # the record that day, a conversion rather than a higher dose).
    single = [d for d in before if len(by_drug.get(d, {})) <= 1]
    peak = max([daily[d] for d in single] + cur_vals, default=0.0)
    # The taper is read on the current drug: a switch from IV methylprednisolone to oral
    # prednisone is a conversion (ASCO 2021, 12.4), not a taper step.
    drug_daily = {d: by_drug[d][drug] for d in before if drug in by_drug.get(d, {})}
    taper_peak = max([*drug_daily.values(), *cur_vals], default=0.0)
    start = datetime.combine(start_day, datetime.min.time(), tzinfo=at.tzinfo)
    if events and events[0].time.date() == start_day:  # type: ignore[union-attr]
        start = events[0].time  # type: ignore[assignment]
    day_of_course = (at.date() - start_day).days + 1
    sources: list[str] = ["steroid_equivalence: Table 1"]

    # Taper: the first day below the peak after the last day at the peak.
    taper_start_day: date | None = None
    if current is not None and taper_peak > 0 and current < taper_peak - 1e-9:
        last_peak = max(d for d, v in drug_daily.items() if v >= taper_peak - 1e-9)
        taper_start_day = next(
            (d for d, v in sorted(drug_daily.items()) if d > last_peak and v < taper_peak - 1e-9),
            today,
        )
    lo_w, hi_w, taper_src = K.TAPER_WEEKS
    now_text = ""
    if current is not None:
        now_text = (
            f", {fmt.charted(current)} mg/day over the last 24 hours"
            if current > 0
            else ", none in the last 24 hours"
        )
    lines = [
        f"{drug.capitalize()}, day {day_of_course} of the course (started {start.day} "
        f"{start:%b}); highest {fmt.charted(peak)} mg/day prednisone-equivalent{now_text}"
    ]
    if unknown_days:
        lines.append(
            f"{len(unknown_days)} day(s) with a dose that could not be read in mg: not counted"
        )
    taper_low: float | None = None
    if not for_irae:
        taper_start_day = None if not current else taper_start_day
        lines.append(K.EFFECTOR_TAPER[0])
        sources.append(K.EFFECTOR_TAPER[1])
    elif current == 0:
        taper_start_day = None
    elif taper_start_day is not None and current is not None:
        sources.append(taper_src)
        k = (at.date() - taper_start_day).days + 1
        fastest_every = min(s.every_days_fastest for s in K.TAPER_STEPS)
        slowest_every = max(s.every_days_slowest for s in K.TAPER_STEPS)
        floor_today = _taper_after(taper_peak, k, fastest_every)
        ceiling_today = _taper_after(taper_peak, k, slowest_every)
        steps_left = _steps_to_zero(current)
        lines.append(
            f"Tapering since {taper_start_day.day} {taper_start_day:%b} (day {k}); the plan tapers "
            f"over {lo_w}-{hi_w} weeks"
        )
        step_text = "; ".join(s.source.partition("(")[2].rstrip(")") for s in K.TAPER_STEPS)
        if current < floor_today - 1e-9:
            lines.append(
                f"Faster than the taper schedule ({step_text}): at least {fmt.charted(floor_today)} "
                "mg/day expected today; watch for a flare"
            )
        elif current > ceiling_today + 1e-9:
            lines.append(
                f"Slower than the taper schedule ({step_text}): {fmt.charted(ceiling_today)} mg/day or "
                "less expected by today"
            )
        else:
            lines.append(f"On the taper schedule ({step_text})")
        if steps_left:
            lines.append(
                f"Off corticosteroids in {steps_left * fastest_every}-{steps_left * slowest_every} "
                "days at that pace"
            )
        step = next((s for s in K.TAPER_STEPS if current > s.above_mg), K.TAPER_STEPS[-1])
        taper_low = max(0.0, current - step.step_mg)
        sources.extend(s.source for s in K.TAPER_STEPS)
    elif current is not None and current > 0:
        lines.append(
            f"No taper yet: taper over {lo_w}-{hi_w} weeks once the irAE is grade 1 or less"
        )
        sources.append(taper_src)

    # Resuming the checkpoint inhibitor.
    limit, resume_src, other_src = K.RESUME_MAX_MG_PER_DAY
    if not for_irae:
        resume_met = None
        resume_text = "Not applicable: no checkpoint inhibitor behind this course"
    elif current is None:
        resume_met = None
        resume_text = (
            f"Current daily dose not readable: resuming needs ≤{fmt.charted(limit)} mg/day "
            "prednisone-equivalent"
        )
    elif current <= limit:
        resume_met = True
        resume_text = (
            f"{fmt.charted(current)} mg/day prednisone-equivalent: at or below {fmt.charted(limit)} mg/day, where "
            "ASCO allows resuming once the irAE is grade 1 or less (NCCN: below "
            f"{fmt.charted(limit)} mg; SITC: off corticosteroids)"
        )
    else:
        resume_met = False
        resume_text = (
            f"{fmt.charted(current)} mg/day prednisone-equivalent: resume only at ≤{fmt.charted(limit)} mg/day "
            f"(ASCO; NCCN below {fmt.charted(limit)} mg, SITC off corticosteroids) with the irAE grade 1 "
            "or less"
        )
    stopped = [f for f in found if f.checkpoint_inhibitor_action == "discontinue"]
    if for_irae and stopped:
        # Permanent discontinuation: no resume criterion to show, met or not.
        f = max(stopped, key=lambda x: x.grade or 0)
        resume_met = None
        resume_text = KI.NO_RESUME[0].format(
            label=f.label.lower(), grade=f.grade if f.grade is not None else "(any)"
        )
        sources.append(KI.NO_RESUME[1])
    if for_irae:
        sources += [resume_src, *(x.strip() for x in other_src.split(";"))]

    # Refractory: high-dose and not tapering; the interval from the organ's row.
    refractory_text = None
    per_kg, per_kg_src = K.HIGH_DOSE_MG_PER_KG
    high = current is not None and (
        current >= per_kg * weight.kg if weight else current >= K.HIGH_DOSE_MG_PER_DAY_NO_WEIGHT[0]
    )
    if high and taper_start_day is None and for_irae:
        active_irae = [f for f in found if f.grade is None or f.grade >= 2]
        if active_irae:
            f = max(active_irae, key=lambda x: x.grade or 0)
            rule = K.refractory_rule(f.kind)
            by = start + timedelta(days=rule.days)
            label = KI.KINDS.get(f.kind, f.label)
            if at >= by:
                refractory_text = (
                    f"High-dose corticosteroid for {day_of_course} days: if {label.lower()} is "
                    f"not improving after {fmt.charted(rule.days)} day(s), {rule.action}"
                )
            else:
                refractory_text = (
                    f"If {label.lower()} is not better by {when(by)} ({fmt.charted(rule.days)} day(s) of "
                    f"high-dose corticosteroid), {rule.action}"
                )
            sources += [rule.source, per_kg_src]

    # Cumulative exposure for PJP prophylaxis.
    ge20 = sum(1 for d in known if daily[d] >= K.PJP_RULES[0].mg_per_day)
    counts = []
    due = False
    for r in K.PJP_RULES:
        n = sum(
            1
            for d in known
            if (daily[d] >= r.mg_per_day if r.inclusive else daily[d] > r.mg_per_day)
        )
        counts.append((r, n))
        due = due or n >= r.days
    gt30 = counts[1][1] if len(counts) > 1 else 0
    parts = [
        f"{n} day(s) at {'≥' if r.inclusive else '>'}{fmt.charted(r.mg_per_day)} mg/day"
        for r, n in counts
    ]
    rule_text = " or ".join(
        f"{'≥' if r.inclusive else '>'}{fmt.charted(r.mg_per_day)} mg/day for ≥{r.days} days"
        for r in K.PJP_RULES
    )
    pjp_text = (
        f"{' and '.join(parts)} prednisone-equivalent in this course; PJP prophylaxis is "
        f"suggested at {rule_text}" + (": reached" if due else ": not reached yet")
    )
    sources.append(K.PJP_SOURCE)
    doses = tuple(
        GivenDose(d.time, d.drug, d.dose_mg, d.ref, d.dose_note)  # type: ignore[arg-type]
        for d in events
    )
    return SteroidCourse(
        drug=drug,
        last_dose_mg=latest.dose_mg if latest else (active[-1].dose_mg if active else None),
        last_dose_time=latest.time if latest else None,
        pred_eq_per_day=None if current is None else round(current, 2),
        start=start,
        day_of_course=day_of_course,
        peak_pred_eq_per_day=round(peak, 2),
        taper_start=(
            datetime.combine(taper_start_day, datetime.min.time(), tzinfo=at.tzinfo)
            if taper_start_day
            else None
        ),
        taper_lines=tuple(lines),
        resume_met=resume_met,
        resume_text=resume_text,
        refractory_text=refractory_text,
        days_at_or_above_20=ge20,
        days_above_30=gt30,
        pjp_due=due,
        pjp_text=pjp_text,
        daily=tuple((d.isoformat(), round(daily[d], 2)) for d in course_days),
        doses=doses,
        sources=tuple(dict.fromkeys(sources)),
        taper_low=taper_low,
    )


# --------------------------------------------------------------------------------------------
# Checkpoint-inhibitor orders not yet given
# --------------------------------------------------------------------------------------------


def pending_checkpoint_orders(data: PatientData, at: datetime) -> tuple[PendingOrder, ...]:
    out: list[PendingOrder] = []
    for d in data.drugs:
        if d.drug_class != "checkpoint_inhibitor":
            continue
        if d.kind == "order" and d.status in _ACTIVE_ORDER:
            t = d.start or d.time
            kind = "scheduled dose" if t is not None and t > at else "active order"
            out.append(PendingOrder(d.drug, d.ref, kind, t))
        elif d.kind == "administration" and d.time is not None and d.time > at:
            out.append(PendingOrder(d.drug, d.ref, "scheduled dose", d.time))
    for d in data.drafts:
        if d.drug_class == "checkpoint_inhibitor":
            out.append(PendingOrder(d.drug, d.ref, "draft order", d.time))
    return tuple(out)
