"""Render every knowledge table as Markdown (docs/clinical-rules.md is this output; a test keeps
them equal, so the document cannot drift from the rules the code runs)."""

from __future__ import annotations

from services.knowledge import codes, crs, dosing, irae, irae_plan, orders, writeback
from services.knowledge import courses as co
from services.knowledge import crs_plan as cp
from services.knowledge import icans as ki
from services.knowledge.sources import RULESET_VERSION, SOURCES


def _row(*cells: object) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def render() -> str:
    out: list[str] = [
        "# Clinical rules",
        "",
        f"Rule set **{RULESET_VERSION}**. Generated from `services/knowledge/` by "
        "`immunotox rules`; do not edit by hand. Every row names its source; `immunotox:` marks a "
        "convention of this product where the sources are silent.",
        "",
        "## Sources",
        "",
        _row("id", "citation", "link"),
        _row("---", "---", "---"),
    ]
    out += [_row(s.id, s.citation, s.url or "-") for s in SOURCES.values()]
    out += [
        "",
        "## Thresholds and windows (CRS)",
        "",
        _row("id", "value", "unit", "rule", "source"),
        _row(*["---"] * 5),
    ]
    out += [_row(p.id, f"{p.value:g}", p.unit, p.text, p.source) for p in crs.PARAMS.values()]
    out += [
        "",
        "Norepinephrine-equivalent (µg/min) = "
        + " + ".join(f"{c:g} × {d}" for d, c in crs.NE_EQUIVALENT.items() if c)
        + f" (dopamine in µg/kg/min, the others in µg/min); source: {crs.NE_EQUIVALENT_SOURCE}.",
        "",
        "### Hypotension in children, by age",
        "",
        _row("measure", "age from (years)", "age below (years)", "limit (mm Hg)", "rule", "source"),
        _row(*["---"] * 6),
    ]
    out += [
        _row(
            a.series,
            f"{a.min_years:.3g}",
            f"{a.max_years:.3g}",
            f"<{a.base:g}" + (f" + {a.per_year:g} × age" if a.per_year else ""),
            a.text,
            a.source,
        )
        for a in crs.AGE_LIMITS
    ]
    out += [
        "",
        "## Fever first, attribution and the primary system (CRS)",
        "",
        f"- Without fever: {crs.AFEBRILE_NOTE}",
        f"- Organ toxicity alone after the onset: {crs.ORGAN_ALONE_NOTE[0]} "
        f"({crs.ORGAN_ALONE_NOTE[1]}).",
        f"- Fever is no longer required when, after a fever or a recorded CRS in the episode, a "
        f"drug of class {', '.join(sorted(crs.FEVER_LIFTING_CLASSES))} was given "
        f"({crs.FEVER_LIFTING_SOURCE}).",
        f"- An onset is also marked by a drug of class {', '.join(sorted(crs.ONSET_MARKING_CLASSES))} "
        f"given after a dose of a CRS-associated therapy ({crs.ONSET_MARKING_SOURCE}).",
        f"- Without exposure: {crs.NOT_APPLICABLE_NOTE}",
        f"- Primary system (drives the plan): {crs.DEFAULT_PRIMARY} by default; "
        f"IMMUNOTOX_CRS_PRIMARY = {' | '.join(crs.PRIMARY_SYSTEMS)} ({crs.PRIMARY_SOURCE}).",
        "",
        "CRS is graded as an adverse event of one therapy: its onset must fall within the window "
        "after that therapy's most recent dose; when several fit, the lower rank wins, then the "
        "most recent dose.",
        "",
        _row("therapy class", "rank", "window (days after dose)", "rule", "source"),
        _row(*["---"] * 5),
    ]
    out += [_row(w.drug_class, w.rank, f"{w.days:g}", w.text, w.source) for w in crs.ONSET_WINDOWS]
    out += ["", _row("system", "why it may grade higher than the primary one"), _row("---", "---")]
    out += [_row(k, v) for k, v in crs.WHY_HIGHER.items()]
    out += [
        "",
        "## Grading criteria",
        "",
        _row("id", "system", "grade", "criterion", "source"),
        _row(*["---"] * 5),
    ]
    out += [_row(r.id, r.system, r.grade, r.text, r.source) for r in crs.RULES.values()]
    out += [
        "",
        "## Organ toxicity from laboratory results (Lee 2014 organ grades)",
        "",
        _row("lab", "grade", "above × ULN", "source"),
        _row(*["---"] * 4),
    ]
    out += [_row(r.series, r.grade, f"{r.above_uln:g}", r.source) for r in crs.ORGAN_TOXICITY]
    out += ["", _row("lab", "fallback ULN", "source"), _row(*["---"] * 3)]
    out += [_row(k, f"{v:g}", s) for k, (v, s) in crs.FALLBACK_ULN.items()]
    out += [
        "",
        "## Checkpoint-inhibitor action by irAE and grade",
        "",
        _row("irAE", "grade", "action", "rule", "source"),
        _row(*["---"] * 5),
    ]
    out += [
        _row(r.kind, "any" if r.grade is None else r.grade, r.action, r.text, r.source)
        for r in irae._ACTIONS
    ]
    out += ["", _row("rash BSA below", "grade", "rule", "source"), _row(*["---"] * 4)]
    out += [_row(f"{lim:g}%", g, t, s) for lim, g, t, s in irae.RASH_BSA]
    out += [
        "",
        "### irAE grade read from the record (CTCAE v5, as in ASCO 2021)",
        "",
        "A recorded grade and a computed one are both shown; the higher drives the plan. "
        "A missing reference range or baseline is reported as missing, never assumed. "
        f"Labs: the latest of the last {irae.LAB_GRADE_MAX_AGE_DAYS[0]} days "
        f"({irae.LAB_GRADE_MAX_AGE_DAYS[1]}). Creatinine baseline: "
        f"{irae.CREATININE_BASELINE_DAYS[1]}. Pneumonitis from oxygen in the last "
        f"{irae.PNEUMONITIS_O2_WINDOW_HOURS[0]} hours: "
        + "; ".join(t for _g, t in irae.PNEUMONITIS_O2)
        + f" ({irae.PNEUMONITIS_O2_SOURCE}).",
        "",
        _row("irAE", "lab", "basis", "above", "grade", "rule", "source"),
        _row(*["---"] * 7),
    ]
    out += [
        _row(
            r.kind,
            r.series,
            r.basis,
            (">=" if r.inclusive else ">") + f"{r.above:g}",
            r.grade,
            r.text,
            r.source,
        )
        for r in irae.LAB_GRADES
    ]
    out += [
        "",
        f"Myocarditis: {irae.MYOCARDITIS_CONDUCTION[2]}, when recorded within "
        f"{irae.MYOCARDITIS_CONDUCTION[1]} days of it ({irae.MYOCARDITIS_CONDUCTION[3]}). "
        f"After a permanent discontinuation: {irae.NO_RESUME[0]} ({irae.NO_RESUME[1]}). "
        f"{irae.THYROIDITIS_HYPOTHYROID_PHASE[0].format(action='its action')} "
        f"({irae.THYROIDITIS_HYPOTHYROID_PHASE[1]}). Arthritis {irae.PREEXISTING_FLARE} "
        f"({codes.PREEXISTING_AUTOIMMUNE[1]}).",
    ]
    out += [
        "",
        f"Resume rule: {irae.RESUME_RULE[0]} ({irae.RESUME_RULE[1]}). Attribution window: "
        f"{irae.ATTRIBUTION_WINDOW_DAYS[0]} days ({irae.ATTRIBUTION_WINDOW_DAYS[1]}).",
        "",
        "## Attribution of irAEs",
        "",
        "A condition is attributed to the checkpoint inhibitor only when its onset follows the "
        "first checkpoint-inhibitor dose and nothing else explains it "
        f'({irae.ATTRIBUTION_SOURCE}). Without an onset date: "{irae.ONSET_UNKNOWN}". '
        f"A positive infection test within {irae.INFECTION_TEST_WINDOW_DAYS[0]} days of onset "
        f"explains it ({irae.INFECTION_TEST_WINDOW_DAYS[1]}). Codes match exactly per system; "
        "text is read only when no code is recognised, is labelled text-matched, and any of "
        "these words excludes it: " + ", ".join(codes.INFECTION_TERMS) + ".",
        "",
        "### Exclusions (another cause, above all infection)",
        "",
        _row("mimics", "codes", "code families", "reason", "source"),
        _row(*["---"] * 5),
        *[
            _row(
                e.kind,
                ", ".join(x.split("|")[1] for x in e.codes) or "-",
                ", ".join(x.split("|")[1] + "*" for x in e.prefixes) or "-",
                e.reason,
                e.source,
            )
            for e in codes.EXCLUSIONS
        ],
        "",
        "### Tests that explain a finding when positive",
        "",
        _row("test", "LOINC", "names matched", "explains", "source"),
        _row(*["---"] * 5),
        *[
            _row(
                t.label,
                ", ".join(x.split("|")[1] for x in t.codes) or "-",
                ", ".join(t.terms),
                ", ".join(t.kinds),
                t.source,
            )
            for t in codes.INFECTION_TESTS
        ],
        "",
        "## irAE management, condition by condition and grade by grade",
        "",
        "Each condition has one module in `services/plan/` that reads these rows. `any` applies "
        "at every grade, an unknown grade too; `when` names the flag a module sets (mass effect, "
        "overlap, colitis present, no grade recorded). Doses are the regimens below.",
        "",
        _row("irAE", "grades", "id", "category", "step", "regimen", "when", "source"),
        _row(*["---"] * 8),
        *[
            _row(
                st.kind,
                "any" if st.grades is None else ", ".join(str(g) for g in st.grades),
                st.id,
                st.category,
                st.text or "-",
                st.regimen or "-",
                st.when or "-",
                st.source,
            )
            for st in irae_plan.STEPS
        ],
        "",
        "## Rechallenge after an irAE",
        "",
        _row("irAE", "from grade", "rule", "source"),
        _row(*["---"] * 4),
        *[
            _row(r.kind, "any" if r.min_grade is None else r.min_grade, r.text, r.source)
            for r in irae.RECHALLENGE
        ],
        "",
        "## Doses",
        "",
        _row("id", "drug", "per kg", "fixed", "unit", "cap", "applies to", "route", "source"),
        _row(*["---"] * 9),
    ]
    for r in dosing._REGIMENS:
        per_kg = (
            ""
            if r.per_kg_low is None
            else f"{r.per_kg_low:g}" + (f"-{r.per_kg_high:g}" if r.per_kg_high else "")
        )
        fixed = (
            ""
            if r.fixed_low is None
            else f"{r.fixed_low:g}" + (f"-{r.fixed_high:g}" if r.fixed_high else "")
        )
        cap = f"{r.cap:g} ({r.cap_source})" if r.cap is not None else "-"
        applies = (
            ", ".join(
                x
                for x in (
                    f"weight ≥{r.min_weight_kg:g} kg" if r.min_weight_kg else "",
                    f"weight <{r.max_weight_kg:g} kg" if r.max_weight_kg else "",
                    f"age ≥{r.min_age:g} y" if r.min_age else "",
                    f"age <{r.max_age:g} y" if r.max_age else "",
                )
                if x
            )
            or "all"
        )
        out.append(
            _row(r.id, r.drug, per_kg, fixed, r.unit, cap, applies, r.route or "-", r.source)
        )
    out += [
        "",
        "PJP prophylaxis is suggested at "
        + " or ".join(
            f"≥{mg:g} mg/day prednisone-equivalent for ≥{d} days" for mg, d in dosing.PJP_THRESHOLDS
        )
        + f" ({dosing.PJP_SOURCE}).",
        "",
        "## Courses: what has already been given",
        "",
        _row(
            "regimen", "doses per episode", "hours apart", "mg per dose at most", "rule", "source"
        ),
        _row(*["---"] * 6),
    ]
    out += [
        _row(
            r.regimen,
            r.max_doses,
            f"{r.min_interval_h:g}",
            f"{r.max_mg_per_dose:g}",
            r.text,
            r.source,
        )
        for r in co.TOCILIZUMAB_COURSE.values()
    ]
    out += [
        "",
        f"Tocilizumab episode: doses each within {co.TOCILIZUMAB_EPISODE_GAP_DAYS[0]} days of the "
        f"previous one ({co.TOCILIZUMAB_EPISODE_GAP_DAYS[1]}). No improvement: "
        f"{co.TOCILIZUMAB_RESPONSE_WINDOW_H[0]:g} hours after the last dose with a CRS grade no "
        f"lower than at that dose ({co.TOCILIZUMAB_RESPONSE_WINDOW_H[1]}). An order with status "
        f"{', '.join(sorted(co.TOCILIZUMAB_ORDER_AS_DOSE[0]))} and no administration charted at "
        f"or after it (or up to {co.TOCILIZUMAB_ORDER_CHARTING_SLACK_H[0]:g} h before it) counts "
        f"as a dose at the time it was ordered ({co.TOCILIZUMAB_ORDER_AS_DOSE[1]}; "
        f"{co.TOCILIZUMAB_ORDER_CHARTING_SLACK_H[1]}).",
        "",
        f"Corticosteroid course: days at most {co.STEROID_COURSE_GAP_DAYS[0]} days apart "
        f"({co.STEROID_COURSE_GAP_DAYS[1]}), read over at most the last "
        f"{co.STEROID_COURSE_LOOKBACK_DAYS[0]} days ({co.STEROID_COURSE_LOOKBACK_DAYS[1]}); taper over {co.TAPER_WEEKS[0]}-{co.TAPER_WEEKS[1]} "
        f"weeks ({co.TAPER_WEEKS[2]}); high dose at ≥{co.HIGH_DOSE_MG_PER_KG[0]:g} mg/kg/day "
        f"({co.HIGH_DOSE_MG_PER_KG[1]}) or, without a weight, ≥"
        f"{co.HIGH_DOSE_MG_PER_DAY_NO_WEIGHT[0]:g} mg/day ({co.HIGH_DOSE_MG_PER_DAY_NO_WEIGHT[1]}); "
        f"resume at ≤{co.RESUME_MAX_MG_PER_DAY[0]:g} mg/day prednisone-equivalent "
        f"({co.RESUME_MAX_MG_PER_DAY[1]}; other readings: {co.RESUME_MAX_MG_PER_DAY[2]}). "
        f"When CAR T cells or a T-cell engager were given after any checkpoint inhibitor, the "
        f"course is not an irAE course: {co.EFFECTOR_TAPER[0]} ({co.EFFECTOR_TAPER[1]}), no "
        "resume rule.",
        "",
        _row("taper while above (mg/day)", "step (mg)", "every (days)", "source"),
        _row(*["---"] * 4),
    ]
    out += [
        _row(
            f"{t.above_mg:g}",
            f"{t.step_mg:g}",
            f"{t.every_days_fastest}-{t.every_days_slowest}",
            t.source,
        )
        for t in co.TAPER_STEPS
    ]
    out += ["", _row("irAE", "days without improvement", "then", "source"), _row(*["---"] * 4)]
    out += [_row(r.kind, f"{r.days:g}", r.action, r.source) for r in co.REFRACTORY]
    out += ["", _row("PJP: prednisone-equivalent mg/day", "days", "source"), _row(*["---"] * 3)]
    out += [
        _row(f"{'≥' if r.inclusive else '>'}{r.mg_per_day:g}", f"≥{r.days}", r.source)
        for r in co.PJP_RULES
    ]
    out += [
        "",
        "## CRS plan after CAR T cells and T-cell engagers",
        "",
        "Tocilizumab is cited with the label and, for checkpoint-inhibitor CRS, "
        f"{cp.TOCILIZUMAB_SOURCE['ici']}; for CRS after CAR T cells or a T-cell engager, "
        f"{cp.TOCILIZUMAB_SOURCE['effector']}.",
        "",
        _row("corticosteroid", "from grade", "below grade", "only after tocilizumab", "source"),
        _row(*["---"] * 5),
    ]
    out += [
        _row(
            r.regimen,
            r.min_grade,
            "-" if r.max_grade is None else r.max_grade,
            "yes" if r.after_tocilizumab else "no",
            r.source,
        )
        for r in cp.EFFECTOR_STEROIDS
    ]
    out += [
        "",
        f"Refractory (no improvement or the tocilizumab maximum reached, on corticosteroids): "
        f"{cp.REFRACTORY_STEROID[0]} ({cp.REFRACTORY_STEROID[1]}); at grade 4: "
        f"{cp.REFRACTORY_G4_TEXT[0]} ({cp.REFRACTORY_G4_TEXT[1]}). Infliximab is not offered "
        "for CRS. Lee 2014 methylprednisolone is not offered beside "
        + ", ".join(sorted(cp.LEE_NOT_BESIDE[0]))
        + f" ({cp.LEE_NOT_BESIDE[1]}).",
        "",
        _row("refractory agent", "dosed by", "text", "source"),
        _row(*["---"] * 4),
    ]
    out += [_row(a.drug, a.regimen or "-", a.text, a.source) for a in cp.REFRACTORY_AGENTS]
    out += ["", _row("T-cell engager", "during CRS", "source"), _row(*["---"] * 3)]
    out += [_row(h.drug, h.text, h.source) for h in cp.ENGAGER_HOLD.values()]
    out += [_row("any other", cp.ENGAGER_HOLD_UNREAD[0], cp.ENGAGER_HOLD_UNREAD[1])]
    chronic = cp.CHRONIC_STEROIDS
    out += [
        "",
        f"Any CRS of grade {chronic.min_grade} or more, after long-term corticosteroids: "
        f"{chronic.text} ({chronic.source}).",
    ]
    out += [
        "",
        "## Order checks: dose maxima",
        "",
        _row("drug", "per", "mg", "mg/kg", "applies", "rule", "source"),
        _row(*["---"] * 7),
    ]
    for m in orders.DOSE_MAXIMA:
        weights = ", ".join(
            x
            for x in (
                f"weight ≥{m.min_weight_kg:g} kg" if m.min_weight_kg else "",
                f"weight <{m.max_weight_kg:g} kg" if m.max_weight_kg else "",
            )
            if x
        )
        applies = ("every order" if m.always else "while the plan doses it") + (
            f", {weights}" if weights else ""
        )
        out.append(
            _row(
                m.drug,
                m.per,
                "-" if m.mg is None else f"{m.mg:g}",
                "-" if m.mg_per_kg is None else f"{m.mg_per_kg:g}",
                applies,
                m.text,
                m.source,
            )
        )
    out += [
        "",
        f"Tablet and pill counts ({', '.join(sorted(orders.COUNT_UNITS))}; "
        f"{orders.COUNT_UNITS_SOURCE}) are converted with the product's strength.",
        "",
        "## Code sets",
        "",
        "### Drugs",
        "",
        _row("drug", "class", "target", "codes", "names matched", "source"),
        _row(*["---"] * 6),
    ]
    for d in codes.DRUGS:
        out.append(
            _row(
                d.name,
                d.drug_class,
                d.target or "-",
                ", ".join(c.split("|")[1] for c in d.codes) or "-",
                ", ".join(d.terms),
                d.source,
            )
        )
    out += [
        "",
        "### Product strengths (RxNorm clinical drugs)",
        "",
        _row("code", "drug", "mg per unit", "form", "source"),
        _row(*["---"] * 5),
    ]
    out += [
        _row(s.code.split("|")[1], s.drug, f"{s.mg_per_unit:g}", s.form, s.source)
        for s in codes.STRENGTHS
    ]
    out += [
        "",
        "### Observations (LOINC)",
        "",
        _row("series", "LOINC", "unit", "source"),
        _row(*["---"] * 4),
    ]
    for s in codes.SERIES:
        out.append(_row(s.name, ", ".join(c.split("|")[1] for c in s.codes), s.unit, s.source))
    out += [
        "",
        "### Oxygen support (SNOMED CT)",
        "",
        _row("code", "support", "label"),
        _row(*["---"] * 3),
    ]
    out += [_row(c.split("|")[1], level.name.lower(), label) for c, level, label in codes.O2_CODES]
    out += [
        "",
        f"Exact names read on a Procedure, DeviceUseStatement or Device without a code above "
        f"({codes.O2_NAMES_SOURCE}):",
        "",
        _row("name", "support"),
        _row("---", "---"),
    ]
    out += [_row(n, level.name.lower()) for n, level in codes.O2_NAMES]
    out += [
        "",
        "The same names are read as the value of a device Observation whose code is named "
        + ", ".join(f"'{n}'" for n in codes.O2_DEVICE_OBSERVATION_NAMES)
        + f" ({codes.O2_DEVICE_OBSERVATION_SOURCE}). Numbers under local codes "
        f"({codes.LOCAL_SERIES_SOURCE}): "
        + "; ".join(
            f"{name} from {', '.join(repr(x) for x in labels)} in {', '.join(units)}"
            for name, labels, units in codes.LOCAL_SERIES
        )
        + ".",
    ]
    out += [
        "",
        "### Conditions",
        "",
        _row("kind", "codes (exact)", "text terms", "text that excludes it", "source"),
        _row(*["---"] * 5),
    ]
    for c in codes.CONDITIONS:
        out.append(
            _row(
                c.kind,
                ", ".join(x.split("|")[1] for x in c.codes) or "-",
                ", ".join(c.terms),
                ", ".join(c.exclude_terms) or "-",
                c.source,
            )
        )
    out += _icans()
    out += [
        "",
        "## Write-back of a grade",
        "",
        _row("kind", "grade", "code", "display", "source"),
        _row(*["---"] * 5),
    ]
    out += [_row(c.kind, c.grade, c.code, c.display, c.source) for c in writeback.GRADE_CODES]
    out += [
        "",
        f"SNOMED CT: {writeback.SNOMED_NOT_WRITTEN}.",
        "",
        _row("grade", "AdverseEvent.severity", "source"),
        _row(*["---"] * 3),
    ]
    out += [_row(g, code, src) for g, code, src in writeback.AE_SEVERITY]
    out += ["", "## Disclaimer shown with every assessment", "", crs.DISCLAIMER, ""]
    return "\n".join(out)


def _icans() -> list[str]:
    out = [
        "",
        "## ICANS (ASTCT 2019)",
        "",
        "The grade is the worst domain in the window. " + ki.DISCLAIMER,
        "",
        _row("id", "value", "unit", "rule", "source"),
        _row(*["---"] * 5),
    ]
    out += [_row(p.id, f"{p.value:g}", p.unit, p.text, p.source) for p in ki.PARAMS.values()]
    out += ["", _row("tool", "score from", "score to", "grade", "rule"), _row(*["---"] * 5)]
    out += [_row(b.tool, b.low, b.high, b.grade, b.rule) for b in ki.BANDS]
    out += ["", _row("id", "domain", "grade", "criterion", "source"), _row(*["---"] * 5)]
    out += [_row(r.id, r.domain, r.grade, r.text, r.source) for r in ki.RULES.values()]
    out += ["", "### Level of consciousness (coded values)", ""]
    out += [_row("code", "meaning", "rule", "source"), _row(*["---"] * 4)]
    out += [_row(c.code, c.label, c.rule or "-", c.source) for c in ki.CONSCIOUSNESS]
    out += [
        "",
        "### Level of consciousness (text)",
        "",
        "Read only on an Observation whose code names a level of consciousness: "
        f"{', '.join(ki.LOC_OBSERVATION_CODES)} or, as whole phrases in its code's text or "
        f"display, {', '.join(ki.LOC_OBSERVATION_NAMES)} ({ki.LOC_OBSERVATION_SOURCE}). The "
        "value's text is matched by whole phrase; a phrase after "
        f"{', '.join(ki.CONSCIOUSNESS_NEGATIONS)} does not count; the worst phrase wins. "
        f"Source: {ki.CONSCIOUSNESS_TEXT_SOURCE}. A value naming "
        f"{', '.join(ki.SEDATION_TERMS)} is not graded: {ki.SEDATION_NOTE}.",
        "",
        _row("phrase", "whole value only", "rule"),
        _row(*["---"] * 3),
    ]
    out += [
        _row(t.phrase, "yes" if t.exact else "-", t.rule or "- (alert)")
        for t in ki.CONSCIOUSNESS_TERMS
    ]
    out += [
        "",
        f"An ICE score charted as text naming an unarousable patient is read as grade 4 by "
        f"consciousness ({ki.ICE_UNAROUSABLE_SOURCE}).",
        "",
        f"Glasgow coma score ({', '.join(ki.GCS_CODES)}; names {', '.join(ki.GCS_NAMES)}): shown "
        f"as a finding, never graded: {ki.GCS_NOTE.format(text='GCS')} ({ki.GCS_SOURCE}).",
    ]
    out += ["", "### Assessment tools (Observations)", ""]
    out += [_row("tool", "product code", "names read", "maximum", "source"), _row(*["---"] * 5)]
    out += [_row(t.tool, t.local_code, ", ".join(t.names), t.max_score, t.source) for t in ki.TOOLS]
    out += ["", "### The ICE assessment form (SMART app)", ""]
    out += [_row("item", "task", "points", "component code", "source"), _row(*["---"] * 5)]
    out += [_row(i.id, i.text, i.points, i.local_code, i.source) for i in ki.ICE_ITEMS]
    out += ["", "### Conditions read for ICANS", ""]
    out += [_row("kind", "codes (exact)", "text terms", "rule", "source"), _row(*["---"] * 5)]
    out += [
        _row(
            n.kind,
            ", ".join(x.split("|")[1] for x in n.codes),
            ", ".join(n.terms),
            n.rule or "grade from the code",
            n.source,
        )
        for n in ki.NEURO
    ]
    out += [
        "",
        f"Oedema named with {', '.join(ki.DIFFUSE_TERMS)} is read as diffuse (grade 4); text "
        f"naming {', '.join(ki.HAEMORRHAGE_TERMS)} is not ICANS ({ki.HAEMORRHAGE_SOURCE}).",
        "",
        "### Attribution",
        "",
        _row("therapy", "days after the last dose", "rule", "source"),
        _row(*["---"] * 4),
    ]
    out += [_row(w.label, f"{w.days:g}", w.text, w.source) for w in ki.ONSET_WINDOWS]
    out += ["", f"{ki.NOT_ATTRIBUTABLE_NOTE} ({ki.NOT_ATTRIBUTABLE_SOURCE})"]
    out += [
        "",
        "### Management",
        "",
        "Doses are the `knowledge.dosing` rows named (see Doses above). CRS: with = CRS of the "
        "grade shown or more now; without = no CRS now.",
        "",
        _row("id", "ICANS grades", "CRS", "only with", "line", "dose row", "shown only", "source"),
        _row(*["---"] * 8),
    ]
    out += [
        _row(
            r.id,
            f"{r.min_grade}-{r.max_grade}",
            r.crs if r.crs != "with" else f"with (≥{r.crs_min})",
            r.domain or "-",
            r.text or "-",
            r.regimen or "-",
            r.when or "-",
            r.source,
        )
        for r in ki.PLAN
    ]
    out += [
        "",
        f"When the CRS lines already offer a corticosteroid to sign, each ICANS corticosteroid "
        f"line is shown only {ki.STEROID_WITH_CRS_PLAN} ({ki.STEROID_WITH_CRS_PLAN_SOURCE}).",
        "",
        f"Tocilizumab with concurrent CRS: {ki.TOCI_IN_CRS_LINE[0]} when the CRS plan offers it "
        f"({ki.TOCI_IN_CRS_LINE[1]}); otherwise the label dose row within the course of doses "
        "already given.",
        "",
        f"Earlier corticosteroids for {', '.join(ki.EARLY_STEROID_PRODUCTS)}: with concurrent "
        f"CRS the ICANS corticosteroid is not held back until tocilizumab fails "
        f"({ki.EARLY_STEROID_SOURCE}).",
        "",
        f"With ICANS graded, the CRS grade-1 line reads: "
        f"'{ki.CRS_G1_WITH_ICANS[0].format(grade='N')}' ({ki.CRS_G1_WITH_ICANS[1]}).",
    ]
    out += [
        "",
        "### IEC-associated HLH-like syndrome (IEC-HS): screen",
        "",
        f"{ki.HS_NOTE} Window: {ki.HS_WINDOW_H[0]:g} hours ({ki.HS_WINDOW_H[1]}). Rising: "
        f"× {ki.HS_RISING_FACTOR:g} within {ki.HS_RISING_H[0]:g} hours ({ki.HS_RISING_H[1]}). "
        "Positive: a key finding with at least one supporting finding.",
        "",
        _row("id", "kind", "laboratory", "finding", "source"),
        _row(*["---"] * 5),
    ]
    out += [_row(c.id, c.kind, c.series, c.text, c.source) for c in ki.HS_CRITERIA]
    out += ["", f"Pathway shown with a positive screen: {ki.HS_PATHWAY} ({ki.HS_PATHWAY_SOURCE})."]
    out += [
        "",
        "Cytopenias (new_or_worse) count only when new against the last value before the therapy "
        "(else the earliest on record; none: reported as missing, not counted) or when they fell "
        f"by at least {ki.HS_WORSENING[0]:.0%} of it ({ki.HS_WORSENING[1]}): "
        + ", ".join(c.id for c in ki.HS_CRITERIA if c.new_or_worse)
        + ".",
        "",
        "Phase of CRS shown beside the screen ("
        + ki.HS_PHASE_SOURCE
        + "): "
        + "; ".join(ki.HS_PHASE.values()),
        "",
        "Plan lines with a positive screen:",
        "",
        _row("id", "category", "text", "only when", "source"),
        _row(*["---"] * 5),
    ]
    out += [
        _row(r.id, r.category, r.text, r.criterion or r.when or "-", r.source) for r in ki.HS_PLAN
    ]
    out += [
        "",
        "### ICANS: another cause to consider",
        "",
        f'Shown beside a graded ICANS as "{ki.OTHER_CAUSE_TEXT}"; the grade is never lowered.',
        "",
        _row("id", "kind", "read from", "source"),
        _row(*["---"] * 4),
    ]
    out += [
        _row(
            r.id,
            r.kind,
            ", ".join(r.codes)
            if r.codes
            else (f"{r.series} below {r.below:g}" if r.series else "the CRS infection reading"),
            r.source,
        )
        for r in ki.OTHER_CAUSES
    ]
    return out
