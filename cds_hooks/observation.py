"""`org.immunotox.observation-create`: a vital sign or lab being charted, answered only when it
changes something.

A custom hook (reverse-domain name, as CDS Hooks requires of organisation-specific hooks; see
docs/cds-hooks.md for its definition). Context: `patientId`, `encounterId` (optional),
`userId`, `observations` (a Bundle of the Observation(s) being recorded). The record is graded
without and with them (`services.changes.compare`); a card goes out only when a grade rose
(CRS under the primary system, ICANS, an irAE) or a threshold was crossed (fever onset, new
hypotension, a new oxygen requirement, a steep ferritin rise after CAR T cells or a T-cell
engager), with the change in its summary. No change, no card.

Layout only: the change comes from the domain; the helpers of `cds_hooks.cards` are reused as
they are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cds_hooks import cards as C
from cds_hooks.spec import Action, Card, SpecError, Suggestion
from services import fhir_writer
from services.format import plain
from services.knowledge.sources import GRADING_SYSTEMS as SYSTEM_LABELS
from services.timeutil import parse_instant

if TYPE_CHECKING:
    from services.changes import GradeChange, ObservationDelta

log = logging.getLogger("immunotox.cds_hooks")

HOOK = "org.immunotox.observation-create"
# An observation charted this far after the service's clock is taken as charted now (clocks
# drift); further ahead it is refused.
CLOCK_SKEW = timedelta(minutes=10)

# The crossings that are signs of CRS (a steep ferritin rise is the IEC-HS screen's).
_CRS_SIGNS = ("fever", "hypotension", "oxygen")
_UNITS = ((" Cel", " °C"), ("mm[Hg]", "mmHg"), ("ug/", "µg/"), ("[iU]/min", "U/min"))


# --------------------------------------------------------------------------------------------
# The context
# --------------------------------------------------------------------------------------------


def _effective(r: dict[str, Any]) -> datetime | None:
    t = parse_instant(r.get("effectiveDateTime")) or parse_instant(r.get("effectiveInstant"))
    p = r.get("effectivePeriod")
    if t is None and isinstance(p, dict):
        t = parse_instant(p.get("end")) or parse_instant(p.get("start"))
    return t


def read_observations(context: Mapping[str, Any], now: datetime) -> list[dict[str, Any]]:
    """The Observations of `context.observations`, checked: a Bundle, at least one entry, each
    an Observation about `context.patientId` with an effective time not in the future.
    Raises `SpecError` naming the field (a 400)."""
    where = "context.observations"
    bundle = context.get("observations")
    if bundle is None:
        raise SpecError(where, f"required by {HOOK}: a Bundle of the Observation(s) being recorded")
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise SpecError(where, "must be a FHIR Bundle of the Observation(s) being recorded")
    entries = bundle.get("entry")
    if not isinstance(entries, list) or not entries:
        raise SpecError(f"{where}.entry", "must hold at least one Observation")
    pid = context.get("patientId")
    out: list[dict[str, Any]] = []
    for i, e in enumerate(entries):
        path = f"{where}.entry[{i}].resource"
        r = e.get("resource") if isinstance(e, dict) else None
        if not isinstance(r, dict) or r.get("resourceType") != "Observation":
            raise SpecError(path, "must be an Observation")
        subject = r.get("subject")
        ref = subject.get("reference") if isinstance(subject, dict) else None
        if not isinstance(ref, str) or not ref.strip():
            raise SpecError(f"{path}.subject", "required: a reference to the patient")
        if ref.strip().rstrip("/").split("/")[-2:] != ["Patient", pid]:
            raise SpecError(f"{path}.subject", "is not the patient of context.patientId")
        t = _effective(r)
        if t is None:
            raise SpecError(
                path, "needs an effective time (effectiveDateTime, effectiveInstant or Period)"
            )
        if t > now + CLOCK_SKEW:
            raise SpecError(path, "its effective time is in the future")
        out.append(r)
    return out


def assessment_time(observations: list[dict[str, Any]], now: datetime) -> datetime:
    """When to grade: now, or the newest observation when the charting clock runs ahead."""
    times = [t for r in observations if (t := _effective(r)) is not None]
    newest = max(times, default=now)
    return newest if now < newest <= now + CLOCK_SKEW else now


# --------------------------------------------------------------------------------------------
# The card
# --------------------------------------------------------------------------------------------


def _u(text: str) -> str:
    """UCUM units as clinicians write them (°C, mmHg, µg/min)."""
    for ucum, shown in _UNITS:
        text = text.replace(ucum, shown)
    return text


def _g(grade: int | None) -> str:
    return "–" if grade is None else str(grade)


def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:] if s[:1].isupper() and not s[1:2].isupper() else s


def _why(change: GradeChange, new_refs: frozenset[str]) -> list[str]:
    """What raised a CRS grade, in a few words: what was just charted among the criteria's
    evidence, then the evidence of the criteria that set the new grade."""
    new = [ev for c in change.criteria for ev in c.evidence if ev.ref in new_refs]
    top = [ev for c in change.criteria if c.grade == change.after for ev in c.evidence]
    seen: list[str] = []
    for ev in new + top:
        what = _lower_first(_u(ev.what))
        if what not in seen:
            seen.append(what)
    return seen[:2]


def _system(system: str | None) -> str:
    return SYSTEM_LABELS.get(system or "", system or "")


def _summary(delta: ObservationDelta) -> tuple[str, int]:
    """The summary and the card's level (indicator)."""
    a = delta.after
    parts: list[str] = []
    level = 0
    mentioned: set[str] = set()
    crs_change = delta.crs_change
    if crs_change is not None:
        why = _why(crs_change, delta.new_refs)
        parts.append(
            f"CRS grade {_g(crs_change.before)} → {_g(crs_change.after)} "
            f"({_system(crs_change.system)})" + (f": {', '.join(why)}" if why else "")
        )
        mentioned |= {ev.ref for c in crs_change.criteria for ev in c.evidence}
        level = max(level, crs_change.after or 0)
    for ch in delta.grade_changes:
        if ch.what == "crs":
            continue
        if ch.what == "icans":
            why = _why(ch, delta.new_refs)
            parts.append(
                f"ICANS grade {_g(ch.before)} → {_g(ch.after)} ({_system(ch.system)})"
                + (f": {', '.join(why)}" if why else "")
            )
            mentioned |= {ev.ref for c in ch.criteria for ev in c.evidence}
            level = max(level, ch.after or 0)
            continue
        if ch.before is None and ch.after is None:
            parts.append(f"{ch.label}: new, grade not determined")
        else:
            parts.append(f"{ch.label} grade {_g(ch.before)} → {_g(ch.after)}")
        level = max(level, ch.after or 1)
    for x in delta.crossings:
        if all(ev.ref in mentioned for ev in x.evidence):
            continue  # already said by the grade change
        what = x.brief or ", ".join(_lower_first(_u(ev.what)) for ev in x.evidence)
        parts.append(f"{x.label}: {_u(what)}")
        level = max(level, 2 if x.kind in ("hypotension", "oxygen") else 1)
    if crs_change is None and any(x.kind in _CRS_SIGNS for x in delta.crossings):
        primary = a.primary_crs_grade
        if primary:
            parts.append(f"CRS grade {primary} unchanged ({_system(a.crs_primary_system)})")
        else:
            parts.append("not graded as CRS")
    return C._summary(parts), level


def _changes_section(delta: ObservationDelta) -> list[str]:
    out = ["### What changed", ""]
    crs_change = delta.crs_change
    if crs_change is not None:
        out.append(
            f"- **CRS grade {_g(crs_change.before)} → {_g(crs_change.after)}** under "
            f"{C.md(_system(crs_change.system))}, the primary grading system:"
        )
        for c in crs_change.criteria:
            out.append(f"    - Grade {c.grade}: {C.md(c.text)} ({C._cite(c.source)})")
            for ev in c.evidence:
                new = " (**just charted**)" if ev.ref in delta.new_refs else ""
                out.append(f"        - {C.md(_u(ev.what))}, {C._when(ev.time)}{new}")
    for ch in delta.grade_changes:
        if ch.what == "crs":
            continue
        if ch.what == "icans":
            out.append(
                f"- **ICANS grade {_g(ch.before)} → {_g(ch.after)}** ({C.md(_system(ch.system))}):"
            )
            for c in ch.criteria:
                out.append(f"    - Grade {c.grade}: {C.md(c.text)} ({C._cite(c.source)})")
                for ev in c.evidence:
                    new = " (**just charted**)" if ev.ref in delta.new_refs else ""
                    out.append(f"        - {C.md(_u(ev.what))}, {C._when(ev.time)}{new}")
            continue
        out.append(f"- **{C.md(ch.label)}**: grade {_g(ch.before)} → {_g(ch.after)}")
        for ev in ch.evidence:
            out.append(f"    - {C.md(_u(ev.what))}, {C._when(ev.time)}")
    for x in delta.crossings:
        rule = x.rule.removeprefix(f"{x.label}: ")
        out.append(f"- **{C.md(x.label)}** ({C.md(rule)}; {C._cite(x.source)})")
        for ev in x.evidence:
            new = " (**just charted**)" if ev.ref in delta.new_refs else ""
            out.append(f"    - {C.md(_u(ev.what))}, {C._when(ev.time)}{new}")
    out += ["", "| System | Before | Now |", "| --- | --- | --- |"]
    for system, (b, a) in delta.crs_systems.items():
        label = C.md(_system(system))
        if system == delta.after.crs_primary_system:
            label = f"**{label}** (primary)"
        out.append(f"| {label} | {_g(b)} | {_g(a)} |")
    out += [
        "",
        "Before: the record without the observations just charted; now: with them, at the "
        "same time. – : not gradable from the data.",
        "",
    ]
    return out


def _crossing_note(delta: ObservationDelta) -> list[str]:
    a = delta.after
    out: list[str] = []
    hs = a.icans.iec_hs if a.icans is not None else None
    if hs and any(x.kind == "ferritin" for x in delta.crossings):
        out += [f"{C.md(hs['text'])}. {C.md(hs['note'])}", ""]
    if not any(x.kind in _CRS_SIGNS for x in delta.crossings):
        return out
    return out + _not_crs_note(delta)


def _not_crs_note(delta: ObservationDelta) -> list[str]:
    a = delta.after
    r = a.crs.get(a.crs_primary_system)
    if delta.crs_change is not None or r is None or (a.primary_crs_grade or 0) >= 1:
        return []
    att = a.crs_attribution
    if att is not None and not att.applies:
        return [f"Not graded as CRS: {C.md(att.reason)}", ""]
    notes = [C.md(n) for n in r.notes]
    return [
        "Not graded as CRS"
        + (f": {' '.join(notes)}" if notes else ".")
        + " Consider other causes (infection, bleeding, drugs).",
        "",
    ]


def _charted(delta: ObservationDelta) -> list[str]:
    if not delta.charted:
        return []
    out = ["### Just charted", ""]
    for ev in delta.charted:
        out.append(f"- {C.md(_u(ev.what))}, {C._when(ev.time)}")
    return [*out, ""]


def _offered(resource: dict[str, Any] | None) -> dict[str, Any] | None:
    """The resource if it passes the FHIR R4 model; else None, and the log says where it failed
    (paths and error types: never values or identifiers)."""
    if resource is None:
        return None
    problems = fhir_writer.validation_problems(resource)
    if problems:
        log.warning(
            "write-back %s not offered: failed FHIR R4 validation (%s)",
            resource.get("resourceType"),
            "; ".join(problems[:5]),
        )
        return None
    return resource


def write_back(delta: ObservationDelta, cc: C.CardContext) -> list[Suggestion]:
    """Suggestions recording a new CRS or ICANS grade: a Condition (ICD-10-CM D89.83x or
    G92.0x, onset, evidence) and an AdverseEvent naming the suspected drug; each only once it
    validates."""
    a = delta.after
    out: list[Suggestion] = []
    for change in delta.grade_changes:
        if change.what not in ("crs", "icans") or not change.after:
            continue
        if change.what == "crs" and not a.crs_applies:
            continue
        if change.what == "icans" and (a.icans is None or not a.icans.applies):
            continue
        out += _write_back_one(change.what, change, a, cc)
    return out


def _write_back_one(kind: str, change: GradeChange, a: Any, cc: C.CardContext) -> list[Suggestion]:
    grade = change.after or 0
    label = change.label
    refs = [ev.ref for c in change.criteria for ev in c.evidence]
    out: list[Suggestion] = []
    condition = _offered(
        fhir_writer.crs_condition(a, grade, refs, cc.patient_id, cc.encounter_id, kind=kind)
    )
    if condition is not None:
        code = condition["code"]["coding"][0]["code"]
        out.append(
            Suggestion(
                label=plain(f"Record {label} grade {grade} ({code}) on the problem list", 80),
                actions=(
                    Action(
                        "create",
                        plain(
                            f"Add a provisional Condition: {condition['code']['text']}, with "
                            "the observations it rests on"
                        ),
                        resource=condition,
                    ),
                ),
            )
        )
    event = _offered(fhir_writer.adverse_event(a, grade, cc.patient_id, cc.encounter_id, kind=kind))
    if event is not None:
        drug = event["suspectEntity"][0]["instance"]["display"]
        out.append(
            Suggestion(
                label=plain(
                    f"Record an adverse event: {label} grade {grade}, suspected {drug}", 80
                ),
                actions=(
                    Action(
                        "create",
                        plain(f"Add an AdverseEvent: {event['event']['text']}, suspected {drug}"),
                        resource=event,
                    ),
                ),
            )
        )
    return out


def observation_card(delta: ObservationDelta, cc: C.CardContext) -> Card | None:
    """The one card for a change, or None when nothing changed (or the patient is not exposed
    to immunotherapy, or the record says the patient has died)."""
    a = delta.after
    if not delta.changed or a.deceased or not C._exposed(a):
        return None
    summary, level = _summary(delta)
    recs = list(a.recommendations) if delta.grade_changes else []
    detail = [
        *_changes_section(delta),
        *_crossing_note(delta),
        *_charted(delta),
        C._exposure_line(a),
        "",
    ]
    if delta.crs_change is not None:
        detail += [C._crs_line(a) or "", ""]
    if recs:
        shown = [d for d in C.decisions(recs) if d.lead.when is None][: C.DETAIL_ACTIONS]
        detail += C.urgent_actions(a, shown)
        detail += [
            "Orders for this plan are offered on the patient's chart (patient-view) and checked "
            "at order entry; open the full assessment for the trends.",
            "",
        ]
    suggestions = write_back(delta, cc)
    if suggestions:
        detail += [
            "The suggestions record the new grade: a **provisional** Condition (ICD-10-CM, onset "
            "at the episode's onset, the observations as evidence) and an AdverseEvent naming "
            "the suspected therapy. Confirm the grade before accepting.",
            "",
        ]
    detail += C._unavailable_section(cc)
    detail += C._footer(a)
    topic = "crs" if delta.crs_change is not None or delta.crossings else "irae"
    return Card(
        summary=summary,
        indicator=C._indicator(level) if level else "info",
        source=C._source(
            topic,
            "Cytokine release syndrome" if topic == "crs" else "Immune-related adverse event",
            "astct2019" if topic == "crs" else "asco2021",
        ),
        detail="\n".join(detail),
        suggestions=tuple(suggestions),
        selection_behavior="any" if suggestions else None,
        links=(C._smart_link(a, cc),),
        kind="observation-change",
    )


def observation_cards(delta: ObservationDelta, cc: C.CardContext) -> list[Card]:
    card = observation_card(delta, cc)
    return [card] if card is not None else []
