"""Doses: every drug regimen the plan can suggest, one row each, with its source and cap.

`per_kg` rows are multiplied by the patient's weight (then capped); `fixed` rows are the same
for everyone. Where sources disagree (tocilizumab 8 mg/kg on the label vs 4 mg/kg adult in Lee
2014) both rows exist and the plan shows both, each with its citation.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.knowledge.courses import PJP_RULES as _PJP_RULES
from services.knowledge.courses import PJP_SOURCE as _PJP_SOURCE


@dataclass(frozen=True)
class Regimen:
    id: str
    drug: str  # generic name, lower case (knowledge.codes)
    text: str
    unit: str  # UCUM of the resulting dose: "mg" (per dose), "mg/d", "g" (total)
    source: str
    per_kg_low: float | None = None  # in unit per kg
    per_kg_high: float | None = None
    fixed_low: float | None = None
    fixed_high: float | None = None
    cap: float | None = None  # maximum per dose (or per day for mg/d), in `unit`
    cap_source: str | None = None
    route: str | None = None
    frequency: str | None = None
    duration: str | None = None
    min_weight_kg: float | None = None  # row applies at or above this weight
    max_weight_kg: float | None = None  # row applies below this weight
    min_age: float | None = None  # row applies at or above this age (years)
    max_age: float | None = None  # row applies below this age
    doses_per_day: float | None = None  # "mg" rows given several times a day (daily total)


# A weight-based dose on a stale weight (older than the weight_max_age parameter) says so on its
# own line, not only in the header.
STALE_WEIGHT_BASIS = (
    "based on {kg} kg from {date}, {days} days old: weigh before giving",
    "immunotox: the stale-weight rule (weight_max_age) shown on every weight-based dose",
)

TOCILIZUMAB_CAP = (800.0, "actemra_label: section 2, CRS (maximum 800 mg per infusion)")

# fmt: off
_REGIMENS = (
    # --- Tocilizumab ------------------------------------------------------------------------
    Regimen("tocilizumab.label", "tocilizumab", "Tocilizumab 8 mg/kg IV over 1 hour (weight ≥30 kg); if no improvement, up to 3 more doses at least 8 hours apart",
            "mg", "actemra_label: section 2, CRS", per_kg_low=8, cap=TOCILIZUMAB_CAP[0], cap_source=TOCILIZUMAB_CAP[1],
            route="IV", frequency="once; may repeat every ≥8 h, at most 4 doses", min_weight_kg=30),
    Regimen("tocilizumab.label", "tocilizumab", "Tocilizumab 12 mg/kg IV over 1 hour (weight <30 kg); if no improvement, up to 3 more doses at least 8 hours apart",
            "mg", "actemra_label: section 2, CRS", per_kg_low=12, cap=TOCILIZUMAB_CAP[0], cap_source=TOCILIZUMAB_CAP[1],
            route="IV", frequency="once; may repeat every ≥8 h, at most 4 doses", max_weight_kg=30),
    Regimen("tocilizumab.lee2014", "tocilizumab", "Tocilizumab 4 mg/kg IV over 1 hour in adults (Lee 2014); repeat if no improvement within 24-48 hours",
            "mg", "lee2014: Tocilizumab", per_kg_low=4, cap=TOCILIZUMAB_CAP[0], cap_source=TOCILIZUMAB_CAP[1],
            route="IV", frequency="once; may repeat after 24-48 h", min_age=18),
    Regimen("tocilizumab.lee2014", "tocilizumab", "Tocilizumab 8 mg/kg IV over 1 hour in children (Lee 2014); repeat if no improvement within 24-48 hours",
            "mg", "lee2014: Tocilizumab", per_kg_low=8, cap=TOCILIZUMAB_CAP[0], cap_source=TOCILIZUMAB_CAP[1],
            route="IV", frequency="once; may repeat after 24-48 h", max_age=18),
    # --- Corticosteroids ----------------------------------------------------------------------
    Regimen("methylprednisolone.crs.lee2014", "methylprednisolone", "Methylprednisolone 2 mg/kg/day IV, weaned over several days (second line after tocilizumab in Lee 2014)",
            "mg/d", "lee2014: Corticosteroids and other agents", per_kg_low=2, route="IV", frequency="daily, divided", duration="wean over several days"),
    Regimen("dexamethasone.neuro", "dexamethasone", "Dexamethasone 0.5 mg/kg per dose (maximum 10 mg) when neurologic symptoms dominate",
            "mg", "lee2014: Corticosteroids and other agents", per_kg_low=0.5, cap=10, cap_source="lee2014: Corticosteroids and other agents (maximum 10 mg/dose)",
            route="IV", frequency="per dose, repeat per protocol"),
    Regimen("methylprednisolone.high", "methylprednisolone", "Methylprednisolone 1-2 mg/kg/day IV for 3-5 days, then oral prednisone",
            "mg/d", "pembro_crs_qa; asco2021: general recommendations (grade 3-4)", per_kg_low=1, per_kg_high=2, route="IV", frequency="daily", duration="3-5 days"),
    Regimen("methylprednisolone.pulse", "methylprednisolone", "Pulse methylprednisolone 1 g/day IV for 3-5 days",
            "mg/d", "asco2021: Table 7 neurologic toxicities (encephalitis 3-5 days, Guillain-Barré 5 days), Table 9.1 myocarditis (verified in the Guideline Central "
            "copy: 'methylprednisolone 1 g every day' without an immediate response)",
            fixed_low=1000, route="IV", frequency="daily", duration="3-5 days"),
    Regimen("prednisone.taper", "prednisone", "Then prednisone 1 mg/kg/day by mouth, tapered over 4-6 weeks",
            "mg/d", "pembro_crs_qa; asco2021: general recommendations (taper over at least 4-6 weeks)", per_kg_low=1, route="oral", frequency="daily", duration="taper over 4-6 weeks"),
    Regimen("prednisone.moderate", "prednisone", "Prednisone 0.5-1 mg/kg/day by mouth; raise to 2 mg/kg/day if no better in 2-3 days; taper over ≥4 weeks once grade ≤1",
            "mg/d", "asco2021: general recommendations (grade 2)", per_kg_low=0.5, per_kg_high=1, route="oral", frequency="daily", duration="taper over at least 4 weeks"),
    Regimen("prednisone.rash_g3", "prednisone", "Prednisone 1 mg/kg/day by mouth, tapered over at least 4 weeks",
            "mg/d", "asco2021: cutaneous toxicities, maculopapular rash grade 3", per_kg_low=1, route="oral", frequency="daily", duration="taper over at least 4 weeks"),
    Regimen("prednisone.arthritis_g2", "prednisone", "Prednisone 10-20 mg/day by mouth if NSAIDs fail, for 4-6 weeks, then taper",
            "mg/d", "asco2021: musculoskeletal toxicities, inflammatory arthritis grade 2", fixed_low=10, fixed_high=20, route="oral", frequency="daily", duration="4-6 weeks, then taper"),
    Regimen("prednisone.arthritis_g3", "prednisone", "Prednisone 0.5-1 mg/kg/day by mouth; add a synthetic or biologic DMARD if no better after 2 weeks",
            "mg/d", "asco2021: musculoskeletal toxicities, inflammatory arthritis grade 3-4", per_kg_low=0.5, per_kg_high=1, route="oral", frequency="daily"),
    # CRS after CAR T cells or a T-cell engager (ASCO 2021 CAR T guideline, Table 1).
    Regimen("dexamethasone.crs", "dexamethasone", "Dexamethasone 10 mg IV every 6 hours (or equivalent), tapered rapidly once symptoms improve",
            "mg", "asco_iec2021: Table 1 CRS G3 (an adult dose: no dose band below 18 years)", fixed_low=10, route="IV", frequency="every 6 h",
            duration="taper rapidly once symptoms improve", min_age=18, doses_per_day=4),
    Regimen("methylprednisolone.crs.g4", "methylprednisolone", "Methylprednisolone 500 mg IV every 12 hours for 3 days, then 250 mg every 12 hours for 2 days, 125 mg every 12 hours for 2 days, and 60 mg every 12 hours until CRS is grade 1",
            "mg", "asco_iec2021: Table 1 CRS G4 (an adult dose: no dose band below 18 years)", fixed_low=500, route="IV", frequency="every 12 h",
            duration="3 days, then 250, 125 and 60 mg every 12 hours", min_age=18, doses_per_day=2),
    Regimen("siltuximab.crs", "siltuximab", "Siltuximab 11 mg/kg IV once (off-label for CRS)",
            "mg", "neelapu2018: CARTOX, siltuximab 11 mg/kg IV (as tabulated in PMC9616161 Table 4); sps_crs: unlicensed for CRS", per_kg_low=11,
            route="IV", frequency="once"),
    # --- Immune globulin ---------------------------------------------------------------------
    Regimen("ivig.neuro", "immune globulin", "IVIG 2 g/kg total, divided over 2-5 days (ASCO for Guillain-Barré, myasthenia and encephalitis: 0.4 g/kg/day for 5 days), or plasma exchange",
            "g", "pembro_crs_qa; asco2021: Tables 7.1, 7.2, 7.6 (2 g/kg over 5 days, 0.4 g/kg/day)", per_kg_low=2, route="IV", frequency="total dose divided over 2-5 days",
            duration="2-5 days"),
)
# fmt: on

# --- irAE organ regimens (services/plan modules; rows cited from knowledge.irae_plan) -------------
# fmt: off
_A = "asco2021"
_REGIMENS = (
    *_REGIMENS,
    Regimen("prednisone.colitis_g2", "prednisone", "Prednisone 1 mg/kg/day by mouth (unless diarrhoea is transient) until grade ≤1, then taper over 4-6 weeks",
            "mg/d", f"{_A}: Table 2.1 colitis G2", per_kg_low=1, route="oral", frequency="daily", duration="until grade ≤1, then taper over 4-6 weeks"),
    Regimen("prednisone.1", "prednisone", "Prednisone 1 mg/kg/day by mouth, tapered over at least 4-6 weeks once grade ≤1",
            "mg/d", f"{_A}: Table 5.2 myositis G3-G4", per_kg_low=1, route="oral", frequency="daily", duration="taper over at least 4-6 weeks"),
    Regimen("prednisone.1to2", "prednisone", "Prednisone 1-2 mg/kg/day (by mouth, or IV equivalent when severe), tapered over at least 4-6 weeks once grade ≤1",
            "mg/d", f"{_A}: Table 6.1 nephritis G3-G4, Table 8.1 hemolytic anemia G3-G4, Table 10.1 uveitis G4", per_kg_low=1, per_kg_high=2,
            route="oral or IV", frequency="daily", duration="taper over at least 4-6 weeks"),
    Regimen("prednisone.pneumonitis_g2", "prednisone", "Prednisone 1-2 mg/kg/day, tapered over 4-6 weeks; treat as grade 3 if no better after 48-72 hours",
            "mg/d", f"{_A}: Table 3.1 pneumonitis G2", per_kg_low=1, per_kg_high=2, route="oral", frequency="daily", duration="taper over 4-6 weeks"),
    Regimen("prednisone.myocarditis", "prednisone", "Prednisone 1-2 mg/kg/day by mouth or IV equivalent, started within 24 hours",
            "mg/d", f"{_A}: Table 9.1 myocarditis G≥2 (verified in the Guideline Central copy: 'early (i.e., within 24 hours) initiation of high-dose "
            "corticosteroids (1–2 mg/kg/day of prednisone, oral or IV depending on symptoms)')", per_kg_low=1, per_kg_high=2, route="oral or IV", frequency="daily", duration="taper over at least 4-6 weeks"),
    Regimen("prednisone.mg", "prednisone", "Prednisone 0.5 mg/kg/day by mouth, weaned on improvement (taper from 3-4 weeks)",
            "mg/d", f"{_A}: Table 7.1 myasthenia gravis G2-G4", per_kg_low=0.5, route="oral", frequency="daily", duration="wean on improvement; taper from 3-4 weeks"),
    Regimen("prednisone.itp", "prednisone", "Prednisone 1 mg/kg/day by mouth (range 0.5-2) for 4 weeks, then taper over 4-6 weeks",
            "mg/d", f"{_A}: Table 8.6 immune thrombocytopenia G2", per_kg_low=1, route="oral", frequency="daily", duration="4 weeks, then taper over 4-6 weeks"),
    Regimen("methylprednisolone.2", "methylprednisolone", "Methylprednisolone 2 mg/kg/day IV",
            "mg/d", f"{_A}: Table 2.2 hepatitis G4", per_kg_low=2, route="IV", frequency="daily", duration="taper over 4-6 weeks once grade ≤1"),
    Regimen("methylprednisolone.1", "methylprednisolone", "Methylprednisolone 1 mg/kg/day IV",
            "mg/d", f"{_A}: Table 7.5 aseptic meningitis; esmo2022: hypophysitis with mass effect (not verified against ESMO 2022)", per_kg_low=1, route="IV", frequency="daily",
            duration="taper after 2-4 weeks"),
    Regimen("methylprednisolone.pneumonitis_esmo", "methylprednisolone", "Methylprednisolone 2-4 mg/kg/day IV (ESMO), tapered over 6 weeks or more",
            "mg/d", "esmo2022: pneumonitis G3-G4 (read from the ESMO table in J Med Case Rep 2021 Table 1, not verified against ESMO 2022)", per_kg_low=2, per_kg_high=4,
            route="IV", frequency="daily", duration="taper over 6 weeks or more"),
    Regimen("methylprednisolone.scar", "methylprednisolone", "Methylprednisolone 0.5-1 mg/kg/day IV; to oral on response, weaned over at least 4 weeks",
            "mg/d", f"{_A}: Table 1.3 severe cutaneous adverse reactions G3", per_kg_low=0.5, per_kg_high=1, route="IV", frequency="daily", duration="wean over at least 4 weeks"),
    Regimen("methylprednisolone.gbs", "methylprednisolone", "Methylprednisolone 2-4 mg/kg/day IV as a trial, then a slow taper",
            "mg/d", f"{_A}: Table 7.2 Guillain-Barré syndrome", per_kg_low=2, per_kg_high=4, route="IV", frequency="daily", duration="slow taper"),
    Regimen("methylprednisolone.uveitis", "methylprednisolone", "Methylprednisolone 0.8-1.6 mg/kg/day IV",
            "mg/d", f"{_A}: Table 10.1 uveitis G4", per_kg_low=0.8, per_kg_high=1.6, route="IV", frequency="daily"),
    Regimen("infliximab.5", "infliximab", "Infliximab 5 mg/kg IV if steroid-refractory (colitis: no response after 3 days; pneumonitis: after 48 hours)",
            "mg", f"{_A}: Table 2.1 colitis, Table 3.1 pneumonitis (the drug), 5 mg/kg as in PMC7518129 Table 3 and ESMO, ASCO Table A2 cautions (read): 'infliximab at doses "
            ">5 mg/kg is contraindicated in moderate to severe heart failure', Table A2 checked in the Guideline Central copy (eguideline.guidelinecentral.com/i/1475468): the page read lists systemic corticosteroids, abatacept 500 mg and alemtuzumab 30 mg, its infliximab row was not found in the pages read, so not verified against Table A2", per_kg_low=5,
            route="IV", frequency="once; a second dose per specialist"),
    Regimen("vedolizumab.300", "vedolizumab", "Vedolizumab 300 mg IV (alternative to infliximab)",
            "mg", f"{_A}: Table 2.1 colitis (the drug), 300 mg IV is the labelled induction dose (verified in the drug table of World J Gastroenterol 2018, 24:3567, Table 1), Table A2 checked in the Guideline Central copy (eguideline.guidelinecentral.com/i/1475468): the page read lists systemic corticosteroids, abatacept 500 mg and alemtuzumab 30 mg, its vedolizumab row was not found in the pages read, so not verified against Table A2", fixed_low=300, route="IV", frequency="once; repeat per gastroenterology"),
    Regimen("mycophenolate.1g", "mycophenolate mofetil", "Mycophenolate mofetil 1 g IV twice daily",
            "mg", f"{_A}: Table 3.1 pneumonitis (the drug), 1 g twice daily as in PMC7518129 Table 3, Table A2 checked in the Guideline Central copy (eguideline.guidelinecentral.com/i/1475468): the page read lists systemic corticosteroids, abatacept 500 mg and alemtuzumab 30 mg, its mycophenolate row was not found in the pages read, so not verified against Table A2", fixed_low=1000, route="IV", frequency="twice daily"),
    Regimen("levothyroxine.replacement", "levothyroxine", "Levothyroxine 25-50 µg/day (age ≥70 or cardiac disease), titrated on TSH every 6-8 weeks",
            "ug/d", f"{_A}: Table 4.1.1 primary hypothyroidism (dose as ASCO 2018 in Cleve Clin J Med Table 2, the 2021 text read gives no dose)",
            fixed_low=25, fixed_high=50, route="oral", frequency="daily", min_age=70),
    Regimen("levothyroxine.replacement", "levothyroxine", "Levothyroxine 1.6 µg/kg/day (age <70, no cardiac disease), titrated on TSH every 6-8 weeks",
            "ug/d", f"{_A}: Table 4.1.1 primary hypothyroidism (dose as ASCO 2018 in Cleve Clin J Med Table 2, the 2021 text read gives no dose)",
            per_kg_low=1.6, route="oral", frequency="daily", max_age=70),
    Regimen("atenolol.thyroid", "atenolol", "Atenolol 25-50 mg daily (or propranolol) for symptoms, titrated to heart rate <90 if blood pressure allows",
            "mg/d", "sitc2017: thyrotoxicosis (atenolol 25-50 mg, as tabulated in Cancers 2021, 13:5277, Table 4); asco2021: Table 4.1.2 (a beta-blocker, no dose)",
            fixed_low=25, fixed_high=50, route="oral", frequency="daily"),
    Regimen("hydrocortisone.replacement", "hydrocortisone", "Hydrocortisone 15-20 mg/day by mouth in divided doses (2/3 morning, 1/3 early afternoon); titrate up to 30 mg/day",
            "mg/d", f"{_A}: Table 4.2 primary adrenal insufficiency G1, Table 4.3 hypophysitis G1", fixed_low=15, fixed_high=20, route="oral", frequency="daily, divided"),
    Regimen("hydrocortisone.stress_oral", "hydrocortisone", "Hydrocortisone 30-50 mg/day by mouth (2-3 times maintenance; or prednisone 20 mg/day) for 2 days, then maintenance",
            "mg/d", f"{_A}: Table 4.2 primary adrenal insufficiency G2", fixed_low=30, fixed_high=50, route="oral", frequency="daily, divided", duration="2 days"),
    Regimen("hydrocortisone.stress_iv", "hydrocortisone", "Hydrocortisone 50-100 mg IV every 6-8 hours with saline ≥2 L, tapered to oral maintenance over 5-7 days",
            "mg", f"{_A}: Table 4.2 primary adrenal insufficiency G3-G4 (verified in the Guideline Central copy: 'Hydrocortisone 50–100 mg q6–8h initial dosing', "
            "'Normal saline (at least 2L)', taper 'over 5–7 days'), Table 4.3 hypophysitis G3-G4", fixed_low=50, fixed_high=100, route="IV", frequency="every 6-8 h",
            duration="taper to oral maintenance over 5-7 days"),
    Regimen("hydrocortisone.crisis_bolus", "hydrocortisone", "Hydrocortisone 100 mg IV (or IM) at once for suspected adrenal crisis, before any result is back",
            "mg", "esmo2022: endocrine toxicities, primary adrenal insufficiency, severe (urgent hydrocortisone 100 mg IV or IM, diagnostic measures should never "
            "delay steroid replacement, read in the ESMO-based immunotox.lu adrenalitis page, not verified against the Ann Oncol text)",
            fixed_low=100, route="IV or IM", frequency="once, now"),
    Regimen("insulin.start", "insulin", "Insulin 0.3-0.4 units/kg/day in total: half as once-daily long-acting, half as prandial doses (basal alone is not enough)",
            "[iU]/d", f"{_A}: Table 4.4 diabetes, additional considerations", per_kg_low=0.3, per_kg_high=0.4, route="subcutaneous", frequency="daily, divided"),
    Regimen("pyridostigmine", "pyridostigmine", "Pyridostigmine 30 mg by mouth three times daily, increased as tolerated to at most 120 mg four times daily, with neurology",
            "mg", f"{_A}: Table 7.1 myasthenia gravis G2", fixed_low=30, route="oral", frequency="three times daily; at most 120 mg four times daily"),
    Regimen("dexamethasone.itp", "dexamethasone", "Dexamethasone 40 mg daily for 4 days (alternative to prednisone)",
            "mg/d", f"{_A}: Table 8.6 immune thrombocytopenia G3", fixed_low=40, route="oral or IV", frequency="daily", duration="4 days"),
    Regimen("ivig.itp", "immune globulin", "IVIG 1 g/kg once, when a faster platelet rise is needed",
            "g", f"{_A}: Table 8.6 immune thrombocytopenia G3", per_kg_low=1, route="IV", frequency="once"),
    # --- ICANS (ASCO 2021 immune effector cell guideline, Table 2) ----------------------------------
    Regimen("dexamethasone.icans", "dexamethasone", "Dexamethasone 10 mg IV every 6-12 hours; taper once grade ≤1, watching for a flare",
            "mg", "asco_iec2021: Table 2 ICANS G2 (high-risk products or patients: 10 mg × 2, repeat every 6-12 h) and G3 (10 mg every 6-12 h), "
            "verified in the Guideline Central copy of Table 2, pages 7-8",
            fixed_low=10, route="IV", frequency="every 6-12 h", min_age=18),
    Regimen("dexamethasone.icans", "dexamethasone", "Dexamethasone 0.5 mg/kg IV (maximum 10 mg) every 6-12 hours in children; taper once grade ≤1",
            "mg", "lee2014: Corticosteroids and other agents (0.5 mg/kg, maximum 10 mg); asco_iec2021: Table 2 (every 6-12 h); immunotox: the weight-based dose under 18 years",
            per_kg_low=0.5, cap=10, cap_source="lee2014: Corticosteroids and other agents (maximum 10 mg/dose)", route="IV", frequency="every 6-12 h", max_age=18),
    Regimen("methylprednisolone.icans", "methylprednisolone", "Methylprednisolone 1 mg/kg IV every 12 hours (instead of dexamethasone)",
            "mg", "asco_iec2021: Table 2 ICANS G2-G3 (methylprednisolone equivalent 1 mg/kg IV every 12 hours), verified in the Guideline Central copy of "
            "Table 2, pages 7-8", per_kg_low=1, route="IV", frequency="every 12 h"),
    Regimen("methylprednisolone.icans_g4", "methylprednisolone", "Methylprednisolone 1 g/day IV for 3 days, then taper",
            "mg/d", "asco_iec2021: Table 2 ICANS G4, not verified against the guideline: its G4 page was not found in the copies searched (the Guideline "
            "Central copy's pages 7-8 hold the work-up and G1-G3 only), 1000 mg/day for 3 days, then a taper, as tabulated for ICANS grade 4 in "
            "J Clin Med 2023 (vol 12, article 6124) Table 1 (PMC10573998, read)",
            fixed_low=1000, route="IV", frequency="daily", duration="3 days, then taper", min_age=18),
    Regimen("methylprednisolone.icans_g4", "methylprednisolone", "Methylprednisolone 30 mg/kg/day IV (maximum 1 g) for 3 days in children, then taper",
            "mg/d", "immunotox: paediatric pulse 30 mg/kg/day, maximum 1 g, not verified (no paediatric ICANS dose was found in the ASCO 2021 pages read, and "
            "the paediatric CAR T guideline's neurotoxicity table (Mahadeo KM et al., Nat Rev Clin Oncol 2019, vol 16, pages 45-63) was not found in the "
            "copies searched, only its CRS table, Table 2)",
            per_kg_low=30, cap=1000, cap_source="asco_iec2021: Table 2 ICANS G4 (1 g/day, the adult dose; not verified, see the adult row)", route="IV", frequency="daily", duration="3 days, then taper", max_age=18),
)
# fmt: on

REGIMENS: dict[str, tuple[Regimen, ...]] = {}
for _r in _REGIMENS:
    REGIMENS[_r.id] = (*REGIMENS.get(_r.id, ()), _r)


class NoBand(LookupError):
    """No row of a banded regimen applies to this patient. The dose is then missing, with
    `reason` saying why: a table never falls back to another band's dose."""

    def __init__(self, regimen_id: str, reason: str):
        super().__init__(f"{regimen_id}: {reason}")
        self.regimen_id = regimen_id
        self.reason = reason


def _applies(r: Regimen, weight_kg: float | None, age: float | None) -> bool:
    if weight_kg is not None:
        if r.min_weight_kg is not None and weight_kg < r.min_weight_kg:
            return False
        if r.max_weight_kg is not None and weight_kg >= r.max_weight_kg:
            return False
    if age is not None:
        if r.min_age is not None and age < r.min_age:
            return False
        if r.max_age is not None and age >= r.max_age:
            return False
    return True


def by_age(regimen_id: str) -> bool:
    return any(r.min_age is not None or r.max_age is not None for r in REGIMENS[regimen_id])


def select(regimen_id: str, weight_kg: float | None, age: float | None) -> Regimen:
    """The row of a regimen that applies to this weight and age.

    Raises `NoBand` when a known weight or age falls in no band, and when the table is banded
    by age and the age is unknown. An unknown weight leaves weight bands unapplied: every
    weight-banded row is dosed per kg, so the plan reports the dose as missing for want of a
    weight (a test holds the tables to that)."""
    rows = REGIMENS[regimen_id]
    if age is None and by_age(regimen_id):
        raise NoBand(regimen_id, "No birth date recorded: this dose depends on age")
    for r in rows:
        if _applies(r, weight_kg, age):
            return r
    what = " and ".join(
        x
        for x in (
            f"{weight_kg:g} kg" if weight_kg is not None else "",
            f"age {age:g} years" if age is not None else "",
        )
        if x
    )
    raise NoBand(regimen_id, f"No dose band in the table for {what}: check the dose at the source")


# PJP prophylaxis (ASCO 2021): consider at ≥20 mg/day prednisone-equivalent for ≥4 weeks
# (or >30 mg/day for ≥3 weeks).
# (mg/day prednisone-equivalent, days); the rows, with ≥ or >, are `knowledge.courses.PJP_RULES`.
PJP_THRESHOLDS = tuple((r.mg_per_day, r.days) for r in _PJP_RULES)
PJP_SOURCE = _PJP_SOURCE
