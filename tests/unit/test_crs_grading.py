"""CRS grading at every threshold, on both sides (knowledge.crs is the table under test)."""

from __future__ import annotations

import pytest

from services.assess import assess
from tests.fhir_factory import (
    AT,
    given,
    infusion,
    lab,
    o2,
    obs,
    patient,
    sbp,
    temp,
    weight,
)


def grades(*resources):
    a = assess([patient(), *resources], at=AT)
    return {s: r.grade for s, r in a.crs.items()}, a


def fired(a, system):
    return {c.id for c in a.crs[system].criteria}


# --- Fever --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (37.9, "Cel", 0),
        (38.0, "Cel", 1),
        (100.2, "[degF]", 0),  # 37.89 °C
        (100.4, "[degF]", 1),  # exactly 38.0 °C
        (100.4, "°F", 1),  # a human unit string EHRs send
    ],
)
def test_fever_threshold_is_38_0_celsius_in_either_unit(value, unit, expected):
    g, _ = grades(temp(value, unit), sbp(120))
    assert g == {"lee2014": expected, "astct2019": expected, "ctcae5": expected}


def test_no_data_at_all_gives_no_grade_and_says_why():
    g, a = grades()
    assert g == {"lee2014": None, "astct2019": None, "ctcae5": None}
    assert "No temperature" in a.crs["lee2014"].notes[0]


def test_missing_temperature_is_reported_not_assumed_normal():
    g, a = grades(sbp(120))
    assert g["lee2014"] == 0
    assert g["astct2019"] is None  # ASTCT needs to know about fever
    assert "temperature" in {m.data for m in a.crs["lee2014"].missing}


def test_entered_in_error_observation_is_ignored():
    g, _ = grades(obs("8310-5", 39.5, "Cel", status="entered-in-error"), temp(37.0))
    assert g["lee2014"] == 0


def test_findings_older_than_the_24_hour_window_do_not_count_now_but_do_in_worst():
    _, a = grades(temp(39.0, hours_before=30), temp(37.0, hours_before=2))
    assert a.crs["lee2014"].grade == 0
    assert a.crs_worst["lee2014"].grades["lee2014"] == 1


# --- Oxygen -------------------------------------------------------------------------------


@pytest.mark.parametrize(("flow", "astct"), [(6, 2), (7, 3)])
def test_nasal_cannula_6_l_is_astct_grade_2_and_7_l_is_grade_3(flow, astct):
    g, _ = grades(temp(38.5), o2("371907003", 4), obs("3151-8", flow, "L/min", 2))
    assert g["astct2019"] == astct


@pytest.mark.parametrize(
    ("fio2", "unit", "lee"), [(39, "%", 2), (40, "%", 3), (0.39, "1", 2), (0.40, "1", 3)]
)
def test_fio2_39_percent_is_lee_grade_2_and_40_percent_grade_3(fio2, unit, lee):
    g, _ = grades(temp(38.5), o2("371908008", 4), obs("3150-0", fio2, unit, 2))
    assert g["lee2014"] == lee
    assert g["ctcae5"] == lee


def test_bipap_is_astct_grade_4_and_lee_ventilator_support():
    g, a = grades(temp(38.5), o2("447837008", 3))
    assert g["astct2019"] == 4
    assert "astct2019.g4.positive_pressure" in fired(a, "astct2019")
    assert g["lee2014"] == 4


def test_device_named_only_in_text_is_recognised():
    g, _ = grades(temp(38.5), o2("", 3, text="Non-rebreather mask 15 L"))
    assert g["astct2019"] == 3


def test_high_flow_without_measured_fio2_asks_for_fio2():
    g, a = grades(temp(38.5), o2("426854004", 3))
    assert g["lee2014"] == 3
    assert "FiO2" in {m.data for m in a.crs["lee2014"].missing}


# --- Hypotension and vasopressors -----------------------------------------------------------


def test_sbp_89_is_hypotension_and_90_is_not():
    assert grades(temp(38.5), sbp(89))[0]["astct2019"] == 2
    assert grades(temp(38.5), sbp(90))[0]["astct2019"] == 1


def test_norepinephrine_5_alone_is_lee_grade_2_but_astct_grade_3():
    g, _ = grades(temp(38.5), weight(70), infusion("norepinephrine", 5, "ug/min", 5))
    assert g["lee2014"] == 2
    assert g["astct2019"] == 3
    assert g["ctcae5"] == 3


def test_norepinephrine_plus_vasopressin_is_astct_grade_3():
    g, _ = grades(
        temp(38.5),
        infusion("norepinephrine", 5, "ug/min", 5),
        infusion("vasopressin", 0.03, "U/min", 5),
    )
    assert g["astct2019"] == 3
    assert g["lee2014"] == 3  # multiple vasopressors


def test_norepinephrine_plus_epinephrine_is_astct_grade_4():
    g, _ = grades(
        temp(38.5),
        infusion("norepinephrine", 5, "ug/min", 5),
        infusion("epinephrine", 2, "ug/min", 5),
    )
    assert g["astct2019"] == 4


def test_afebrile_after_tocilizumab_on_one_pressor_is_astct_grade_3():
    g, a = grades(temp(37.2), given("tocilizumab", 10), infusion("norepinephrine", 5, "ug/min", 5))
    assert g["astct2019"] == 3
    assert "astct2019.fever_lifted" in fired(a, "astct2019")


def test_afebrile_without_anticytokine_on_a_pressor_is_not_astct_crs_and_says_why():
    g, a = grades(temp(37.2), infusion("norepinephrine", 5, "ug/min", 5))
    assert g["astct2019"] == 0
    assert "antipyretics" in a.crs["astct2019"].notes[0]


def test_fever_with_grade_4_transaminitis_alone_is_lee_grade_3_but_astct_grade_1():
    g, a = grades(temp(38.5), sbp(120), lab("1742-6", 900, "U/L", 40))  # 22.5 × ULN
    assert g["lee2014"] == 3
    assert "lee2014.g3.organ" in fired(a, "lee2014")
    assert g["astct2019"] == 1


def test_grade_4_creatinine_is_lee_grade_4_organ_toxicity():
    g, _ = grades(temp(38.5), lab("2160-0", 7.5, "mg/dL", 1.2))
    assert g["lee2014"] == 4


def test_lab_without_reference_range_uses_a_flagged_assumed_uln():
    g, a = grades(temp(38.5), lab("1742-6", 900, "U/L", None))
    assert g["lee2014"] == 3
    assert any("reference range" in m.data for m in a.crs["lee2014"].missing)


def test_bilirubin_in_umol_per_l_converts_through_molar_mass():
    # 120 µmol/L = 7.0 mg/dL; ULN 1.2 mg/dL sent as 20.5 µmol/L → 5.85 × ULN: grade 3
    g, _ = grades(temp(38.5), lab("1975-2", 120, "umol/L", 20.5))
    assert g["lee2014"] == 3


# Lee 2014 Table 3: each monotherapy at and just below its threshold, held 3 h.
@pytest.mark.parametrize(
    ("drug", "at_threshold", "below", "unit"),
    [
        ("norepinephrine", 20, 19.9, "ug/min"),
        ("dopamine", 10, 9.9, "ug/kg/min"),
        ("phenylephrine", 200, 199, "ug/min"),
        ("epinephrine", 10, 9.9, "ug/min"),
    ],
)
def test_table_3_monotherapy_thresholds(drug, at_threshold, below, unit):
    high, a = grades(temp(38.5), weight(70), infusion(drug, at_threshold, unit, 3))
    assert high["lee2014"] == 3
    assert "lee2014.g3.high_dose" in fired(a, "lee2014")
    low, _ = grades(temp(38.5), weight(70), infusion(drug, below, unit, 3))
    assert low["lee2014"] == 2


def test_high_dose_held_2h59_is_not_high_dose_and_3h_is():
    short, _ = grades(temp(38.5), infusion("norepinephrine", 25, "ug/min", 2 + 59 / 60))
    assert short["lee2014"] == 2
    held, _ = grades(temp(38.5), infusion("norepinephrine", 25, "ug/min", 3))
    assert held["lee2014"] == 3


def test_high_dose_that_ended_within_the_window_still_counts():
    g, _ = grades(temp(38.5), infusion("norepinephrine", 25, "ug/min", 10, 6))
    assert g["lee2014"] == 3


def test_norepinephrine_in_mg_per_hour_converts_to_micrograms_per_minute():
    g, _ = grades(temp(38.5), infusion("norepinephrine", 1.2, "mg/h", 4))  # 20 µg/min
    assert g["lee2014"] == 3


def test_norepinephrine_per_kg_needs_a_weight():
    with_w, _ = grades(
        temp(38.5), weight(70), infusion("norepinephrine", 0.3, "ug/kg/min", 4)
    )  # 21 µg/min
    assert with_w["lee2014"] == 3
    without, a = grades(temp(38.5), infusion("norepinephrine", 0.3, "ug/kg/min", 4))
    assert without["lee2014"] == 2
    assert any("norepinephrine infusion rate" in m.data for m in a.crs["lee2014"].missing)


def test_dopamine_in_micrograms_per_minute_needs_weight_to_reach_table_3():
    # 800 µg/min in a 70 kg patient = 11.4 µg/kg/min: high dose
    with_w, _ = grades(temp(38.5), weight(70), infusion("dopamine", 800, "ug/min", 4))
    assert with_w["lee2014"] == 3
    without, a = grades(temp(38.5), infusion("dopamine", 800, "ug/min", 4))
    assert without["lee2014"] == 2
    assert any("needs a body weight" in (d["problem"]) for d in a.data_quality)


def test_weight_in_pounds_is_converted():
    # 154 lb = 69.85 kg; dopamine 800 µg/min → 11.45 µg/kg/min
    g, a = grades(temp(38.5), weight(154, "[lb_av]"), infusion("dopamine", 800, "ug/min", 4))
    assert round(a.weight.kg, 2) == 69.85
    assert g["lee2014"] == 3


def test_vasopressin_plus_norepinephrine_equivalent_10_is_high_dose_and_9_is_not():
    _, hi = grades(
        temp(38.5),
        infusion("vasopressin", 0.03, "U/min", 4),
        infusion("norepinephrine", 10, "ug/min", 4),
    )
    _, lo = grades(
        temp(38.5),
        infusion("vasopressin", 0.03, "U/min", 4),
        infusion("norepinephrine", 9, "ug/min", 4),
    )
    assert "lee2014.g3.high_dose" in fired(hi, "lee2014")
    assert "lee2014.g3.high_dose" not in fired(lo, "lee2014")
    assert "lee2014.g3.multiple" in fired(lo, "lee2014")  # still grade 3: two vasopressors


def test_combination_without_vasopressin_uses_norepinephrine_equivalent_20():
    # NE 10 + dopamine 10 µg/kg/min / 2 + epinephrine 0 + phenylephrine 50/10 = 20 → high dose
    _, a = grades(
        temp(38.5),
        weight(70),
        infusion("norepinephrine", 10, "ug/min", 4),
        infusion("dopamine", 10, "ug/kg/min", 4),
        infusion("phenylephrine", 50, "ug/min", 4),
    )
    assert "lee2014.g3.high_dose" in fired(a, "lee2014")
    _, b = grades(
        temp(38.5),
        infusion("norepinephrine", 10, "ug/min", 4),
        infusion("phenylephrine", 99, "ug/min", 4),  # 19.9
    )
    assert "lee2014.g3.high_dose" not in fired(b, "lee2014")
    assert "lee2014.g3.multiple" in fired(b, "lee2014")


def test_vasopressor_named_only_in_text_counts():
    g, _ = grades(temp(38.5), infusion("norepinephrine", 5, "mcg/min", 4, by_text=True))
    assert g["astct2019"] == 3


def test_unknown_unit_is_reported_not_guessed():
    g, a = grades(temp(38.5), infusion("norepinephrine", 5, "furlongs", 4))
    assert g["lee2014"] == 2  # a vasopressor is running; its dose is unknown
    assert any("not a UCUM unit" in d["problem"] for d in a.data_quality)


def test_death_after_crs_is_grade_5_with_the_attribution_caveat():
    g, _ = grades(
        temp(39.0, hours_before=10),
        infusion("norepinephrine", 5, "ug/min", 8, 3),
    )
    assert g["astct2019"] == 3
    a2 = assess(
        [
            patient(deceasedDateTime="2026-11-20T10:00:00+00:00"),
            temp(39.0, hours_before=10),
            infusion("norepinephrine", 5, "ug/min", 8, 3),
        ],
        at=AT,
    )
    assert {r.grade for r in a2.crs.values()} == {5}
    assert any("clinical judgement" in n for n in a2.crs["lee2014"].notes)


def test_trajectory_records_when_the_grade_changed():
    _, a = grades(temp(39.0, hours_before=40), temp(37.0, hours_before=2), sbp(120, hours_before=2))
    lee = [(p.time, p.grades["lee2014"]) for p in a.trajectory]
    assert any(g == 1 for _, g in lee)
    assert lee[-1][1] == 0
