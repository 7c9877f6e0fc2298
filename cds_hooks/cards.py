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
from services.format import ago, num, plain
from services.format import dose as fmt_dose
from services.format import refs as fmt_refs
from services.format import when as fmt_when
from services.irae import strictest_action
from services.knowledge import icans as KI
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
    """A time in the site's zone, the zone shown: "2026-11-20 13:00 CET"."""
    return fmt_when(t)


def _cite(ref: str) -> str:
    from services.knowledge.orders import cite_any

    try:
        src, loc = cite_any(ref)
    except KeyError:
        return md(ref)
    label = md(src.label) + (f", {md(loc)}" if loc else "")
    return f"[{label}]({src.url})" if src.url else label


def _cites(refs: tuple[str, ...] | list[str]) -> str:
    return "; ".join(_cite(r) for r in fmt_refs(refs)) if refs else "no source recorded"


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


def _suggestion(r: Recommendation, a: Assessment, cc: CardContext) -> Suggestion | None:
    if r.drug and r.dose:
        label = plain(f"Order {r.drug} {fmt_dose(r.dose)}" + (f" {r.route}" if r.route else ""), 80)
        res = fhir_writer.medication_request(r, a, cc.patient_id, cc.encounter_id)
    elif r.service:
        label = plain(f"Request {r.service}", 80)
        res = fhir_writer.service_request(r, a, cc.patient_id, cc.encounter_id)
    else:
        return None
    return Suggestion(
        label=label,
        actions=(Action("create", plain(r.text, 200), resource=res),),
        is_recommended=r.alternative_to is None,
    )


def _suggestions(recs: list[Recommendation], a: Assessment, cc: CardContext) -> list[Suggestion]:
    """At most `MAX_SUGGESTIONS` orders, most urgent first, one per decision: the preferred line
    of each (its alternatives are in the detail and the app). A later or conditional step is
    never an order to sign now."""
    out: list[Suggestion] = []
    for d in decisions(recs):
        if len(out) >= MAX_SUGGESTIONS:
            break
        if not _orderable(d.lead):
            continue
        s = _suggestion(d.lead, a, cc)
        if s is not None:
            out.append(s)
    return out


# --------------------------------------------------------------------------------------------
# The compact card: what a clinician reads in ten seconds. Everything else is in the app.
# --------------------------------------------------------------------------------------------

DETAIL_ACTIONS = 5  # the most urgent plan lines written out on the card
MAX_SUGGESTIONS = 4  # order buttons: one per decision, most urgent first
MISSING_ITEMS = 4
SHORT_DISCLAIMER = "A grade is not a diagnosis: infection can look the same. Check doses locally."


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


# Plan lines about whether to give a cancer drug (a checkpoint inhibitor, a T-cell engager):
# the action is the line, not a dose.
_DRUG_ACTION = frozenset({"checkpoint_inhibitor", "cancer_therapy"})


def _rank(r: Recommendation, i: int) -> tuple[bool, bool, int, int]:
    """Urgency order: now before later, urgent before routine, then the checkpoint-inhibitor
    action, dosed drugs, services (consults, admission) and advice; the plan's order last."""
    if r.category in _DRUG_ACTION:
        kind = 0
    elif r.drug and r.dose:
        kind = 1
    elif r.service:
        kind = 2
    else:
        kind = 3
    return (r.when is not None, r.urgency != "urgent", kind, i)


@dataclass(frozen=True)
class Decision:
    """One thing to decide: the preferred plan line and its alternatives (IVIG or plasma
    exchange; tocilizumab by label or by Lee 2014)."""

    lead: Recommendation
    alternatives: tuple[Recommendation, ...] = ()


def decisions(recs: list[Recommendation]) -> list[Decision]:
    """The plan as decisions, most urgent first. An alternative whose preferred line is not in
    the plan is a decision of its own."""
    ids = {r.id for r in recs}
    alts: dict[str, list[Recommendation]] = {}
    leads: list[Recommendation] = []
    for r in recs:
        if r.alternative_to and r.alternative_to in ids and r.alternative_to != r.id:
            alts.setdefault(r.alternative_to, []).append(r)
        else:
            leads.append(r)
    ranked = sorted(enumerate(leads), key=lambda x: _rank(x[1], x[0]))
    return [Decision(r, tuple(alts.get(r.id, ()))) for _, r in ranked]


def _orderable(r: Recommendation) -> bool:
    return r.when is None and bool((r.drug and r.dose) or r.service)


def _action_text(r: Recommendation, capital: bool = True) -> str:
    """A plan line in a few words: "Tocilizumab 624 mg IV", "Neurology consult"."""
    if r.drug and r.dose:
        s = f"{r.drug} {fmt_dose(r.dose)}" + (f" {r.route}" if r.route else "")
        return _cap(s) if capital else s
    if r.service:
        return r.service if capital else r.service[:1].lower() + r.service[1:]
    return plain(r.text, 90)


def _action_line(r: Recommendation, alternatives: tuple[Recommendation, ...]) -> str:
    """One Markdown list item: the action in bold, its dose details, its alternatives."""
    if r.drug and r.dose:
        extra = [x for x in (r.frequency, r.duration) if x]
        if len(extra) == 2 and extra[1] in extra[0]:
            extra = extra[:1]
        basis = [x for x in (r.dose.basis,) if x]
        if r.dose.capped:
            basis.append(f"capped at {r.dose.cap or 'the maximum'}")
        line = f"**{md(_action_text(r))}**"
        if extra:
            line += " " + md(", ".join(extra))
        if basis:
            line += f" ({md('; '.join(basis))})"
    elif r.category in _DRUG_ACTION:
        head, _, why = r.text.partition(" (")
        line = f"**{md(plain(head, 80))}**" + (
            f" ({md(plain(_said_once(head, why), 80))}" if why else ""
        )
    elif r.drug and r.dose_missing_reason:
        line = f"**{md(_cap(r.drug))}**: {md(_no_dose(r.dose_missing_reason))}"
    elif r.service:
        line = f"**{md(r.service)}**"
        text = plain(r.text) if r.text else ""
        # what the consult is for, when it fits; a line cut mid-phrase is left to the app
        if text and text.lower() != r.service.lower() and len(text) <= _SERVICE_TEXT:
            line += f": {md(text)}"
    else:
        line = md(plain(r.text, 110))
    if alternatives:
        line += "; or " + ", or ".join(md(_action_text(x, capital=False)) for x in alternatives)
    return f"- {line}"


def _said_once(action: str, why: str) -> str:
    """The reason of a drug action without the action said again: "transverse myelitis:
    permanently discontinue the checkpoint inhibitor)" after "Permanently discontinue
    pembrolizumab" is "transverse myelitis)"."""
    reason, sep, rest = why.partition(": ")
    verb = " ".join(action.lower().split()[:2])
    if sep and verb and rest.lower().startswith(verb):
        return reason + (")" if why.endswith(")") else "")
    return why


_SERVICE_TEXT = 60  # characters of a consult's reason written beside it on a card


def _strip_no_dose(reason: str) -> str:
    """ "No dose: this line is about..." said once, not "No dose: No dose: ..."."""
    return re.sub(r"^\s*no dose\s*:\s*", "", reason, flags=re.IGNORECASE)


def _no_dose(reason: str) -> str:
    """ "no dose: why", or the reason itself when it already begins "No dose band..."."""
    why = _strip_no_dose(reason)
    if re.match(r"(?i)no dose\b", why):
        return why[:1].lower() + why[1:]
    where = re.match(r"(?i)dose\s*:\s*(in\b.*)", why)  # "Dose: in the CRS line" says where
    if where:
        return f"dose {where.group(1)}"
    return f"no dose: {why}"


def _crs_line(a: Assessment) -> str | None:
    """CRS on one line: the plan's system first, then the others."""
    att = a.crs_attribution
    if att is not None and not att.applies:
        return f"**CRS**: not graded: {md(plain(att.reason, 160))}"
    if not a.crs:
        return None

    def g(system: str) -> str:
        r = a.crs[system]
        return "not gradable" if r.grade is None else f"grade {r.grade}"

    primary = a.crs_primary_system
    out = []
    if primary in a.crs:
        out.append(f"**{md(g(primary))}** ({md(SYSTEM_LABELS.get(primary, primary))}, plan)")
    out += [f"{md(SYSTEM_LABELS.get(s, s))} {md(g(s))}" for s in a.crs if s != primary]
    line = "**CRS**: " + ", ".join(out)
    for h in a.crs_higher_than_primary:
        label = md(SYSTEM_LABELS.get(h["system"], h["system"]))
        line += f"; {label} grades higher: its treatment lines are not added"
    return line


def _irae_line(findings: list[IraeFinding]) -> str | None:
    """The immune-related adverse events on one line, each with its grade and the action on the
    checkpoint inhibitor."""
    if not findings:
        return None
    items = []
    strict = {"discontinue": 0, "hold": 1}
    for f in sorted(
        findings,
        key=lambda f: (strict.get(f.checkpoint_inhibitor_action or "", 2), -(f.grade or 0)),
    ):
        grade = "grade not recorded" if f.grade is None else f"grade {f.grade}"
        act = f.checkpoint_inhibitor_action
        item = f"{md(f.label)} {md(grade)}"
        if act in ("hold", "discontinue"):
            item += f": **{md(act)}**"
        if f.text_matched:
            item += " (text match: check the diagnosis)"
        items.append(item)
    return "**irAE**: " + "; ".join(items)


def _icans_grade(a: Assessment) -> int:
    r = a.icans
    return (r.grade or 0) if r is not None and r.applies else 0


def _icans_line(a: Assessment) -> str | None:
    """ICANS (ASTCT 2019) on one line, with the worst ICE score or CAPD and the IEC-HS flag."""
    r = a.icans
    if r is None or not r.applies:
        return None
    hs = r.iec_hs or {}
    if r.grade is None:
        if not hs.get("flag"):
            return None
        return "**IEC-HS screen positive** (not a diagnosis)" + (
            f"; {md(hs['crs_phase'])}" if hs.get("crs_phase") else ""
        )
    score = next((c for c in r.criteria if c.id.startswith(("icans.ice", "icans.capd"))), None)
    line = f"**ICANS**: **grade {r.grade}** (ASTCT 2019)"
    if score is not None and score.evidence:
        line += f", {md(score.evidence[0].what)} {_when(score.evidence[0].time)}"
    if r.grade and r.other_causes:
        line += f"; {KI.OTHER_CAUSE_TEXT.lower()}: " + ", ".join(
            md(f"{oc['kind']} ({oc['what']})") for oc in r.other_causes
        )
    if hs.get("flag"):
        line += "; **IEC-HS screen positive** (not a diagnosis)"
        if hs.get("crs_phase"):
            line += f"; {md(hs['crs_phase'])}"
    return line


def _missing_line(a: Assessment, findings: list[IraeFinding], with_crs: bool) -> str | None:
    """What is missing that could change a grade or a dose, each item once."""
    items: dict[str, list[str]] = {}
    if with_crs:
        for system, r in a.crs.items():
            for m in r.missing:
                items.setdefault(m.data, []).append(SYSTEM_LABELS.get(system, system))
    for f in findings:
        for m in f.missing:
            items.setdefault(m.data, []).append(f.label)
    if a.weight is None:
        items.setdefault("weight (no weight-based doses)", [])
    elif a.weight.stale:
        items.setdefault(f"a current weight (last {_when(a.weight.time)}: stale)", [])
    if not items:
        return None
    out = [
        md(data) + (f" ({md(', '.join(dict.fromkeys(whose)))})" if whose else "")
        for data, whose in items.items()
    ]
    more = len(out) - MISSING_ITEMS
    out = out[:MISSING_ITEMS] + ([f"{more} more in the app"] if more > 0 else [])
    return "**Missing**: " + "; ".join(out) + "."


def _attribution_line(a: Assessment, att: Any) -> str:
    """The therapy the CRS is attributed to, when it was last given and when the fever began,
    in local time."""
    kind = f" ({md(att.drug_class.replace('_', ' '))})" if att.drug_class else ""
    out = f"CRS attributed to {md(att.agent)}{kind}"
    if att.last_dose:
        since = ago(att.last_dose, a.at)
        out += f": last given {_when(att.last_dose)}" + (f" ({since})" if since else "")
    if att.onset:
        out += f", first fever {_when(att.onset)}"
    return out + "."


def _exposure_line(a: Assessment) -> str:
    items = []
    for e in a.exposures:
        if e.drug_class not in IMMUNOTHERAPY_CLASSES:
            continue
        target = f" ({md(e.target)})" if e.target else ""
        verb = "given" if e.basis == "administration" else f"{md(e.basis)}"
        since = ago(e.last_given, a.at)
        items.append(
            f"{md(_cap(e.drug))}{target}, last {verb} {_when(e.last_given)}"
            + (f" ({since})" if since else "")
        )
    return "; ".join(items) + "." if items else ""


def urgent_actions(a: Assessment, shown: list[Decision]) -> list[str]:
    """The most urgent decisions as a Markdown list under a heading with the dosing weight."""
    if not shown:
        return []
    head = "**Most urgent**" + (f" (doses for {num(a.weight.kg)} kg)" if a.weight else "")
    return [head, "", *[_action_line(d.lead, d.alternatives) for d in shown], ""]


def _compact_detail(
    a: Assessment,
    cc: CardContext,
    findings: list[IraeFinding],
    recs: list[Recommendation],
    with_crs: bool,
) -> str:
    out: list[str] = []
    att = a.crs_attribution
    crs_now = with_crs and (a.primary_crs_grade or 0) >= 1
    # Which exposure explains the CRS (and when it was given), else what the patient is on.
    if crs_now and att is not None and att.applies and att.agent:
        exposure = _attribution_line(a, att)
    else:
        exposure = _exposure_line(a)
    if exposure:
        out += [exposure, ""]
    grades = [
        line
        for line in (
            _crs_line(a) if with_crs else None,
            _icans_line(a) if with_crs else None,
            _irae_line([f for f in findings if not (with_crs and f.kind == "crs")]),
        )
        if line
    ]
    for line in grades:
        out += [line, ""]
    shown = [d for d in decisions(recs) if d.lead.when is None][:DETAIL_ACTIONS]
    out += urgent_actions(a, shown)
    missing = _missing_line(a, findings, with_crs)
    if missing:
        out += [missing, ""]
    out += _unavailable_section(cc)
    rest = len(recs) - sum(1 + len(d.alternatives) for d in shown)
    more = f"{rest} more plan lines, " if rest > 0 else ""
    out += [f"In the app: {more}evidence, sources.", ""]
    out += _footer(a)
    return "\n".join(out)


# --------------------------------------------------------------------------------------------
# Detail sections
# --------------------------------------------------------------------------------------------


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
    out = ["**Data that could not be fetched** (grades and findings may be understated)", ""]
    for key, reason in cc.unavailable.items():
        out.append(f"- {md(key)}: {md(reason)}")
    for n in cc.notes:
        out.append(f"- {md(n)}")
    return [*out, ""]


def _footer(a: Assessment) -> list[str]:
    """One short line: the disclaimer (in full in the app), when and under which rules."""
    out = ["---"]
    if a.data_quality:
        # not all unread: a pressor's last rate row, read and held for a limited time, is a note
        n = len(a.data_quality)
        out.append(
            f"{n} data note{'s' if n > 1 else ''} (a resource not read, or read with a limit); "
            "see the full assessment."
        )
        out.append("")
    out.append(f"*{SHORT_DISCLAIMER}* Assessed {_when(a.at)}.")  # rules: in the card's source
    return out


# --------------------------------------------------------------------------------------------
# patient-view and encounter-start
# --------------------------------------------------------------------------------------------


# "the checkpoint inhibitor should be held", never "should be hold"
_PARTICIPLE = {"hold": "held", "discontinue": "permanently discontinued", "continue": "continued"}


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


def _summary_parts(
    a: Assessment, findings: list[IraeFinding], recs: list[Recommendation], with_crs: bool
) -> list[str]:
    """The most urgent action first: the stop or hold of the checkpoint inhibitor, then the
    first dosed order with what it is for, then how many more irAEs."""
    crs_grade = (a.primary_crs_grade or 0) if with_crs else 0
    others = [f for f in findings if not (with_crs and f.kind == "crs")]
    worst = _worst_irae(others)
    parts: list[str] = []
    act = worst.checkpoint_inhibitor_action if worst else None
    if worst and act in ("hold", "discontinue"):
        g = f" grade {worst.grade}" if worst.grade is not None else ""
        parts.append(f"{act.capitalize()} {_ici_names(a)} ({worst.label}{g})")

    def lead_for(kind: str | None) -> str:
        """The first dosed order now for `kind` (None: for anything)."""
        for d in decisions(recs):
            r = d.lead
            if r.drug and r.dose and _orderable(r) and (kind is None or kind in r.for_irae):
                return _action_text(r)
        return ""

    if with_crs and crs_grade >= 1:
        if a.crs_primary_system in a.crs:
            systems = [SYSTEM_LABELS.get(a.crs_primary_system, a.crs_primary_system)]
        else:
            systems = [SYSTEM_LABELS.get(s, s) for s, r in a.crs.items() if r.grade == crs_grade]
        crs = f"CRS grade {crs_grade} ({', '.join(systems)})"
        lead_s = lead_for("crs")
        parts.append(f"{lead_s} for {crs}" if lead_s else crs)
    elif worst and not parts:
        g = f" grade {worst.grade}" if worst.grade is not None else ""
        lead_s = lead_for(worst.kind)
        parts.append(f"{lead_s} for {worst.label}{g}" if lead_s else f"{worst.label}{g}")
    elif lead_for(None):
        parts.append(lead_for(None))
    if with_crs and _icans_grade(a) >= 1:
        parts.append(f"ICANS grade {_icans_grade(a)} (ASTCT 2019)")
    if parts and parts[0][:1].islower():
        parts[0] = _cap(parts[0])
    n = len(others) - (1 if worst else 0)
    if n > 0:
        parts.append(f"+{n} more irAE" + ("s" if n > 1 else ""))
    return parts


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
    level = max(crs_grade, irae_grade, _icans_grade(a) if with_crs else 0)
    worst = _worst_irae(findings)
    if worst and worst.checkpoint_inhibitor_action in ("hold", "discontinue"):
        level = max(level, 2)
    topic = "crs" if with_crs and (crs_grade >= 1 or _icans_grade(a) >= 1) else "irae"
    return Card(
        summary=_summary(_summary_parts(a, findings, recs, with_crs)),
        indicator=_indicator(level),
        source=_source(
            topic,
            "Cytokine release syndrome" if topic == "crs" else "Immune-related adverse event",
            "astct2019" if topic == "crs" else "asco2021",
        ),
        detail=_compact_detail(a, cc, findings, recs, with_crs),
        # A deceased patient gets no order suggestions (the plan is empty too).
        suggestions=() if a.deceased else tuple(_suggestions(recs, a, cc)),
        selection_behavior="any",
        links=(_smart_link(a, cc),),
        kind=kind,
    )


def _incomplete_card(a: Assessment, cc: CardContext) -> Card:
    detail = [
        _exposure_line(a),
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
        f"**{md(worst.label)}**{g}: {md(worst.action_reason)}. The checkpoint inhibitor "
        "should be **permanently discontinued**, yet the record still has:",
        "",
        *[f"- {md(o.drug)}: {md(o.kind)}, {_when(o.time)}" for o in pending],
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
        _exposure_line(a),
        "",
        *_course_lines(a),
        *[_action_line(r, ()) for r in pjp],
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
    detail = [_exposure_line(a), "", _crs_line(a) or "", ""]
    detail += ["**Findings not graded as CRS** (no fever)", ""]
    for ev in r.findings[:DETAIL_ACTIONS]:
        detail.append(f"- {md(ev.what)}, {_when(ev.time)}")
    detail.append("")
    for n in r.notes:
        detail += [md(n), ""]
    missing = _missing_line(a, [], True)
    if missing:
        detail += [missing, ""]
    detail += ["In the app: evidence, sources.", ""]
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
    crs = (a.primary_crs_grade or 0) >= 1 or _icans_grade(a) >= 1  # ICANS: ASTCT 2019
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


def _remove_draft(drug: str, why: str, ref: str) -> Suggestion:
    """The recommended suggestion to remove a draft order from the order being signed."""
    return Suggestion(
        label=plain(f"Remove the {drug} order", 80),
        actions=(
            Action("delete", plain(f"Remove the draft {drug} order ({why})"), resource_id=ref),
        ),
        is_recommended=True,
    )


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
                f"**{md(irae.label)}**{g} ({md(irae.grade_basis)}): the checkpoint inhibitor "
                f"should be **{md(_PARTICIPLE.get(act, act))}** ({md(irae.action_reason)}).",
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
                    suggestions=(_remove_draft(drug, f"{act}: {irae.label}", f.draft.ref),),
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
                f"Plan{weight}: **{md(expected)}** per dose"
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
                *([""] if f.notes else []),
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
                    suggestions=(_remove_draft(drug, "course limit", f.draft.ref),),
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
