"""Plain-text rendering of an `Assessment` (the command line's --format text)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from services import format
from services.knowledge import icans as KI
from services.knowledge.sources import GRADING_SYSTEMS as SYSTEM_LABELS
from services.knowledge.sources import SOURCES
from services.model import Assessment, Dose


def fmt_dose(d: Dose | None) -> str:
    if d is None:
        return ""
    out = format.dose(d)
    if d.basis:
        out += f" ({d.basis})"
    if d.capped:
        out += f", capped at {d.cap}"
    return out


def _iso(t: datetime) -> str:
    """An instant in the site's zone (IMMUNOTOX_TIMEZONE), its offset shown."""
    return format.local(t).isoformat()


def _cites(refs: tuple[str, ...] | list[str]) -> str:
    """Sources by name and locator: "Lee 2014 CRS grading (Blood), Table 2"."""
    out = []
    for ref in format.refs(refs):
        sid, _, loc = ref.partition(":")
        name = SOURCES[sid.strip()].label if sid.strip() in SOURCES else sid.strip()
        out.append(name + (f", {loc.strip()}" if loc.strip() else ""))
    return "; ".join(out) or "no source recorded"


def _grade(g: int | None) -> str:
    return "no grade (data missing)" if g is None else f"grade {g}"


def _icans_lines(a: Assessment) -> list[str]:
    r = a.icans
    if r is None:
        return []
    tool = "CAPD, child 12 or under" if r.tool == "capd" else "ICE score"
    out = ["", f"ICANS, ASTCT 2019 ({tool}; findings in the 24 h before the assessment)"]
    if r.reason:
        out.append(f"  {r.reason}")
    worst = r.worst
    worst_s = f"; worst {worst.grades['astct2019']} at {_iso(worst.time)}" if worst else ""
    if r.applies:
        out.append(f"  ASTCT 2019 ICANS: {_grade(r.grade)}{worst_s}")
        for oc in r.other_causes if r.grade else ():
            out.append(
                f"    {KI.OTHER_CAUSE_TEXT}: {oc['kind']}: {oc['what']}  [{_cites([oc['source']])}]"
            )
    else:
        out.append("  ASTCT 2019 ICANS: not applicable")
    out += _graded_lines(r, "ICANS")
    hs = r.iec_hs
    if hs is not None:
        out.append(f"  {hs['text']}")
        for c in hs["criteria"]:
            out.append(f"    - {c['text']}  [{c['source']}]")
            for e in c["evidence"]:
                out.append(f"        {e['what']} at {e['time']} ({e['ref']})")
        for t in hs.get("not_new") or ():
            out.append(f"    {t}")
        for m in hs["missing"]:
            if m["data"].endswith("before the therapy") and hs["status"] != "no_data":
                out.append(f"    missing: {m['data']}: {m['why']}")
        if hs.get("crs_phase") and hs["status"] in ("positive", "ferritin_only"):
            out.append(f"    {hs['crs_phase']}  [{_cites([hs['crs_phase_source']])}]")
        if hs["pathway"]:
            out.append(f"    {hs['pathway']}  [{hs['pathway_source']}]")
        out.append(f"    note: {hs['note']}")
    return out


def _graded_lines(r: Any, syndrome: str) -> list[str]:
    """A graded syndrome (CRS under one system, ICANS): criteria with evidence, findings not
    graded, missing data and notes, in the site's time zone with sources by name."""
    out = []
    for c in r.criteria:
        prefix = f"Grade {c.grade}: " if c.grade else ""
        out.append(f"    - {prefix}{c.text}  [{_cites([c.source])}]")
        for e in c.evidence:
            when = f" at {_iso(e.time)}" if e.time else ""
            out.append(f"        {e.what}{when} ({e.ref})")
    for e in r.findings:
        when = f" at {_iso(e.time)}" if e.time else ""
        out.append(f"    finding, not graded as {syndrome}: {e.what}{when} ({e.ref})")
    for m in r.missing:
        out.append(f"    missing: {m.data}: {m.why}")
    for n in r.notes:
        out.append(f"    note: {n}")
    return out


def render_text(a: Assessment) -> str:
    lines: list[str] = []
    w = a.weight
    lines.append(f"immunotox assessment at {_iso(a.at)}  ({a.ruleset_version})")
    lines.append(f"Times in {format.zone_name()}")
    lines.append(
        "Patient: age "
        + (f"{a.age_years} y" if a.age_years is not None else "unknown")
        + ", weight "
        + (
            f"{round(w.kg, 1):g} kg ({_iso(w.time) if w.time else '?'}{', stale' if w.stale else ''})"
            if w
            else "not recorded"
        )
        + (", deceased" if a.deceased else "")
    )
    lines.append("")
    lines.append("Cytokine release syndrome (findings in the 24 h before the assessment)")
    att = a.crs_attribution
    if att is not None and not att.applies:
        lines.append(f"  {att.reason}")
    else:
        lines.append(f"  Primary system (drives the plan): {SYSTEM_LABELS[a.crs_primary_system]}")
        if att is not None:
            lines.append(f"  {att.reason}")
        for h in a.crs_higher_than_primary:
            lines.append(
                f"  {SYSTEM_LABELS[h['system']]} grades higher (grade {h['grade']}): {h['why']}; "
                "its treatment lines are not added"
            )
    for system, r in a.crs.items():
        worst = a.crs_worst.get(system)
        worst_s = f"; worst {worst.grades[system]} at {_iso(worst.time)}" if worst else ""
        lines.append(f"  {SYSTEM_LABELS[system]}: {_grade(r.grade)}{worst_s}")
        lines += _graded_lines(r, "CRS")
    lines += _icans_lines(a)
    lines.append("")
    lines.append("Exposure")
    if not a.exposures:
        lines.append("  no checkpoint inhibitor, cellular therapy or bispecific antibody found")
    for e in a.exposures:
        last = _iso(e.last_given) if e.last_given else "unknown"
        lines.append(
            f"  {e.drug} ({e.drug_class.replace('_', ' ')}, {e.target or '-'}): last {e.basis} {last}"
        )
    lines.append("")
    lines.append("Immune-related adverse events")
    if not a.irae:
        lines.append("  none found")
    for f in a.irae:
        lines.append(
            f"  {f.label}: {_grade(f.grade)} ({f.grade_basis}); checkpoint inhibitor: "
            f"{f.checkpoint_inhibitor_action or 'no action without a grade'}: {f.action_reason}"
        )
        for m in f.missing:
            lines.append(f"    missing: {m.data}: {m.why}")
        if f.attribution:
            tm = " (text-matched: check the diagnosis)" if f.text_matched else ""
            lines.append(f"    attributed: {f.attribution}{tm}")
        if f.rechallenge:
            lines.append(f"    rechallenge: {f.rechallenge}")
    if a.irae_excluded:
        lines.append("")
        lines.append("Not attributed to the checkpoint inhibitor")
        for x in a.irae_excluded:
            tm = " (text-matched)" if x.text_matched else ""
            lines.append(f"  {x.label}{tm}: {x.reason}")
    c = a.courses
    if c.tocilizumab is not None or c.corticosteroid is not None or c.checkpoint_orders:
        lines.append("")
        lines.append("What has been given")
        if c.tocilizumab is not None:
            lines.append(f"  {c.tocilizumab.text}")
            for d in c.tocilizumab.doses:
                mg = f"{d.mg:g} mg" if d.mg is not None else "dose not recorded"
                lines.append(f"    {_iso(d.time)}: {mg} ({d.ref})")
        if c.corticosteroid is not None:
            sc = c.corticosteroid
            lines.append(f"  {sc.taper_lines[0]}")
            for line in (*sc.taper_lines[1:], f"Resume: {sc.resume_text}"):
                lines.append(f"    {line}")
            if sc.refractory_text:
                lines.append(f"    {sc.refractory_text}")
            lines.append(f"    PJP: {sc.pjp_text}")
        for o in c.checkpoint_orders:
            when = _iso(o.time) if o.time else "time not recorded"
            lines.append(f"  {o.drug}: {o.kind} {when} ({o.ref})")
    lines.append("")
    lines.append("Plan")
    if not a.recommendations and a.deceased:
        lines.append(
            "  none: the patient is recorded as deceased, so nothing is proposed (the findings "
            "above are for review only)"
        )
    elif not a.recommendations:
        lines.append("  nothing to recommend")
    by_id = {r.id: r for r in a.recommendations}
    for r in a.recommendations:
        other = by_id.get(r.alternative_to or "")
        # Named by the other line's own words, never by its internal id.
        alt = (
            f" (alternative to: {format.plain(other.text, 60)})"
            if other is not None and other is not r
            else (" (an alternative to another line)" if r.alternative_to else "")
        )
        dose = fmt_dose(r.dose)
        only = f" [only {r.when}]" if r.when else ""
        lines.append(f"  - {r.text}{alt}{only}")
        if dose:
            lines.append(
                f"      dose: {dose}"
                + (f", {r.route}" if r.route else "")
                + (f", {r.frequency}" if r.frequency else "")
            )
        elif r.drug and r.dose_missing_reason:
            reason = re.sub(r"(?i)^\s*no dose\s*:\s*", "", r.dose_missing_reason)
            lines.append(f"      no dose: {reason}")
        lines.append(f"      sources: {_cites(r.sources)}")
    if a.data_quality:
        lines.append("")
        lines.append("Data that could not be read")
        for d in a.data_quality:
            lines.append(f"  {d['ref']}: {d['problem']}")
    lines.append("")
    lines.append(a.disclaimer)
    used = sorted(
        {s.partition(":")[0] for r in a.recommendations for s in r.sources}
        | {"lee2014", "astct2019", "ctcae5"}
    )
    lines.append("Sources: " + "; ".join(SOURCES[s].citation for s in used if s in SOURCES))
    # Units and source names as clinicians write them (°C, µg/min, Lee 2014), never UCUM or ids.
    return "\n".join(format.clinical(line) for line in lines) + "\n"
