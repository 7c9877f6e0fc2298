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

# The most urgent plan lines written out (the change and its grades come first on this card).
ACTIONS = 3
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
        _check_quantities(r, path)
        out.append(r)
    return out


def _check_quantities(r: dict[str, Any], path: str) -> None:
    """A value the nurse charted that is not a number (FHIR decimal) is named, not dropped
    without a word: the grade would silently leave it out."""
    parts = [(path, r)] + [
        (f"{path}.component[{i}]", c)
        for i, c in enumerate(r.get("component") or [])
        if isinstance(c, dict)
    ]
    for where, part in parts:
        q = part.get("valueQuantity")
        if q is None:
            continue
        if not isinstance(q, dict):
            raise SpecError(f"{where}.valueQuantity", "must be a FHIR Quantity")
        v = q.get("value")
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise SpecError(f"{where}.valueQuantity.value", "must be a number (FHIR decimal)")


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


def _cite(source: str) -> str:
    """The sources of a row by name, each linked once ("ASTCT 2019 CRS consensus"): the row's
    locators and notes are in the app and in docs/clinical-rules.md, not on a card."""
    from services.knowledge.sources import SOURCES

    out: list[str] = []
    for part in source.split(";"):
        src = SOURCES.get(part.partition(":")[0].strip())
        if src is None or src.id == "immunotox":
            continue
        label = C.md(src.label)
        cite = f"[{label}]({src.url})" if src.url else label
        if cite not in out:
            out.append(cite)
    return "; ".join(out) or "immunotox"


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


def _changes_section(delta: ObservationDelta) -> tuple[list[str], set[str]]:
    """The section, and the references of the evidence it lists. Each criterion and threshold
    on one line with its evidence; their sources once, at the end of the section."""
    out = ["### What changed", ""]
    shown: set[str] = set()
    sources: list[str] = []

    def evidence(evs) -> str:
        parts = []
        for ev in evs:
            # what was just charted is marked so, without its time (it is now)
            when = " (**just charted**)" if ev.ref in delta.new_refs else f", {C._when(ev.time)}"
            parts.append(f"{_lower_first(C.md(_u(ev.what)))}{when}")
            shown.add(ev.ref)
        return "; ".join(parts)

    def criteria(change: GradeChange) -> None:
        for c in change.criteria:
            sources.append(c.source)
            ev = evidence(c.evidence)
            head = f"Grade {c.grade}, {C.md(c.text)}" if c.grade else C.md(c.text)  # 0: a rule
            out.append(f"    - {head}" + (f": {ev}" if ev else ""))

    crs_change = delta.crs_change
    if crs_change is not None:
        out.append(
            f"- **CRS grade {_g(crs_change.before)} → {_g(crs_change.after)}** "
            f"({C.md(_system(crs_change.system))}, primary):"
        )
        criteria(crs_change)
    for ch in delta.grade_changes:
        if ch.what == "crs":
            continue
        if ch.what == "icans":
            out.append(
                f"- **ICANS grade {_g(ch.before)} → {_g(ch.after)}** ({C.md(_system(ch.system))}):"
            )
            criteria(ch)
            continue
        ev = evidence(ch.evidence)
        out.append(
            f"- **{C.md(ch.label)}**: grade {_g(ch.before)} → {_g(ch.after)}"
            + (f": {ev}" if ev else "")
        )
    covered: list[str] = []
    for x in delta.crossings:
        rest = [e for e in x.evidence if e.ref not in shown]
        if not rest:
            # its evidence is listed under the grade it raised: named, not repeated
            covered.append(f"**{C.md(x.label)}**")
            continue
        sources.append(x.source)
        rule = x.rule.removeprefix(f"{x.label}: ")
        out.append(f"- **{C.md(x.label)}** ({C.md(rule)}): {evidence(rest)}")
    if covered:
        out.append(f"- Thresholds crossed: {', '.join(covered)}")
    cited = _cite("; ".join(sources)) if sources else ""
    if cited:
        out += ["", f"Sources: {cited}."]
    crs_quiet = (
        crs_change is None
        and not any(x.kind in _CRS_SIGNS for x in delta.crossings)
        and not any(b or a for b, a in delta.crs_systems.values())
    )
    # "–" also stands for an ICANS grade not gradable before (no neurologic data)
    ungradable = any(
        ch.what in ("crs", "icans") and ch.before is None for ch in delta.grade_changes
    )
    legend = ["– : not gradable from the data.", ""]
    if crs_quiet:
        # no CRS before or now and nothing of CRS just charted (an ICE score, a ferritin): a
        # table of zeros would only take the reader's time
        return [*out, "", *(legend if ungradable else [])], shown
    out += ["", "| CRS | Before charting | Now |", "| --- | --- | --- |"]
    for system, (b, a) in delta.crs_systems.items():
        label = C.md(_system(system))
        if system == delta.after.crs_primary_system:
            label = f"**{label}** (primary)"
        out.append(f"| {label} | {_g(b)} | {_g(a)} |")
        ungradable = ungradable or b is None or a is None
    out += ["", *(legend if ungradable else [])]
    return out, shown


def _crossing_note(delta: ObservationDelta) -> list[str]:
    a = delta.after
    out: list[str] = []
    hs = a.icans.iec_hs if a.icans is not None else None
    if hs and any(x.kind == "ferritin" for x in delta.crossings):
        out += [f"{C.md(hs['text'])}.", ""]  # its note is in the app (one disclaimer a card)
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


def _charted(delta: ObservationDelta, shown: set[str]) -> list[str]:
    """What was just charted and is not listed above already."""
    rest = [ev for ev in delta.charted if ev.ref not in shown]
    if not rest:
        return []
    out = ["### Also charted", ""] if shown else ["### Just charted", ""]
    for ev in rest:
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
    changes, shown = _changes_section(delta)
    detail = [
        *changes,
        *_crossing_note(delta),
        *_charted(delta, shown),
        C._exposure_line(a),
        "",
    ]
    if recs:
        decisions = [d for d in C.decisions(recs) if d.lead.when is None][:ACTIONS]
        detail += C.urgent_actions(a, decisions)
    suggestions = write_back(delta, cc)
    if suggestions:
        detail += [
            "The suggestions record the grade as **provisional**: confirm it first.",
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
