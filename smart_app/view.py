"""What the page shows, derived from an `Assessment` and the Patient resource: plain values for
the template (which escapes everything it prints)."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from services import format
from services.knowledge.sources import GRADING_SYSTEMS, SOURCES

SYSTEMS = tuple(GRADING_SYSTEMS.items())

ACTION_LABELS = {
    "continue": "Continue checkpoint inhibitor",
    "hold": "Hold checkpoint inhibitor",
    "discontinue": "Permanently discontinue checkpoint inhibitor",
}


def banner(patient: dict[str, Any]) -> dict[str, str | None]:
    name = None
    for n in patient.get("name") or []:
        if not isinstance(n, dict):
            continue
        if n.get("text"):
            name = n["text"]
        else:
            given = " ".join(g for g in n.get("given") or [] if isinstance(g, str))
            name = " ".join(x for x in (given, n.get("family") or "") if x) or None
        if name and n.get("use") in (None, "official", "usual"):
            break
    birth = patient.get("birthDate")
    age = None
    if isinstance(birth, str) and len(birth) >= 10:
        try:
            b = date.fromisoformat(birth[:10])
            today = date.today()
            age = str(today.year - b.year - ((today.month, today.day) < (b.month, b.day)))
        except ValueError:
            age = None
    return {
        "name": name or "(name not recorded)",
        "birth_date": birth if isinstance(birth, str) else None,
        "age": age,
        "gender": patient.get("gender") if isinstance(patient.get("gender"), str) else None,
    }


def source_links(refs: Any) -> list[dict[str, str]]:
    """Citations as label, locator and URL (URL empty when the source has none)."""
    out = []
    for ref in format.refs(refs):
        sid, _, locator = str(ref).partition(":")
        src = SOURCES.get(sid.strip())
        if src is None:
            out.append({"label": str(ref), "locator": "", "url": "", "title": ""})
        else:
            out.append(
                {
                    "label": src.label,
                    "locator": locator.strip(),
                    "url": src.url,
                    "title": src.citation,
                }
            )
    return out


def fmt_time(t: datetime | None) -> str:
    """A time in the site's zone (IMMUNOTOX_TIMEZONE), the zone shown: "20 Nov 2026 13:00 CET"."""
    return format.when(t, "%d %b %Y %H:%M")


def fmt_short(t: datetime | None) -> str:
    """Day and time in the site's zone, for tables: "20 Nov 13:00"."""
    return format.local(t).strftime("%d %b %H:%M") if t else "—"


def fmt_ago(t: datetime | None, now: datetime | None) -> str:
    return format.ago(t, now)


# Decimals a clinician reads per series (the chart's data table); others: whole numbers.
_DECIMALS = {"temperature": 1, "o2_flow": 1, "il6": 1, "crp": 1}


def fmt_value(series: str, v: float) -> str:
    """A value rounded as clinicians read it: 39.2 (°C), 92 (mmHg), 3.5 (L/min)."""
    places = _DECIMALS.get(series, 0)
    r = round(float(v), places)
    return f"{r:.{places}f}" if places else f"{r:.0f}"


def fmt_rate(rate: Any, unit: str | None) -> str:
    if not isinstance(rate, (int, float)):
        return "rate not recorded"
    return f"{format.num(rate)} {format.UNITS.get(unit or '', unit or '')}".strip()


def instant(raw: Any) -> datetime | None:
    from services.timeutil import parse_instant

    return parse_instant(raw) if isinstance(raw, str) else raw


def zone_name() -> str:
    return format.zone_name()


def fmt_grade(g: int | None) -> str:
    return "not gradable" if g is None else ("no CRS" if g == 0 else f"Grade {g}")


def fmt_dose(dose: Any) -> str:
    """The one formatter's dose: "624 mg", "78-156 mg/day"."""
    return format.dose(dose) if dose is not None else ""


def no_dose_reason(r: Any) -> str:
    """Why a drug line has no dose, said once ("No dose: No dose: ..." never)."""
    return re.sub(r"(?i)^\s*no dose\s*:\s*", "", r.dose_missing_reason or "")


def alternative_of(a: Any, r: Any) -> str:
    """The plan line an alternative stands in for, in a few words."""
    other = next((x for x in a.recommendations if x.id == r.alternative_to), None)
    if other is None:
        return "another line of this plan"
    if other.drug and other.dose:
        return f"{other.drug} {format.dose(other.dose)}"
    return other.service or other.drug or format.plain(other.text, 60)


def app_context_note(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return "Opened from a decision-support card."
    if isinstance(doc, dict) and isinstance(doc.get("reason"), str):
        return f"Opened from a decision-support card: {doc['reason'][:200]}"
    return "Opened from a decision-support card."


def criterion_text(c: Any) -> str:
    """The rule text without a leading "Grade N: " that repeats the grade shown beside it."""
    prefix = f"Grade {c.grade}: "
    return c.text[len(prefix) :] if c.text.startswith(prefix) else c.text


def crs_header(a: Any) -> dict[str, Any]:
    """Whether CRS grading applies, the primary system, and the systems grading higher."""
    labels = dict(SYSTEMS)
    att = getattr(a, "crs_attribution", None)
    primary = getattr(a, "crs_primary_system", "astct2019")
    r = a.crs.get(primary)
    not_graded = r.notes[0] if r is not None and r.grade == 0 and r.findings and r.notes else ""
    return {
        "not_graded_note": not_graded if att is None or att.applies else "",
        "applies": att is None or att.applies,
        "reason": att.reason if att is not None else "",
        "primary": labels.get(primary, primary),
        "primary_key": primary,
        "higher": [
            {"label": labels.get(h["system"], h["system"]), "grade": h["grade"], "why": h["why"]}
            for h in getattr(a, "crs_higher_than_primary", [])
        ],
    }


_SEVERITY = {"discontinue": 3, "hold": 2, "continue": 1}


def at_a_glance(a: Any) -> dict[str, Any]:
    """The few lines a clinician reads first: the checkpoint-inhibitor decision, urgent
    actions, and the data whose absence could change a grade."""
    acted = [f for f in a.irae if f.checkpoint_inhibitor_action in _SEVERITY]
    ici = None
    if acted:
        worst = max(_SEVERITY[f.checkpoint_inhibitor_action] for f in acted)
        action = next(k for k, v in _SEVERITY.items() if v == worst)
        ici = {
            "action": action,
            "label": ACTION_LABELS[action],
            "drugs": sorted({e.drug for e in a.checkpoint_inhibitors}),
            "because": [f.label for f in acted if f.checkpoint_inhibitor_action == action],
        }
    urgent = [r for r in a.recommendations if r.urgency == "urgent"]
    missing: list[str] = []
    for r in a.crs.values():
        for m in r.missing:
            if m.data not in missing:
                missing.append(m.data)
    icans = getattr(a, "icans", None)
    if icans is not None and icans.applies:
        for m in icans.missing:
            if m.data not in missing:
                missing.append(m.data)
    return {"ici": ici, "urgent": urgent, "missing": missing}
