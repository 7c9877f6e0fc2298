"""Card builders: pure functions from an `Assessment` (and the call's context) to cards.

No clinical numbers live here: grades, doses, caps and actions come from the `Assessment`, the
order checks from `services.order_check`, citations from `services.knowledge`. What is written
here is layout: which card, which indicator for which grade, and the Markdown around the data.

Every string that may have come from FHIR data goes through `md()` (Markdown detail) or
`plain()` (summary, labels) so a patient record cannot inject markup into a card.

https://cds-hooks.hl7.org/2.0/#card-attributes
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cds_hooks.spec import SUMMARY_MAX, Action, Card, Coding, Link, Source, Suggestion
from services import fhir_writer
from services.format import dose as fmt_dose
from services.format import num, plain
from services.irae import strictest_action
from services.knowledge.sources import GRADING_SYSTEMS as SYSTEM_LABELS
from services.knowledge.sources import RULESET_VERSION, SOURCES
from services.model import Assessment, ConditionFact, IraeFinding, Recommendation
from services.order_check import OrderFinding

IMMUNOTHERAPY_CLASSES = frozenset({"checkpoint_inhibitor", "cellular_therapy", "bispecific"})
TOPIC_SYSTEM = "urn:immunotox:card-topic"


@dataclass(frozen=True)
class CardContext:
    """What a builder needs besides the Assessment. Holds identifiers: never log it."""

    service_id: str
    patient_id: str
    base_url: str  # where the SMART app is served, no trailing slash
    encounter_id: str | None = None
    # What the domain found in the call's own context (`pipeline.view_inputs`): the order
    # check's findings for the drafts, and the conditions being added to the problem list.
    order_findings: tuple[OrderFinding, ...] = ()
    context_conditions: tuple[ConditionFact, ...] = ()
    unavailable: Mapping[str, str] = field(default_factory=dict)  # prefetch key -> reason
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------------------------
# Escaping and formatting
# --------------------------------------------------------------------------------------------

_MD_ESCAPE = re.compile(r"([\\`*_{}\[\]#+!|~])")
_LEADING_LIST = re.compile(r"^(\s*)(?:([-+=])|(\d{1,9})([.)]))(?=\s|$)")


def md(text: Any) -> str:
    """Text made inert inside GitHub-flavoured Markdown: HTML characters become entities,
    Markdown punctuation is backslash-escaped, line structure is flattened."""
    s = plain(text)
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    s = _MD_ESCAPE.sub(r"\\\1", s)
    s = s.replace("://", "\\://")
    return _LEADING_LIST.sub(_escape_leading, s)


def _escape_leading(m: re.Match[str]) -> str:
    if m.group(2):  # a bullet: escape the bullet
        return m.group(1) + "\\" + m.group(2)
    return m.group(1) + m.group(3) + "\\" + m.group(4)  # "1." -> "1\."


def _when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M %Z").strip() if t else "time not recorded"


def _cite(ref: str) -> str:
    from services.knowledge.orders import cite_any

    try:
        src, loc = cite_any(ref)
    except KeyError:
        return md(ref)
    label = md(src.label) + (f", {md(loc)}" if loc else "")
    return f"[{label}]({src.url})" if src.url else label


def _cites(refs: tuple[str, ...] | list[str]) -> str:
    return "; ".join(_cite(r) for r in refs) if refs else "no source recorded"


def _source(topic: str, display: str, source_id: str | None) -> Source:
    url = SOURCES[source_id].url if source_id and source_id in SOURCES else None
    return Source(
        label=f"immunotox ({RULESET_VERSION})",
        url=url or None,
        topic=Coding(TOPIC_SYSTEM, topic, display),
    )


def _smart_link(a: Assessment, cc: CardContext) -> Link:
    return Link(
        label="Open the full immunotox assessment",
        url=f"{cc.base_url}/smart/launch",
        type="smart",
        app_context=json.dumps({"patient": cc.patient_id, "at": a.at.isoformat()}),
    )


def _indicator(level: int) -> str:
    if level >= 3:
        return "critical"
    if level == 2:
        return "warning"
    return "info"


def _summary(parts: list[str]) -> str:
    return plain("; ".join(p for p in parts if p), limit=SUMMARY_MAX - 1)


def _suggestions(recs: list[Recommendation], a: Assessment, cc: CardContext) -> list[Suggestion]:
    out: list[Suggestion] = []
    for r in recs:
        if r.when:
            continue  # a later or conditional step: in the detail, never an order to sign now
        if r.drug and r.dose:
            label = plain(
                f"Order {r.drug} {fmt_dose(r.dose)}" + (f" {r.route}" if r.route else ""), 80
            )
            res = fhir_writer.medication_request(r, a, cc.patient_id, cc.encounter_id)
        elif r.service:
            label = plain(f"Request {r.service}", 80)
            res = fhir_writer.service_request(r, a, cc.patient_id, cc.encounter_id)
        else:
            continue
        out.append(
            Suggestion(
                label=label,
                actions=(Action("create", plain(r.text, 200), resource=res),),
                is_recommended=r.alternative_to is None,
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# Detail sections
# --------------------------------------------------------------------------------------------


def _exposures(a: Assessment) -> list[str]:
    lines = []
    for e in a.exposures:
        if e.drug_class not in IMMUNOTHERAPY_CLASSES:
            continue
        target = f", {md(e.target)}" if e.target else ""
        lines.append(
            f"- {md(e.drug)} ({md(e.drug_class.replace('_', ' '))}{target}); "
            f"last {md(e.basis)}: {_when(e.last_given)}"
        )
    return lines


def _crs_section(a: Assessment) -> list[str]:
    out = ["### Cytokine release syndrome", ""]
    att = a.crs_attribution
    primary = md(SYSTEM_LABELS.get(a.crs_primary_system, a.crs_primary_system))
    if att is not None and not att.applies:
        out += [f"**{md(att.reason)}**", ""]
    else:
        out.append(f"The plan follows **{primary}**, the primary grading system.")
        if att is not None:
            out.append(md(att.reason))
        for h in a.crs_higher_than_primary:
            label = md(SYSTEM_LABELS.get(h["system"], h["system"]))
            out.append(
                f"- {label} grades higher (grade {h['grade']}): {md(h['why'])}. "
                f"Its treatment lines are not added."
            )
        out.append("")
    out += ["| System | Grade |", "| --- | --- |"]
    for system, r in a.crs.items():
        grade = "not gradable from the data" if r.grade is None else str(r.grade)
        out.append(f"| {md(SYSTEM_LABELS.get(system, system))} | {md(grade)} |")
    out.append("")
    notes: dict[str, list[str]] = {}
    for system, r in a.crs.items():
        label = md(SYSTEM_LABELS.get(system, system))
        if r.criteria:
            out += ["", f"**{label}: criteria met**", ""]
            for c in r.criteria:
                out.append(f"- Grade {c.grade}: {md(c.text)} ({_cite(c.source)})")
                for ev in c.evidence:
                    out.append(f"    - {md(ev.what)}, {_when(ev.time)}")
        if r.findings:
            out += ["", f"**{label}: findings not graded as CRS**", ""]
            for ev in r.findings:
                out.append(f"- {md(ev.what)}, {_when(ev.time)}")
        for m in r.missing:
            out.append(f"- *Missing for {label}:* {md(m.data)}: {md(m.why)}")
        for n in r.notes:
            notes.setdefault(n, []).append(label)
    if notes:
        out.append("")
    for n, labels in notes.items():  # a note shared by several systems is written once
        out.append(f"- *Note ({', '.join(labels)}):* {md(n)}")
    return out


def _irae_section(findings: list[IraeFinding]) -> list[str]:
    out = ["### Immune-related adverse events"]
    for f in findings:
        grade = "grade not determined" if f.grade is None else f"grade {f.grade}"
        action = (
            f"checkpoint inhibitor: **{md(f.checkpoint_inhibitor_action)}** ({md(f.action_reason)})"
            if f.checkpoint_inhibitor_action
            else ""
        )
        out.append(f"- **{md(f.label)}**, {md(grade)} ({md(f.grade_basis)}). {action}")
        for ev in f.evidence:
            out.append(f"    - {md(ev.what)}, {_when(ev.time)}")
        if f.attribution:
            note = " (**text-matched**: check the diagnosis)" if f.text_matched else ""
            out.append(f"    - Attributed: {md(f.attribution)}{note}")
        if f.rechallenge:
            out.append(f"    - Rechallenge: {md(f.rechallenge)}")
        for m in f.missing:
            out.append(f"    - *Missing:* {md(m.data)}: {md(m.why)}")
        out.append(f"    - Sources: {_cites(f.sources)}")
    return out


def _excluded_section(a: Assessment) -> list[str]:
    out = ["### Not attributed to the checkpoint inhibitor"]
    for x in a.irae_excluded:
        tm = " (text-matched)" if x.text_matched else ""
        out.append(f"- **{md(x.label)}**{tm}: {md(x.reason)}")
    return out


def _plan_section(a: Assessment, recs: list[Recommendation]) -> list[str]:
    if a.weight:
        w = f"{num(a.weight.kg)} kg, weighed {_when(a.weight.time)}"
        if a.weight.stale:
            w += " (**stale**: re-weigh before dosing)"
    else:
        w = "no weight on record: weight-based doses could not be computed"
    out = ["### Plan", f"Dosed for {md(w)}.", ""]
    for i, r in enumerate(recs, 1):
        head = md(r.text)
        if r.drug and r.dose:
            dose = fmt_dose(r.dose)
            extra = ", ".join(md(x) for x in (r.route, r.frequency, r.duration) if x)
            head = f"**{md(r.drug)} {md(dose)}**" + (f" {extra}" if extra else "") + f": {head}"
            if r.dose.basis:
                head += f" Basis: {md(r.dose.basis)}."
            if r.dose.capped:
                head += f" Capped at {md(r.dose.cap or 'the maximum')}."
        elif r.drug and r.dose_missing_reason:
            head = f"**{md(r.drug)}**: {head} *No dose:* {md(r.dose_missing_reason)}"
        elif r.service:
            head = f"**{md(r.service)}**: {head}"
        if r.alternative_to:
            head += " *(alternative)*"
        if r.urgency == "urgent":
            head += " **Urgent.**"
        out.append(f"{i}. {head} Sources: {_cites(r.sources)}")
    return out


def _course_lines(a: Assessment) -> list[str]:
    """What has already been given: the tocilizumab and corticosteroid courses."""
    c = a.courses
    if c.tocilizumab is None and c.corticosteroid is None:
        return []
    out = ["### What has been given", ""]
    if c.tocilizumab is not None:
        t = c.tocilizumab
        out.append(f"- **Tocilizumab**: {md(t.text)} ({_cites(t.sources[:1])})")
        for d in t.doses:
            mg = f"{num(d.mg)} mg" if d.mg is not None else "dose not recorded"
            out.append(f"    - {_when(d.time)}: {md(mg)}")
    if c.corticosteroid is not None:
        sc = c.corticosteroid
        out.append(f"- **Corticosteroid**: {md(sc.taper_lines[0])}")
        for line in sc.taper_lines[1:]:
            out.append(f"    - {md(line)}")
        out.append(f"    - Resuming the checkpoint inhibitor: {md(sc.resume_text)}")
        if sc.refractory_text:
            out.append(f"    - {md(sc.refractory_text)}")
        out.append(f"    - PJP: {md(sc.pjp_text)}")
    out.append("")
    return out


def _unavailable_section(cc: CardContext) -> list[str]:
    if not cc.unavailable and not cc.notes:
        return []
    out = ["### Data that could not be fetched", ""]
    for key, reason in cc.unavailable.items():
        out.append(f"- {md(key)}: {md(reason)}. Grades and findings may be understated.")
    for n in cc.notes:
        out.append(f"- {md(n)}")
    return out


def _footer(a: Assessment) -> list[str]:
    out = ["---"]
    if a.data_quality:
        out.append(f"{len(a.data_quality)} resource(s) could not be read; see the full assessment.")
    disclaimer = f"*{md(a.disclaimer)}*" if a.disclaimer else ""
    if "not a diagnosis" not in (a.disclaimer or "").lower():
        disclaimer += (
            " A grade is not a diagnosis: attribution needs clinical judgement (infection can"
            " look the same)."
        )
    out.append(f"{disclaimer.strip()} Assessed {_when(a.at)}, rules {md(a.ruleset_version)}.")
    return out


# --------------------------------------------------------------------------------------------
# patient-view and encounter-start
# --------------------------------------------------------------------------------------------


def _exposed(a: Assessment) -> bool:
    return any(e.drug_class in IMMUNOTHERAPY_CLASSES for e in a.exposures)


def _ici_names(a: Assessment) -> str:
    names = sorted({e.drug for e in a.checkpoint_inhibitors})
    return ", ".join(names) or "the checkpoint inhibitor"


def _worst_irae(findings: list[IraeFinding]) -> IraeFinding | None:
    """The finding that leads the card: the strictest action on the drug, else the highest grade."""
    return strictest_action(findings, at_least="hold") or max(
        findings, key=lambda f: f.grade or 0, default=None
    )


def _lead_action(recs: list[Recommendation]) -> str:
    for r in recs:
        if r.drug and r.dose and r.alternative_to is None:
            return f"{r.drug} {fmt_dose(r.dose)}" + (f" {r.route}" if r.route else "")
    return ""


def _assessment_card(
    a: Assessment,
    cc: CardContext,
    findings: list[IraeFinding],
    recs: list[Recommendation],
    with_crs: bool,
    kind: str,
) -> Card:
    crs_grade = (a.primary_crs_grade or 0) if with_crs else 0
    irae_grade = max((f.grade or 1 for f in findings), default=0)
    level = max(crs_grade, irae_grade)
    worst = _worst_irae(findings)
    if worst and worst.checkpoint_inhibitor_action in ("hold", "discontinue"):
        level = max(level, 2)
    parts: list[str] = []
    if with_crs and crs_grade >= 1:
        if a.crs_primary_system in a.crs:
            systems = [SYSTEM_LABELS.get(a.crs_primary_system, a.crs_primary_system)]
        else:
            systems = [SYSTEM_LABELS.get(s, s) for s, r in a.crs.items() if r.grade == crs_grade]
        parts.append(f"CRS grade {crs_grade} ({', '.join(systems)})")
    if worst:
        g = f" grade {worst.grade}" if worst.grade is not None else ""
        act = worst.checkpoint_inhibitor_action
        parts.append(
            f"{worst.label}{g}"
            + (f": {act} {_ici_names(a)}" if act in ("hold", "discontinue") else "")
        )
        if len(findings) > 1:
            parts[-1] += f" (+{len(findings) - 1} irAE)"
    lead = _lead_action(recs)
    if lead:
        parts.append(lead)
    detail: list[str] = ["**Immunotherapy exposure**", *_exposures(a), ""]
    if with_crs:
        detail += [*_crs_section(a), ""]
    if findings:
        detail += [*_irae_section(findings), ""]
    if with_crs and a.irae_excluded:
        detail += [*_excluded_section(a), ""]
    if recs:
        detail += [*_plan_section(a, recs), ""]
    detail += _course_lines(a)
    detail += _unavailable_section(cc)
    detail += _footer(a)
    topic = "crs" if with_crs and crs_grade >= 1 else "irae"
    return Card(
        summary=_summary(parts),
        indicator=_indicator(level),
        source=_source(
            topic,
            "Cytokine release syndrome" if topic == "crs" else "Immune-related adverse event",
            "astct2019" if topic == "crs" else "asco2021",
        ),
        detail="\n".join(detail),
        # A deceased patient gets no order suggestions (the plan is empty too).
        suggestions=() if a.deceased else tuple(_suggestions(recs, a, cc)),
        selection_behavior="any",
        links=(_smart_link(a, cc),),
        kind=kind,
    )


def _incomplete_card(a: Assessment, cc: CardContext) -> Card:
    detail = [
        "**Immunotherapy exposure**",
        *_exposures(a),
        "",
        *_unavailable_section(cc),
        *_footer(a),
    ]
    return Card(
        summary="Immunotherapy toxicity check incomplete: some patient data could not be fetched",
        indicator="info",
        source=_source("incomplete", "Check incomplete", None),
        detail="\n".join(detail),
        links=(_smart_link(a, cc),),
        kind="incomplete",
    )


def _pending_checkpoint_card(a: Assessment, cc: CardContext) -> Card | None:
    """An irAE that means permanent discontinuation while a checkpoint-inhibitor order, draft
    or scheduled dose is still pending: said at the chart, not only at order entry."""
    stops = [f for f in a.irae if f.checkpoint_inhibitor_action == "discontinue"]
    pending = a.courses.checkpoint_orders
    if not stops or not pending:
        return None
    worst = max(stops, key=lambda f: f.grade or 0)
    g = f" grade {worst.grade}" if worst.grade is not None else ""
    drugs = sorted({o.drug for o in pending})
    detail = [
        f"**{md(worst.label)}**{md(g)}: {md(worst.action_reason)}. The checkpoint inhibitor "
        "should be **permanently discontinued**, yet the record still has:",
        "",
        *[f"- {md(o.drug)}: {md(o.kind)}, {_when(o.time)} ({md(o.ref)})" for o in pending],
        "",
        "Cancel these orders and scheduled doses (the class, not only the drug that caused it).",
        "",
        f"Sources: {_cites(worst.sources)}",
        "",
        *_unavailable_section(cc),
        *_footer(a),
    ]
    return Card(
        summary=_summary(
            [
                f"{worst.label}{g}: permanently discontinue; {', '.join(drugs)} still ordered",
                "cancel it",
            ]
        ),
        indicator="critical",
        source=_source("irae", "Immune-related adverse event", "asco2021"),
        detail="\n".join(detail),
        links=(_smart_link(a, cc),),
        kind="checkpoint-order-pending",
    )


def _course_card(a: Assessment, cc: CardContext) -> Card | None:
    """No active CRS or irAE, but a corticosteroid course still running after one: the taper,
    the resume criterion and PJP prophylaxis are still to be watched."""
    sc = a.courses.corticosteroid
    if sc is None or not a.checkpoint_inhibitors:
        return None
    parts = [f"{sc.drug.capitalize()} course day {sc.day_of_course}"]
    if sc.pred_eq_per_day is not None:
        parts[-1] += f", {num(sc.pred_eq_per_day)} mg/day prednisone-equivalent"
    if sc.resume_met is False:
        parts.append(f"do not resume {_ici_names(a)} yet")
    if sc.pjp_due:
        parts.append("PJP prophylaxis threshold reached")
    pjp = [r for r in a.recommendations if r.id == "pjp_prophylaxis"]
    detail = [
        "**Immunotherapy exposure**",
        *_exposures(a),
        "",
        *_course_lines(a),
        *(_plan_section(a, pjp) if pjp else []),
        "",
        *_unavailable_section(cc),
        *_footer(a),
    ]
    return Card(
        summary=_summary(parts),
        indicator="info",
        source=_source("course", "Corticosteroid course", "asco2021"),
        detail="\n".join(detail),
        links=(_smart_link(a, cc),),
        kind="course",
    )


def _not_crs_card(a: Assessment, cc: CardContext) -> list[Card]:
    """Hypotension, hypoxia or organ findings on immunotherapy without fever: an information
    card saying they are not graded as CRS (no CRS plan, no suggestion, no alarm)."""
    r = a.crs.get(a.crs_primary_system)
    if r is None or r.grade != 0 or not r.findings or not a.crs_applies:
        return []
    drugs = ", ".join(
        sorted({e.drug for e in a.exposures if e.drug_class in IMMUNOTHERAPY_CLASSES})
    )
    detail = ["**Immunotherapy exposure**", *_exposures(a), "", *_crs_section(a), ""]
    detail += _footer(a)
    return [
        Card(
            summary=_summary(
                [f"Findings without fever on {drugs}: not graded as CRS; consider other causes"]
            ),
            indicator="info",
            source=_source("crs", "Cytokine release syndrome", "astct2019"),
            detail="\n".join(detail),
            links=(_smart_link(a, cc),),
            kind="crs-not-graded",
        )
    ]


def assessment_cards(a: Assessment, cc: CardContext) -> list[Card]:
    """patient-view and encounter-start: one card when the patient is exposed to immunotherapy
    and has CRS grade 1 or more under any system, or any irAE; else none. A checkpoint
    inhibitor still ordered or scheduled while an irAE means permanent discontinuation gets a
    critical card of its own."""
    if not _exposed(a):
        return []
    crs = (a.primary_crs_grade or 0) >= 1
    if not crs and not a.irae:
        course = _course_card(a, cc)
        if course is not None:
            return [course]
        if cc.unavailable:
            return [_incomplete_card(a, cc)]
        return _not_crs_card(a, cc)
    out = [_assessment_card(a, cc, list(a.irae), list(a.recommendations), True, "assessment")]
    pending = _pending_checkpoint_card(a, cc)
    if pending is not None:
        out.insert(0, pending)
    return out


# --------------------------------------------------------------------------------------------
# problem-list-item-create
# --------------------------------------------------------------------------------------------


def problem_list_cards(a: Assessment, cc: CardContext) -> list[Card]:
    """A Condition being added that is an irAE, for a patient on a checkpoint inhibitor: the card
    for that irAE (its grade, the checkpoint-inhibitor action and its plan)."""
    if not a.checkpoint_inhibitors:
        return []
    cards: list[Card] = []
    seen: set[str] = set()
    for cond in cc.context_conditions:
        kind = cond.kind
        if kind in seen:
            continue
        seen.add(kind)
        if kind == "crs":
            if (a.primary_crs_grade or 0) >= 1:
                recs = [r for r in a.recommendations if "crs" in r.for_irae or not r.for_irae]
                cards.append(_assessment_card(a, cc, [], recs, True, "problem-list"))
            continue
        findings = [f for f in a.irae if f.kind == kind]
        if findings:
            recs = [r for r in a.recommendations if kind in r.for_irae]
            cards.append(_assessment_card(a, cc, findings, recs, False, "problem-list"))
            continue
        label = kind.replace("_", " ")
        cards.append(
            Card(
                summary=_summary(
                    [f"Possible immune-related {label} on {_ici_names(a)}: grade not determined"]
                ),
                indicator="warning",
                source=_source("irae", "Immune-related adverse event", "asco2021"),
                detail="\n".join(
                    [
                        f"The condition being added ({md(cond.text or label)}) is a "
                        f"recognised immune-related adverse event and the patient is on "
                        f"{md(_ici_names(a))}. The record does not hold what is needed to grade "
                        f"it; grade it clinically and review the checkpoint inhibitor.",
                        "",
                        *_unavailable_section(cc),
                        *_footer(a),
                    ]
                ),
                links=(_smart_link(a, cc),),
                kind="problem-list-ungraded",
            )
        )
    return cards


# --------------------------------------------------------------------------------------------
# order-select and order-sign
# --------------------------------------------------------------------------------------------


def order_cards(a: Assessment, cc: CardContext) -> list[Card]:
    """Cards for the draft orders in `context.draftOrders` (see `services.order_check`)."""
    from services.knowledge import orders as K

    if a.deceased:
        return []  # no order suggestions for a patient the record says has died
    cards: list[Card] = []
    for f in cc.order_findings:
        drug = f.draft.drug.name
        if f.kind == "checkpoint_hold" and f.irae:
            irae = f.irae
            g = f" grade {irae.grade}" if irae.grade is not None else ""
            act = irae.checkpoint_inhibitor_action or "hold"
            detail = [
                f"**{md(irae.label)}**{md(g)} ({md(irae.grade_basis)}): the checkpoint inhibitor "
                f"should be **{md(act)}** ({md(irae.action_reason)}).",
                "",
                f"Drafted: {md(drug)}, {md(f.draft.dose_text)}.",
                "",
                *[f"- {md(ev.what)}, {_when(ev.time)}" for ev in irae.evidence],
                "",
                f"Sources: {_cites(irae.sources)}",
                "",
                *_unavailable_section(cc),
                *_footer(a),
            ]
            cards.append(
                Card(
                    summary=_summary(
                        [f"{act.capitalize()} {drug}: {irae.label}{g}", "remove this order"]
                    ),
                    indicator="critical",
                    source=_source("irae", "Immune-related adverse event", "asco2021"),
                    detail="\n".join(detail),
                    suggestions=(
                        Suggestion(
                            label=plain(f"Remove the {drug} order", 80),
                            actions=(
                                Action(
                                    "delete",
                                    plain(f"Remove the draft {drug} order ({act}: {irae.label})"),
                                    resource_id=f.draft.ref,
                                ),
                            ),
                            is_recommended=True,
                        ),
                    ),
                    selection_behavior="at-most-one",
                    override_reasons=tuple(
                        Coding(K.OVERRIDE_REASON_SYSTEM, code, display)
                        for code, display, _src in K.OVERRIDE_REASONS
                    ),
                    links=(_smart_link(a, cc),),
                    kind="order-checkpoint-hold",
                )
            )
        elif f.kind in ("dose_mismatch", "dose_over_cap") and f.recommendation and f.expected_mg:
            r = f.recommendation
            lo, hi = f.expected_mg
            expected = f"{num(lo)} mg" if abs(hi - lo) < 1e-9 else f"{num(lo)}-{num(hi)} mg"
            weight = f" for {num(a.weight.kg)} kg" if a.weight else ""
            what = "exceeds the maximum" if f.kind == "dose_over_cap" else "differs from the plan"
            detail = [
                f"Drafted: **{md(drug)} {md(f.draft.dose_text)}** per dose. "
                f"Plan{md(weight)}: **{md(expected)}** per dose"
                + (
                    " (the plan gives a daily dose; the order was read as once daily)"
                    if f.assumed_once_daily
                    else ""
                )
                + ".",
                "",
                f"Plan: {md(r.text)}"
                + (f" Basis: {md(r.dose.basis)}." if r.dose and r.dose.basis else "")
                + (f" Cap: {md(r.dose.cap)}." if r.dose and r.dose.capped and r.dose.cap else ""),
                "",
                f"Sources: {_cites(r.sources)}; tolerance: {_cite(K.DOSE_TOLERANCE_SOURCE)}",
                "",
                *_unavailable_section(cc),
                *_footer(a),
            ]
            fixed = f"{num(f.corrected_dose_mg or 0)} mg"
            cards.append(
                Card(
                    summary=_summary([f"{drug} {f.draft.dose_text} {what} ({expected}{weight})"]),
                    indicator="warning",
                    source=_source(
                        "dose", "Dose check", r.sources[0].partition(":")[0] if r.sources else None
                    ),
                    detail="\n".join(detail),
                    suggestions=(
                        Suggestion(
                            label=plain(f"Change {drug} to {fixed}", 80),
                            actions=(
                                Action(
                                    "update",
                                    plain(f"Set the {drug} dose to {fixed} per dose"),
                                    resource=f.corrected_resource,
                                ),
                            ),
                            is_recommended=True,
                        ),
                    ),
                    selection_behavior="at-most-one",
                    links=(_smart_link(a, cc),),
                    kind="order-dose",
                )
            )
        elif f.kind == "dose_over_max" and f.maximum is not None:
            m = f.maximum
            limit = f"{num(f.limit_mg or 0)} mg" + ("/day" if m.per == "day" else "")
            ordered = f"{num(f.ordered_mg or 0)} mg" + ("/day" if m.per == "day" else "")
            detail = [
                f"Drafted: **{md(drug)} {md(f.draft.dose_text)}**"
                + (f" ({md(f.draft.dose_basis)})" if f.draft.dose_basis else "")
                + f", that is **{md(ordered)}**"
                + (" per day" if m.per == "day" and not f.draft.doses_per_day else "")
                + ".",
                "",
                f"Maximum: **{md(limit)}**: {md(m.text)} ({_cite(m.source)}).",
                *[f"- Also above {md(n)}" for n in f.notes],
                "",
            ]
            if f.corrected_dose_mg is not None and f.recommendation is not None:
                detail += [f"Plan for this patient: {md(f.recommendation.text)}", ""]
            elif not a.weight:
                detail += [
                    "No body weight is recorded, so no corrected dose is suggested: weigh the "
                    "patient to get the dose for this weight.",
                    "",
                ]
            detail += [*_unavailable_section(cc), *_footer(a)]
            suggestions: tuple[Suggestion, ...] = ()
            if f.corrected_resource is not None and f.corrected_dose_mg is not None:
                fixed = f"{num(f.corrected_dose_mg)} mg"
                suggestions = (
                    Suggestion(
                        label=plain(f"Change {drug} to {fixed}", 80),
                        actions=(
                            Action(
                                "update",
                                plain(f"Set the {drug} dose to {fixed} per dose"),
                                resource=f.corrected_resource,
                            ),
                        ),
                        is_recommended=True,
                    ),
                )
            cards.append(
                Card(
                    summary=_summary(
                        [f"{drug} {f.draft.dose_text} exceeds the maximum: {limit} ({m.text})"]
                    ),
                    indicator="critical",
                    source=_source("dose", "Dose check", m.source.partition(":")[0]),
                    detail="\n".join(detail),
                    suggestions=suggestions,
                    selection_behavior="at-most-one" if suggestions else None,
                    links=(_smart_link(a, cc),),
                    kind="order-dose-maximum",
                )
            )
        elif f.kind == "course_limit" and f.reason:
            detail = [
                f"Drafted: **{md(drug)} {md(f.draft.dose_text)}**. The course does not allow a "
                "dose now.",
                "",
                f"Sources: {_cites(f.sources)}",
                "",
                *_course_lines(a),
                *_unavailable_section(cc),
                *_footer(a),
            ]
            cards.append(
                Card(
                    summary=_summary([f"No {drug} now: {f.reason}"]),
                    indicator="critical",
                    source=_source("course", "Tocilizumab course", "actemra_label"),
                    detail="\n".join(detail),
                    suggestions=(
                        Suggestion(
                            label=plain(f"Remove the {drug} order", 80),
                            actions=(
                                Action(
                                    "delete",
                                    plain(f"Remove the draft {drug} order (course limit)"),
                                    resource_id=f.draft.ref,
                                ),
                            ),
                            is_recommended=True,
                        ),
                    ),
                    selection_behavior="at-most-one",
                    links=(_smart_link(a, cc),),
                    kind="order-course",
                )
            )
        elif f.kind == "taper_too_fast" and f.reason:
            fixed = f"{num(f.corrected_dose_mg or 0)} mg"
            detail = [
                f"Drafted: **{md(drug)} {md(f.draft.dose_text)}**"
                + (f" ({md(f.draft.dose_basis)})" if f.draft.dose_basis else "")
                + (" read as once daily" if f.assumed_once_daily else "")
                + f": {md(f.reason)}.",
                "",
                *[f"- {md(n)}" for n in f.notes],
                "",
                f"Sources: {_cites(f.sources)}",
                "",
                *_unavailable_section(cc),
                *_footer(a),
            ]
            cards.append(
                Card(
                    summary=_summary(
                        [f"{drug} {f.draft.dose_text}: faster than the taper ({f.reason})"]
                    ),
                    indicator="warning",
                    source=_source("course", "Corticosteroid taper", "asco2021"),
                    detail="\n".join(detail),
                    suggestions=(
                        Suggestion(
                            label=plain(f"Change {drug} to {fixed}", 80),
                            actions=(
                                Action(
                                    "update",
                                    plain(
                                        f"Set the {drug} dose to {fixed} per dose (next taper step)"
                                    ),
                                    resource=f.corrected_resource,
                                ),
                            ),
                            is_recommended=True,
                        ),
                    ),
                    selection_behavior="at-most-one",
                    links=(_smart_link(a, cc),),
                    kind="order-taper",
                )
            )
        elif f.kind == "dose_unchecked":
            detail = [
                f"Drafted: **{md(drug)} {md(f.draft.dose_text)}**. This dose was **not checked** "
                f"against the plan or the maximum dose: {md(f.reason or 'the dose could not be read')}.",
                "",
                "Check it by hand, or order it in milligrams (or record a weight) to have it checked.",
                "",
                *_unavailable_section(cc),
                *_footer(a),
            ]
            cards.append(
                Card(
                    summary=_summary(
                        [f"{drug} {f.draft.dose_text}: dose not checked ({f.reason or ''})"]
                    ),
                    indicator="info",
                    source=_source("dose", "Dose check", None),
                    detail="\n".join(detail),
                    links=(_smart_link(a, cc),),
                    kind="order-dose-unchecked",
                )
            )
        elif f.kind == "baseline_missing":
            detail = [
                f"Before a first dose of {md(drug)}, the guidelines ask for a baseline work-up. "
                f"Not found in the last {K.BASELINE_LOOKBACK_DAYS} days "
                f"({_cite(K.BASELINE_LOOKBACK_SOURCE)}):",
                "",
                *[f"- {md(i.label)} ({_cites(i.sources)})" for i in f.missing_baseline],
            ]
            if f.present_baseline:
                detail += [
                    "",
                    "On record: " + ", ".join(md(i.label) for i in f.present_baseline) + ".",
                ]
            detail += ["", *_unavailable_section(cc), *_footer(a)]
            n, m = len(f.missing_baseline), len(K.BASELINE_WORKUP)
            cards.append(
                Card(
                    summary=_summary(
                        [f"Baseline work-up before first {drug}: {n} of {m} tests not on record"]
                    ),
                    indicator="info",
                    source=_source("baseline", "Baseline work-up", None),
                    detail="\n".join(detail),
                    kind="order-baseline",
                )
            )
    return cards


def error_card(reference: str) -> Card:
    """Said instead of silence when the assessment fails."""
    return Card(
        summary="immunotox could not assess this patient: review toxicity directly",
        indicator="warning",
        source=_source("error", "Service error", None),
        detail=(
            "The immunotherapy toxicity assessment failed for this call, so no grade or plan is "
            f"shown. This is not a negative result. Reference: `{reference}`."
        ),
        kind="error",
    )


BUILDERS = {
    "assessment_cards": assessment_cards,
    "order_cards": order_cards,
    "problem_list_cards": problem_list_cards,
}
