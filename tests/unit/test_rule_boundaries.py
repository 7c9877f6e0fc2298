"""Each clinical number on both sides of its boundary, through the whole assessment.

Every expected value is written out from the source (the paper, the label, the table row's
stated convention), never computed with the product's own constants: a changed number in
`services/knowledge/` makes one of these fail (docs/mutation-testing.md lists which).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.assess import assess
from services.knowledge import dosing
from tests.fhir_factory import (
    AT,
    RX,
    RXNORM,
    condition,
    given,
    infusion,
    iso,
    lab,
    o2,
    obs,
    patient,
    sbp,
    temp,
)
from tests.fhir_factory import weight as weight_obs


def crs(*resources, at=AT):
    # A CRS-associated therapy in its onset window, so that CRS grading applies.
    a = assess([patient(), given("pembrolizumab", 24 * 20), *resources], at=at)
    return {s: r.grade for s, r in a.crs.items()}, a


def rec(a, rid):
    matches = [r for r in a.recommendations if r.id == rid]
    assert matches, f"{rid} not in {[r.id for r in a.recommendations]}"
    return matches[0]


def map_(value: float, hours_before: float = 1) -> dict:
    return obs("8478-0", value, "mm[Hg]", hours_before)


# --- Hypotension: mean arterial pressure <65 mm Hg (knowledge.crs "hypotension_map") ----------


@pytest.mark.parametrize(("mean_pressure", "astct"), [(64, 2), (64.9, 2), (65, 1), (66, 1)])
def test_mean_arterial_pressure_below_65_is_hypotension_and_65_is_not(mean_pressure, astct):
    g, a = crs(temp(38.5), sbp(120), map_(mean_pressure))
    assert g["astct2019"] == astct
    assert g["ctcae5"] == astct
    assert g["lee2014"] == astct
    fired = {c.id for c in a.crs["astct2019"].criteria}
    assert ("astct2019.g2.hypotension" in fired) is (astct == 2)


# --- The 24-hour window ("window") ------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes_before", "counts"),
    [(23 * 60 + 30, True), (24 * 60, True), (24 * 60 + 1, False), (24 * 60 + 30, False)],
)
def test_a_fever_counts_now_within_24_hours_and_not_after(minutes_before, counts):
    fever = temp(39.0, hours_before=minutes_before / 60)
    g, a = crs(fever, temp(37.0, hours_before=2), sbp(120))
    assert g["lee2014"] == (1 if counts else 0)
    assert g["astct2019"] == (1 if counts else 0)
    # and the window is named in the words the clinician reads
    assert a.window_start == AT - timedelta(days=7)


def test_no_data_in_the_last_24_hours_says_24_hours():
    _, a = crs(temp(39.0, hours_before=30))
    assert a.crs["lee2014"].grade is None
    assert "24 hours" in a.crs["lee2014"].notes[0]


# --- Upper limits of normal assumed when a lab result has no reference range ------------------
# (knowledge.crs FALLBACK_ULN: ALT and AST 40 U/L, bilirubin and creatinine 1.2 mg/dL;
# CTCAE v4.03 grade 2 is >3 × ULN for ALT/AST and >1.5 × ULN for bilirubin/creatinine)


@pytest.mark.parametrize(
    ("loinc", "value", "unit", "lee"),
    [
        ("1742-6", 120, "U/L", 1),  # ALT 120 = 3.0 × 40: not above 3 × ULN
        ("1742-6", 121, "U/L", 2),  # ALT 121 > 3 × 40
        ("1920-8", 120, "U/L", 1),  # AST likewise
        ("1920-8", 121, "U/L", 2),
        ("1975-2", 1.79, "mg/dL", 1),  # bilirubin 1.79 < 1.5 × 1.2 = 1.8
        ("1975-2", 1.81, "mg/dL", 2),
        ("2160-0", 1.79, "mg/dL", 1),  # creatinine likewise
        ("2160-0", 1.81, "mg/dL", 2),
    ],
)
def test_assumed_upper_limit_of_normal_without_a_reference_range(loinc, value, unit, lee):
    g, a = crs(temp(38.5), sbp(120), lab(loinc, value, unit, None))
    assert g["lee2014"] == lee
    if lee == 2:  # the grade rests on the assumed limit, and says so
        assert any("reference range" in m.data for m in a.crs["lee2014"].missing)


def test_alt_grade_4_with_an_assumed_uln_of_40_starts_above_800():
    # CTCAE v4.03 grade 4 ALT is >20 × ULN; Lee 2014 counts grade 4 transaminitis as grade 3.
    g, a = crs(temp(38.5), sbp(120), lab("1742-6", 801, "U/L", None))
    assert g["lee2014"] == 3
    assert "lee2014.g3.organ" in {c.id for c in a.crs["lee2014"].criteria}
    [organ] = [c for c in a.crs["lee2014"].criteria if c.id == "lee2014.g3.organ"]
    assert "ULN 40" in organ.evidence[0].what and "assumed" in organ.evidence[0].what


def test_a_reference_range_sent_with_the_result_replaces_the_assumed_uln():
    g, _ = crs(temp(38.5), sbp(120), lab("1742-6", 121, "U/L", 50))  # 2.4 × 50
    assert g["lee2014"] == 1


# --- Stale weight: older than 30 days ("weight_max_age") --------------------------------------


@pytest.mark.parametrize(
    ("hours_before", "stale"),
    [(29 * 24, False), (30 * 24, False), (30 * 24 + 1, True), (31 * 24, True)],
)
def test_a_weight_older_than_30_days_is_flagged_stale(hours_before, stale):
    _, a = crs(temp(37.0), weight_obs(70, hours_before=hours_before))
    assert a.weight.kg == 70
    assert a.weight.stale is stale


# --- Tocilizumab (Actemra label, section 2, CRS): 12 mg/kg below 30 kg, 8 mg/kg from 30 kg -----


def _child_with_crs(kg: float, birth: str = "2016-01-01"):
    return assess(
        [
            patient(birth=birth),
            given("pembrolizumab", 240),
            temp(39.0),
            weight_obs(kg),
            o2("426854004", 3),  # high-flow cannula: CRS grade 3
        ],
        at=AT,
    )


@pytest.mark.parametrize(
    ("kg", "mg", "per_kg"),
    [(20, 240, 12), (28, 336, 12), (29.9, 359, 12), (30, 240, 8), (31, 248, 8), (99, 792, 8)],
)
def test_tocilizumab_label_band_12_mg_per_kg_below_30_kg_and_8_from_30(kg, mg, per_kg):
    r = rec(_child_with_crs(kg), "tocilizumab.label")
    assert (r.dose.value, r.dose.unit, r.dose.capped) == (mg, "mg", False)
    assert r.dose.basis.startswith(f"{per_kg} mg/kg")
    assert f"{per_kg} mg/kg" in r.text


def test_tocilizumab_label_cap_800_mg_from_101_kg():
    r = rec(_child_with_crs(100, birth="1980-01-01"), "tocilizumab.label")
    assert (r.dose.value, r.dose.capped) == (800, False)
    r = rec(_child_with_crs(101, birth="1980-01-01"), "tocilizumab.label")
    assert (r.dose.value, r.dose.capped) == (800, True)
    assert r.dose.cap.startswith("800 mg (actemra_label: section 2")  # the label's maximum


@pytest.mark.parametrize(("birth", "mg"), [("2008-11-21", 200), ("2008-11-20", 100)])
def test_tocilizumab_lee_2014_is_8_mg_per_kg_under_18_years_and_4_from_18(birth, mg):
    # 25 kg: a 17-year-old (one day short of 18) gets 8 mg/kg, an 18-year-old 4 mg/kg (the
    # label's 12 mg/kg under 30 kg is 300 mg, so Lee 2014 stays a line of its own).
    r = rec(_child_with_crs(25, birth=birth), "tocilizumab.lee2014")
    assert r.dose.value == mg


def test_tocilizumab_lee_2014_at_the_labels_dose_is_merged_into_the_label_line():
    # 35 kg, 17 years: Lee 2014 8 mg/kg = 280 mg, the label 8 mg/kg (≥30 kg) = 280 mg: one
    # line citing both. An 18-year-old: Lee 2014 4 mg/kg = 140 mg, a line of its own.
    a = _child_with_crs(35, birth="2008-11-21")
    assert "tocilizumab.lee2014" not in {r.id for r in a.recommendations}
    label = rec(a, "tocilizumab.label")
    assert label.dose.value == 280 and any(s.startswith("lee2014") for s in label.sources)
    assert rec(_child_with_crs(35, birth="2008-11-20"), "tocilizumab.lee2014").dose.value == 140


def test_without_a_birth_date_the_age_banded_dose_is_missing_not_the_adult_one():
    a = assess(
        [
            {"resourceType": "Patient", "id": "p1"},
            given("pembrolizumab", 240),
            temp(39.0),
            weight_obs(35),
            o2("426854004", 3),
        ],
        at=AT,
    )
    lee = rec(a, "tocilizumab.lee2014")
    assert lee.dose is None
    assert "birth date" in lee.dose_missing_reason
    assert "4 mg/kg" in lee.text and "8 mg/kg" in lee.text  # both bands shown
    assert rec(a, "tocilizumab.label").dose.value == 280  # weight-banded only: 8 mg/kg × 35


# --- Lee 2014 CRS steroids: methylprednisolone 2 mg/kg/day; dexamethasone 0.5 mg/kg, max 10 mg --


def _car_t_crs(kg: float, *extra):
    return assess(
        [
            patient(birth="1980-01-01"),
            given("tisagenlecleucel", 24 * 5, by_text=True),
            temp(39.0),
            weight_obs(kg),
            infusion("norepinephrine", 5, "ug/min", 5),
            *extra,
        ],
        at=AT,
    )


@pytest.mark.parametrize(("kg", "mg_per_day"), [(50, 100), (70, 140), (83, 166)])
def test_car_t_crs_methylprednisolone_is_2_mg_per_kg_per_day(kg, mg_per_day):
    r = rec(_car_t_crs(kg), "methylprednisolone.crs.lee2014")
    assert (r.dose.value, r.dose.unit, r.route) == (mg_per_day, "mg/d", "IV")
    assert r.dose.basis == f"2 mg/kg/d × {kg} kg"


def _neuro_irae_crs(kg: float, birth: str = "2019-01-01"):
    return assess(
        [
            patient(birth=birth),
            given("pembrolizumab", 24 * 14),
            temp(39.0),
            weight_obs(kg),
            sbp(80),  # hypotension at 7 years: below 70 + 2 × 7 = 84 (PALS)
            condition("G37.3", "Acute transverse myelitis", 24),
        ],
        at=AT,
    )


@pytest.mark.parametrize(
    ("kg", "mg", "capped"), [(12, 6, False), (18, 9, False), (20, 10, False), (24, 10, True)]
)
def test_dexamethasone_is_0_5_mg_per_kg_up_to_10_mg(kg, mg, capped):
    r = rec(_neuro_irae_crs(kg), "dexamethasone.neuro")
    assert (r.dose.value, r.dose.unit, r.dose.capped) == (mg, "mg", capped)
    assert r.dose.basis == f"0.5 mg/kg × {kg} kg"


# --- Dosing tables are total ---------------------------------------------------------------------


def test_a_weight_in_no_band_is_reported_missing_not_dosed_from_another_band(monkeypatch):
    # A table with a gap between 25 and 30 kg: a 28 kg child gets no dose and a reason.
    rows = dosing.REGIMENS["tocilizumab.label"]
    from dataclasses import replace

    gapped = (rows[0], replace(rows[1], max_weight_kg=25))
    monkeypatch.setitem(dosing.REGIMENS, "tocilizumab.label", gapped)
    r = rec(_child_with_crs(28), "tocilizumab.label")
    assert r.dose is None
    assert "28 kg" in r.dose_missing_reason
    assert "12 mg/kg" in r.text and "8 mg/kg" in r.text
    with pytest.raises(dosing.NoBand):
        dosing.select("tocilizumab.label", 28, 10)


_WEIGHTS = [w / 10 for w in range(5, 3001, 5)]  # 0.5 to 300 kg
_AGES = [a / 2 for a in range(0, 241)]  # 0 to 120 years


@pytest.mark.parametrize("regimen_id", sorted(dosing.REGIMENS))
def test_every_banded_regimen_has_exactly_one_row_for_every_weight_and_age(regimen_id):
    rows = dosing.REGIMENS[regimen_id]
    for kg in _WEIGHTS:
        for age in _AGES[::4] if len(rows) > 1 else (40.0,):
            hits = [r for r in rows if dosing._applies(r, kg, age)]
            assert len(hits) == 1, (regimen_id, kg, age, hits)
    # Unknown weight leaves weight bands unapplied: only safe when every such row is per kg.
    if any(r.min_weight_kg is not None or r.max_weight_kg is not None for r in rows):
        assert all(r.per_kg_low is not None for r in rows), regimen_id


# --- irAE steroid doses (ASCO 2021) and PJP prophylaxis (≥20 mg/day prednisone for ≥4 weeks) ---


def _irae(kg: float, *conditions, drug: str = "pembrolizumab"):
    return assess(
        [patient(), given(drug, 24 * 14), weight_obs(kg), temp(37.0), sbp(120), *conditions],
        at=AT,
    )


def _rash(pct: int) -> dict:
    return condition("L27.0", f"Drug eruption, {pct}% BSA", 24)


def _arthritis(grade: int) -> dict:
    return condition("M06.4", "Inflammatory polyarthropathy", 24, stage=f"Grade {grade}")


def test_grade_3_rash_gets_prednisone_1_mg_per_kg_per_day():
    # ASCO 2021 Table 1, maculopapular rash G3: oral prednisone 1 mg/kg/day, taper ≥4 weeks.
    r = rec(_irae(70, _rash(40)), "prednisone.rash_g3")
    assert (r.dose.value, r.dose.unit, r.route) == (70, "mg/d", "oral")


def test_grade_2_rash_gets_prednisone_0_5_to_1_mg_per_kg_per_day():
    r = rec(_irae(70, _rash(20)), "prednisone.moderate")
    assert (r.dose.low, r.dose.high, r.dose.unit) == (35, 70, "mg/d")


def test_grade_2_arthritis_gets_prednisone_10_to_20_mg_per_day_for_everyone():
    for kg in (50, 90):
        r = rec(_irae(kg, _arthritis(2)), "prednisone.arthritis_g2")
        assert (r.dose.low, r.dose.high, r.dose.unit) == (10, 20, "mg/d")


def test_grade_3_arthritis_gets_prednisone_0_5_to_1_mg_per_kg_per_day():
    r = rec(_irae(80, _arthritis(3)), "prednisone.arthritis_g3")
    assert (r.dose.low, r.dose.high, r.dose.unit) == (40, 80, "mg/d")


@pytest.mark.parametrize(("kg", "pjp"), [(19, False), (20, True), (21, True)])
def test_pjp_prophylaxis_from_a_planned_prednisone_taper_of_20_mg_per_day(kg, pjp):
    # A grade 3 rash: prednisone 1 mg/kg/day tapered over ≥4 weeks; 20 mg/day reaches ASCO's
    # PJP threshold (≥20 mg/day prednisone-equivalent for ≥4 weeks), 19 mg/day does not.
    a = _irae(kg, _rash(40))
    assert rec(a, "prednisone.rash_g3").dose.value == kg
    assert ("pjp_prophylaxis" in {r.id for r in a.recommendations}) is pjp


@pytest.mark.parametrize(
    ("days", "mg", "pjp"), [(27, 20, False), (28, 20, True), (28, 19, False), (35, 25, True)]
)
def test_pjp_prophylaxis_after_28_days_of_20_mg_per_day_given(days, mg, pjp):
    doses = [given("prednisone", 24 * d + 2, dose=(mg, "mg")) for d in range(days)]
    a = assess([patient(), weight_obs(70), temp(37.0), *doses], at=AT)
    assert ("pjp_prophylaxis" in {r.id for r in a.recommendations}) is pjp


def test_transverse_myelitis_plan_doses_for_60_kg():
    # ASCO 2021 neurologic toxicities and the seed Q&A: methylprednisolone 1-2 mg/kg/day or pulse
    # 1 g/day, then prednisone 1 mg/kg/day tapered over 4-6 weeks; IVIG 2 g/kg total.
    a = _irae(60, condition("G37.3", "Acute transverse myelitis", 24))
    mp = rec(a, "methylprednisolone.high")
    assert (mp.dose.low, mp.dose.high, mp.dose.unit) == (60, 120, "mg/d")
    assert (rec(a, "methylprednisolone.pulse").dose.value, "mg/d") == (1000, "mg/d")
    assert rec(a, "prednisone.taper").dose.value == 60
    ivig = rec(a, "ivig.neuro")
    assert (ivig.dose.value, ivig.dose.unit) == (120, "g")


@pytest.mark.parametrize(("kg", "lee_mg", "label_mg"), [(60, 240, 480), (78, 312, 624)])
def test_adult_crs_tocilizumab_4_mg_per_kg_lee_beside_8_mg_per_kg_label(kg, lee_mg, label_mg):
    a = _child_with_crs(kg, birth="1970-01-01")
    assert rec(a, "tocilizumab.lee2014").dose.value == lee_mg
    assert rec(a, "tocilizumab.label").dose.value == label_mg


@pytest.mark.parametrize(("kg", "lee_mg", "capped"), [(200, 800, False), (210, 800, True)])
def test_the_lee_2014_tocilizumab_dose_is_capped_at_the_label_maximum(kg, lee_mg, capped):
    # 4 mg/kg reaches the label's 800 mg per infusion at 200 kg; above it the cap applies and
    # cites the label.
    r = rec(_child_with_crs(kg, birth="1970-01-01"), "tocilizumab.lee2014")
    assert (r.dose.value, r.dose.capped) == (lee_mg, capped)
    if capped:
        assert r.dose.cap.startswith("800 mg (actemra_label:")


def test_the_lee_2014_child_tocilizumab_dose_is_capped_at_the_label_maximum():
    # A 17-year-old of 110 kg: 8 mg/kg would be 880 mg; the label's 800 mg per infusion applies.
    r = rec(_child_with_crs(110, birth="2009-06-01"), "tocilizumab.lee2014")
    assert (r.dose.value, r.dose.capped) == (800, True)
    assert r.dose.basis.startswith("8 mg/kg")
    assert r.dose.cap.startswith("800 mg (actemra_label: section 2")


# --- Organ toxicity for Lee 2014 (CTCAE v4.03, multiples of the laboratory's ULN) -------------
# ALT/AST: grade 2 >3, grade 3 >5, grade 4 >20 × ULN; bilirubin: >1.5, >3, >10; creatinine:
# >1.5, >3, >6. Lee 2014: grade 2 organ toxicity is grade 2, grade 3 (or grade 4 transaminitis)
# grade 3, grade 4 organ toxicity other than transaminitis grade 4. Fever makes the floor 1.

_ORGAN = [
    # (LOINC, unit, ULN sent, value, Lee grade)
    ("1742-6", "U/L", 10, 30, 1),
    ("1742-6", "U/L", 10, 31, 2),
    ("1742-6", "U/L", 10, 50, 2),
    ("1742-6", "U/L", 10, 51, 3),
    ("1742-6", "U/L", 10, 201, 3),  # grade 4 transaminitis is Lee grade 3
    ("1920-8", "U/L", 10, 30, 1),
    ("1920-8", "U/L", 10, 31, 2),
    ("1920-8", "U/L", 10, 50, 2),
    ("1920-8", "U/L", 10, 51, 3),
    ("1920-8", "U/L", 10, 201, 3),
    ("1975-2", "mg/dL", 1.0, 1.5, 1),
    ("1975-2", "mg/dL", 1.0, 1.51, 2),
    ("1975-2", "mg/dL", 1.0, 3.0, 2),
    ("1975-2", "mg/dL", 1.0, 3.01, 3),
    ("1975-2", "mg/dL", 1.0, 10.0, 3),
    ("1975-2", "mg/dL", 1.0, 10.01, 4),
    ("2160-0", "mg/dL", 1.0, 1.5, 1),
    ("2160-0", "mg/dL", 1.0, 1.51, 2),
    ("2160-0", "mg/dL", 1.0, 3.0, 2),
    ("2160-0", "mg/dL", 1.0, 3.01, 3),
    ("2160-0", "mg/dL", 1.0, 6.0, 3),
    ("2160-0", "mg/dL", 1.0, 6.01, 4),
]


@pytest.mark.parametrize(("loinc", "unit", "uln", "value", "lee"), _ORGAN)
def test_organ_toxicity_thresholds_set_the_lee_grade(loinc, unit, uln, value, lee):
    g, a = crs(temp(38.5), sbp(120), lab(loinc, value, unit, uln))
    assert g["lee2014"] == lee
    organ = {c.id for c in a.crs["lee2014"].criteria if c.id.endswith(".organ")}
    assert organ == (set() if lee == 1 else {f"lee2014.g{lee}.organ"})
    assert g["astct2019"] == 1  # organ toxicity does not change the ASTCT grade


# --- Criteria whose grade is the rule's own ---------------------------------------------------


def test_low_flow_oxygen_without_a_measured_fio2_is_lee_and_ctcae_grade_2():
    g, a = crs(temp(38.5), sbp(120), o2("371907003", 4), obs("3151-8", 2, "L/min", 2))
    assert (g["lee2014"], g["ctcae5"], g["astct2019"]) == (2, 2, 2)
    assert "lee2014.g2.low_flow" in {c.id for c in a.crs["lee2014"].criteria}
    assert "FiO2" in {m.data for m in a.crs["lee2014"].missing}


def test_afebrile_after_tocilizumab_without_hypotension_or_hypoxia_is_astct_grade_0():
    g, a = crs(temp(37.2), sbp(120), given("tocilizumab", 10))
    assert g["astct2019"] == 0
    assert "astct2019.fever_lifted" in {c.id for c in a.crs["astct2019"].criteria}


def test_high_flow_oxygen_without_a_measured_fio2_is_grade_3_under_each_system():
    g, _ = crs(temp(38.5), sbp(120), o2("426854004", 3))
    assert (g["lee2014"], g["ctcae5"], g["astct2019"]) == (3, 3, 3)


@pytest.mark.parametrize(
    "support",
    [
        (o2("447837008", 3),),  # BiPAP
        (
            infusion("norepinephrine", 5, "ug/min", 5),
            infusion("epinephrine", 2, "ug/min", 5),
        ),  # two pressors
    ],
)
def test_ventilatory_support_or_two_pressors_is_ctcae_grade_4(support):
    g, a = crs(temp(38.5), *support)
    assert g["ctcae5"] == 4
    assert "ctcae5.g4.urgent" in {c.id for c in a.crs["ctcae5"].criteria}


@pytest.mark.parametrize(("dopamine", "high_dose"), [(19, False), (20, True)])
def test_dopamine_counts_half_towards_the_norepinephrine_equivalent(dopamine, high_dose):
    # Lee 2014 Table 3 footnote: NE-eq = norepinephrine + dopamine/2 + ...; with norepinephrine
    # 10 µg/min, dopamine 20 µg/kg/min makes 20 (high dose in combination), 19 makes 19.5.
    g, a = crs(
        temp(38.5),
        weight_obs(70),
        infusion("norepinephrine", 10, "ug/min", 4),
        infusion("dopamine", dopamine, "ug/kg/min", 4),
    )
    fired = {c.id for c in a.crs["lee2014"].criteria}
    assert ("lee2014.g3.high_dose" in fired) is high_dose
    assert "lee2014.g3.multiple" in fired and g["lee2014"] == 3


@pytest.mark.parametrize(("epinephrine", "high_dose"), [(9.9, False), (10, True)])
def test_epinephrine_counts_fully_towards_the_norepinephrine_equivalent(epinephrine, high_dose):
    # NE-eq = norepinephrine + epinephrine (+ ...): 10 + 10 = 20 is high dose in combination.
    _, a = crs(
        temp(38.5),
        infusion("norepinephrine", 10, "ug/min", 4),
        infusion("epinephrine", epinephrine, "ug/min", 4),
    )
    assert ("lee2014.g3.high_dose" in {c.id for c in a.crs["lee2014"].criteria}) is high_dose


def test_vasopressin_adds_nothing_to_the_norepinephrine_equivalent():
    # On vasopressin the threshold is NE-eq ≥10 µg/min; vasopressin's own rate (U/min) is not
    # part of the sum, so norepinephrine 9.98 µg/min with vasopressin 0.04 U/min stays below it.
    _, a = crs(
        temp(38.5),
        infusion("vasopressin", 0.04, "U/min", 4),
        infusion("norepinephrine", 9.98, "ug/min", 4),
    )
    fired = {c.id for c in a.crs["lee2014"].criteria}
    assert "lee2014.g3.high_dose" not in fired and "lee2014.g3.multiple" in fired


# --- CRS after CAR T cells: ASCO 2021 CAR T guideline (Santomasso), Table 1 -------------------
# G3: "dexamethasone 10 mg IV every 6 hours (or equivalent)"; G4: "methylprednisolone ... 500 mg
# IV every 12 hours for 3 days"; refractory CRS: siltuximab 11 mg/kg IV (CARTOX), off-label.


def _dex_given(mg_each: float, times: int = 4, every_h: float = 6) -> list[dict]:
    return [
        given("dexamethasone", 1 + i * every_h, (mg_each, "mg"), by_text=True) for i in range(times)
    ]


def test_car_t_crs_grade_3_gets_dexamethasone_10_mg_every_6_hours():
    r = rec(_car_t_crs(80), "dexamethasone.crs")
    assert (r.dose.value, r.dose.unit, r.route, r.frequency) == (10, "mg", "IV", "every 6 h")
    assert r.urgency == "urgent"


def test_dexamethasone_10_mg_every_6_hours_is_40_mg_a_day_against_the_running_course():
    # Already on dexamethasone 10 mg every 6 h (40 mg/day): the same line is not proposed again.
    same = rec(_car_t_crs(80, *_dex_given(10)), "dexamethasone.crs")
    assert same.dose is None and "not proposed again" in same.text
    # On 8.75 mg every 6 h (35 mg/day): 10 mg every 6 h is higher, proposed as a change.
    lower = rec(_car_t_crs(80, *_dex_given(8.75)), "dexamethasone.crs")
    assert lower.dose.value == 10 and "change it to this dose" in lower.text


def _car_t_crs_g4(kg: float, *extra):
    # Two vasopressors (norepinephrine and epinephrine): ASTCT grade 4.
    return _car_t_crs(kg, infusion("epinephrine", 5, "ug/min", 5), *extra)


def test_car_t_crs_grade_4_gets_methylprednisolone_500_mg_every_12_hours():
    a = _car_t_crs_g4(80)
    assert a.crs["astct2019"].grade == 4
    r = rec(a, "methylprednisolone.crs.g4")
    assert (r.dose.value, r.dose.unit, r.route, r.frequency) == (500, "mg", "IV", "every 12 h")
    assert r.urgency == "urgent"
    assert not [x for x in a.recommendations if x.id == "dexamethasone.crs"]


def _mp_given(mg_each: float) -> list[dict]:
    return [given("methylprednisolone", h, (mg_each, "mg"), by_text=True) for h in (1, 13)]


def test_methylprednisolone_500_mg_every_12_hours_is_1000_mg_a_day_against_the_running_course():
    # On 500 mg every 12 h (1000 mg/day): not proposed again; on 450 mg every 12 h: a change.
    same = rec(_car_t_crs_g4(80, *_mp_given(500)), "methylprednisolone.crs.g4")
    assert same.dose is None and "not proposed again" in same.text
    lower = rec(_car_t_crs_g4(80, *_mp_given(450)), "methylprednisolone.crs.g4")
    assert lower.dose.value == 500 and "change it to this dose" in lower.text


@pytest.mark.parametrize(("kg", "mg"), [(60, 660), (80, 880)])
def test_refractory_car_t_crs_offers_siltuximab_11_mg_per_kg(kg, mg):
    # Four tocilizumab doses (the label maximum) and dexamethasone running: refractory.
    toci = [given("tocilizumab", h, (640, "mg")) for h in (34, 26, 17, 9)]
    a = _car_t_crs(kg, *toci, *_dex_given(10))
    r = rec(a, "crs.refractory.siltuximab")
    assert (r.dose.value, r.dose.unit, r.route) == (mg, "mg", "IV")
    assert r.dose.basis == f"11 mg/kg × {kg} kg"
    assert "off-label" in r.text


@pytest.mark.parametrize(("birth", "dosed"), [("2009-06-01", False), ("2008-11-01", True)])
def test_the_asco_car_t_corticosteroid_doses_are_for_adults_only(birth, dosed):
    # 17 years 5 months: fixed adult doses are not given to a child (no band: dose missing);
    # 18 years: dexamethasone 10 mg every 6 h (grade 3) and methylprednisolone 500 mg (grade 4).
    def child(*extra):
        return assess(
            [
                patient(birth=birth),
                given("tisagenlecleucel", 24 * 5, by_text=True),
                temp(39.0),
                weight_obs(60),
                infusion("norepinephrine", 5, "ug/min", 5),
                *extra,
            ],
            at=AT,
        )

    dex = rec(child(), "dexamethasone.crs")
    mp = rec(child(infusion("epinephrine", 5, "ug/min", 5)), "methylprednisolone.crs.g4")
    if dosed:
        assert (dex.dose.value, mp.dose.value) == (10, 500)
    else:
        assert dex.dose is None and "age 17 years" in dex.dose_missing_reason
        assert mp.dose is None and "age 17 years" in mp.dose_missing_reason


def _prednisone_statement(start_days_before: float, end_days_before: float) -> dict:
    return {
        "resourceType": "MedicationStatement",
        "id": f"ms-{start_days_before}-{end_days_before}",
        "status": "completed",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": RX["prednisone"]}]},
        "effectivePeriod": {
            "start": iso(24 * start_days_before),
            "end": iso(24 * end_days_before),
        },
        "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 20, "unit": "mg", "code": "mg"}}]}],
    }


def _stress_hydrocortisone(*resources) -> bool:
    _, a = crs(weight_obs(70), *resources)
    return "hydrocortisone.stress" in {r.id for r in a.recommendations}


# Fever 39.0 °C and a systolic pressure of 85 mm Hg without vasopressors: CRS grade 2 (ASTCT).
CRS_G2 = (temp(39.0), sbp(85))


@pytest.mark.parametrize(("days", "advised"), [(13, False), (14, True), (15, True)])
def test_stress_hydrocortisone_after_a_corticosteroid_course_of_14_days(days, advised):
    course = _prednisone_statement(start_days_before=40, end_days_before=40 - days)
    assert _stress_hydrocortisone(*CRS_G2, course) is advised


@pytest.mark.parametrize(("ended", "advised"), [(89, True), (90, True), (91, False)])
def test_stress_hydrocortisone_for_a_course_taken_within_the_last_90_days(ended, advised):
    course = _prednisone_statement(start_days_before=ended + 20, end_days_before=ended)
    assert _stress_hydrocortisone(*CRS_G2, course) is advised


def test_stress_hydrocortisone_for_a_long_running_course_begun_half_a_year_ago():
    # Still on prednisone, begun 180 days ago: a patient on chronic corticosteroids is at risk
    # however long ago the course began.
    running = _prednisone_statement(start_days_before=180, end_days_before=0)
    running["status"] = "active"
    del running["effectivePeriod"]["end"]
    assert _stress_hydrocortisone(*CRS_G2, running) is True
    # Begun 200 days ago and stopped 120 days ago: outside the look-back.
    assert _stress_hydrocortisone(*CRS_G2, _prednisone_statement(200, 120)) is False


def test_stress_hydrocortisone_from_crs_grade_2_not_grade_1():
    course = _prednisone_statement(start_days_before=40, end_days_before=20)
    assert _stress_hydrocortisone(temp(39.0), course) is False  # fever alone: grade 1
    assert _stress_hydrocortisone(*CRS_G2, course) is True
    _, a = crs(weight_obs(70), *CRS_G2, course)
    text = next(r.text for r in a.recommendations if r.id == "hydrocortisone.stress")
    assert "14 days or more" in text and "within the last 90 days" in text
