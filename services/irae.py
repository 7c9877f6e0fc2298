"""Checkpoint-inhibitor exposure and the immune-related adverse events attributed to it.

Rules (what a grade means for the drug, how a rash grade is read from body surface area) are
rows of `knowledge.irae`; this module only applies them to one patient's data.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from services.knowledge import irae as K
from services.model import (
    ConditionFact,
    CrsAttribution,
    Evidence,
    Exposure,
    GradeResult,
    IraeExclusion,
    IraeFinding,
    Missing,
    PatientData,
    TestResult,
)

THERAPY_CLASSES = ("checkpoint_inhibitor", "cellular_therapy", "bispecific")


def exposures(data: PatientData, at: datetime) -> list[Exposure]:
    """One row per drug of the CRS-causing therapies, with its last dose up to `at`."""
    by_drug: dict[str, list] = {}
    for d in data.drugs:
        if d.drug_class in THERAPY_CLASSES and (d.time is None or d.time <= at):
            by_drug.setdefault(d.drug, []).append(d)
    out = []
    for drug, events in by_drug.items():
        given = [e for e in events if e.kind == "administration" and e.time is not None]
        basis = "administration"
        if not given:
            given = [e for e in events if e.kind == "statement" and e.time is not None]
            basis = "statement"
        if not given:
            given = [e for e in events if e.time is not None]
            basis = "order"
        times = [e.time for e in events if e.time is not None]
        last = (
            max((e.end or e.time for e in given), default=None)
            if basis == "statement"
            else (max((e.time for e in given), default=None))
        )
        out.append(
            Exposure(
                drug=drug,
                drug_class=events[0].drug_class,
                target=events[0].target,
                first_seen=min(times) if times else None,
                last_given=last,
                basis=basis,
                refs=tuple(dict.fromkeys(e.ref for e in events)),
            )
        )
    out.sort(key=lambda e: (e.drug_class, e.drug))
    return out


def _first_dose(ici: list[Exposure]) -> tuple[datetime | None, str]:
    dated = [e for e in ici if e.first_seen is not None]
    if not dated:
        return None, ""
    e = min(dated, key=lambda x: x.first_seen)  # type: ignore[arg-type,return-value]
    return e.first_seen, e.drug


def _explaining_test(c: ConditionFact, data: PatientData, at: datetime) -> TestResult | None:
    """A positive test for an infection that explains this finding, near its onset."""
    days, _src = K.INFECTION_TEST_WINDOW_DAYS
    if c.onset is None:
        return None
    lo, hi = c.onset - timedelta(days=days), min(c.onset + timedelta(days=days), at)
    hits = [t for t in data.tests if t.positive and c.kind in t.kinds and lo <= t.time <= hi]
    return max(hits, key=lambda t: t.time) if hits else None


def _attribution(
    c: ConditionFact, ici: list[Exposure], at: datetime, data: PatientData
) -> tuple[str | None, str, tuple[Evidence, ...], str | None]:
    """(reason it is excluded or None, why it is attributed, extra evidence, source)."""
    if c.excluded:
        return c.excluded, "", (), c.exclusion_source
    first, drug = _first_dose(ici)
    last = max((e.last_given for e in ici if e.last_given), default=None)
    if c.onset is None:
        if c.recorded is not None and first is not None and c.recorded < first:
            return (
                f"pre-existing: recorded {_d(c.recorded)}, before the first {drug} dose "
                f"({_d(first)})",
                "",
                (),
                K.ATTRIBUTION_SOURCE,
            )
        return K.ONSET_UNKNOWN, "", (), K.ATTRIBUTION_SOURCE
    if first is not None and c.onset < first:
        return (
            f"pre-existing: onset {_d(c.onset)}, before the first {drug} dose ({_d(first)})",
            "",
            (),
            K.ATTRIBUTION_SOURCE,
        )
    days, _src = K.ATTRIBUTION_WINDOW_DAYS
    if last is not None and c.onset - last > timedelta(days=days):
        return (
            f"onset {_d(c.onset)}, more than {days} days after the last checkpoint-inhibitor "
            f"dose ({_d(last)}): a delayed irAE is possible but is not assumed",
            "",
            (),
            K.ATTRIBUTION_WINDOW_DAYS[1],
        )
    test = _explaining_test(c, data, at)
    if test is not None:
        return (
            f"positive {test.label} on {_d(test.time)}: an infection explains it (not an irAE); "
            "treat it and re-assess",
            "",
            (Evidence(test.ref, f"{test.label}: positive", test.time),),
            test.source,
        )
    since = (
        f", {(c.onset - first).days} days after the first {drug} dose ({_d(first)})"
        if first
        else ""
    )
    how = "text-matched (no recognised code)" if c.text_matched else "coded"
    return None, f"onset {_d(c.onset)}{since}; {how}", (), None


def _d(t: datetime) -> str:
    return t.date().isoformat()


def _rash_bsa(c: ConditionFact) -> float | None:
    if c.bsa_percent is not None:
        return c.bsa_percent
    m = re.search(
        r"(\d+(?:\.\d+)?)\s*%\s*(?:of\s*)?(?:bsa|body surface)", c.text, re.IGNORECASE
    ) or re.search(r"bsa\s*(\d+(?:\.\d+)?)\s*%", c.text, re.IGNORECASE)
    return float(m.group(1)) if m else None


def findings(
    data: PatientData,
    at: datetime,
    expos: list[Exposure],
    crs: dict[str, GradeResult],
    excluded: list[IraeExclusion] | None = None,
    *,
    attribution: CrsAttribution | None = None,
    primary: str = "astct2019",
) -> list[IraeFinding]:
    """The irAEs attributed to the checkpoint inhibitor. Conditions that look like irAEs but
    are not attributed (an infection, present before the first dose, onset unknown) are added
    to `excluded` with their reason when a list is given."""
    if excluded is None:
        excluded = []
    ici = [e for e in expos if e.drug_class == "checkpoint_inhibitor"]
    out: list[IraeFinding] = []
    # CRS: an irAE only when attributed to the checkpoint inhibitor (services.attribution); its
    # grade is the primary system's, and the finding says so.
    coded_crs = [c for c in data.conditions if c.kind == "crs" and c.active]
    graded = {s: r.grade for s, r in crs.items() if r.grade is not None}
    if attribution is None:
        top, ours = max(graded.values(), default=None), True
    else:
        top = graded.get(primary)
        ours = attribution.applies and attribution.drug_class == "checkpoint_inhibitor"
    if ici and ours and ((top is not None and top >= 1) or coded_crs):
        ev = [Evidence(c.ref, c.text, c.onset) for c in coded_crs]
        if attribution is not None:
            ev.append(Evidence("derived/attribution", attribution.reason, attribution.onset))
        if top is not None and top >= 1 and attribution is None:
            grade = top
            basis = "highest of " + ", ".join(f"{s} grade {g}" for s, g in graded.items())
        elif top is not None and top >= 1:
            grade = top
            basis = f"{primary} grade {top} (the primary system); " + ", ".join(
                f"{s} grade {g}" for s, g in graded.items() if s != primary
            )
        else:
            recorded = [c.grade for c in coded_crs if c.grade]
            grade = max(recorded) if recorded else None
            basis = "recorded on the condition" if recorded else "CRS recorded without a grade"
        out.append(_finding("crs", grade, basis, ev, []))
    # Conditions attributed to the checkpoint inhibitor; the others are excluded with a reason.
    seen: dict[str, list[ConditionFact]] = {}
    why: dict[str, list[str]] = {}
    for c in data.conditions:
        if c.kind in ("crs", "ici_adverse_effect") or not c.active or not ici:
            continue
        if c.onset is not None and c.onset > at:
            continue
        reason, attribution, extra, src = _attribution(c, ici, at, data)
        if reason is not None:
            excluded.append(
                IraeExclusion(
                    kind=c.kind,
                    label=K.KINDS.get(c.kind, c.kind.replace("_", " ")),
                    reason=reason,
                    evidence=(Evidence(c.ref, c.text, c.onset), *extra),
                    sources=tuple(x for x in (src,) if x),
                    text_matched=c.text_matched,
                )
            )
            continue
        seen.setdefault(c.kind, []).append(c)
        why.setdefault(c.kind, []).append(attribution)
    for kind, conds in seen.items():
        grade: int | None = None
        basis = ""
        missing: list[Missing] = []
        extra_sources: list[str] = []
        if kind == "rash":
            bsa = max((b for b in (_rash_bsa(c) for c in conds) if b is not None), default=None)
            if bsa is not None:
                for limit, g, text, src in K.RASH_BSA:
                    if bsa < limit or (limit == 30.0 and bsa <= 30.0):
                        grade, basis = g, f"{text} (recorded {bsa:g}% BSA)"
                        extra_sources.append(src)
                        break
                if grade == 3:
                    missing.append(
                        Missing(
                            "symptoms and self-care limitation",
                            "Only mild symptoms without limits on self-care would make it grade 2",
                        )
                    )
        if grade is None:
            recorded = [c.grade for c in conds if c.grade is not None]
            if recorded:
                grade, basis = max(recorded), "grade recorded on the condition"
        if grade is None:
            basis = "no grade recorded"
            what = (
                "body surface area of the rash"
                if kind == "rash"
                else "a CTCAE grade on the condition"
            )
            missing.append(
                Missing(what, "The grade decides the plan; record it to get a graded plan")
            )
        ev = [Evidence(c.ref, c.text, c.onset) for c in conds]
        f = _finding(kind, grade, basis, ev, missing, extra_sources)
        rechallenge = K.rechallenge_for(kind, grade)
        out.append(
            IraeFinding(
                **{
                    **{k: getattr(f, k) for k in f.__slots__},  # type: ignore[attr-defined]
                    "attribution": "; ".join(dict.fromkeys(why[kind])),
                    "text_matched": all(c.text_matched for c in conds),
                    "rechallenge": rechallenge[0] if rechallenge else None,
                }
            )
        )
    return out


def _finding(
    kind: str,
    grade: int | None,
    basis: str,
    ev: list[Evidence],
    missing: list[Missing],
    extra_sources: list[str] | None = None,
) -> IraeFinding:
    rule = K.action_for(kind, grade)
    action = rule.action if rule else None
    reason = rule.text if rule else "No action without a grade: the grade is missing"
    sources = tuple(dict.fromkeys([*(extra_sources or []), *([rule.source] if rule else [])]))
    return IraeFinding(
        kind=kind,
        label=K.KINDS.get(kind, kind),
        grade=grade,
        grade_basis=basis,
        checkpoint_inhibitor_action=action,
        action_reason=reason,
        evidence=tuple(ev),
        sources=sources,
        missing=tuple(missing),
    )


def strictest_action(found: list[IraeFinding], at_least: str = "continue") -> IraeFinding | None:
    """The finding whose checkpoint-inhibitor action is strictest (`knowledge.irae.ACTION_ORDER`;
    the higher grade on a tie), among those at least as strict as `at_least`; None if none."""
    floor = K.ACTION_ORDER[at_least]
    acted = [
        f
        for f in found
        if f.checkpoint_inhibitor_action is not None
        and K.ACTION_ORDER[f.checkpoint_inhibitor_action] >= floor
    ]
    return max(
        acted,
        key=lambda f: (K.ACTION_ORDER[f.checkpoint_inhibitor_action or ""], f.grade or 0),
        default=None,
    )
