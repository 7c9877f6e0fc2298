"""CRS grading at every threshold, on both sides (knowledge.crs is the table under test)."""

from __future__ import annotations

import pytest

from services.assess import assess, assess_data
from services.model import O2Level
from tests import domain_factory as D
from tests.fhir_factory import (
    AT,
    given,
    infusion,
    iso,
    lab,
    o2,
    obs,
    patient,
    sbp,
    temp,
    weight,
)


def grades(*resources):
    # A CRS-associated therapy within its onset window, so that CRS grading applies
    # (attribution has its own tests in test_crs_attribution.py).
    a = assess([patient(), given("pembrolizumab", 24 * 20), *resources], at=AT)
    return {s: r.grade for s, r in a.crs.items()}, a


def domain_grades(**kw):
    """As `grades`, from domain inputs (no FHIR): pembrolizumab 20 days before, so that CRS
    grading applies. `kw`: the series by name and the other `domain_factory.patient` lists."""
    series = {k: v for k, v in kw.items() if k not in ("o2", "infusions")}
    data = D.patient(
        series=series,
        o2=kw.get("o2"),
        infusions=kw.get("infusions"),
        drugs=[D.given("pembrolizumab", "checkpoint_inhibitor", 24 * 20)],
    )
    a = assess_data(data, AT)
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
    g, _ = domain_grades(
        temperature=[D.sample(38.5)],
        o2=[D.oxygen(O2Level.LOW_FLOW_CANNULA, 4)],
        o2_flow=[D.sample(flow, 2)],
    )
    assert g["astct2019"] == astct


@pytest.mark.parametrize(
    ("fio2", "unit", "lee"), [(39, "%", 2), (40, "%", 3), (0.39, "1", 2), (0.40, "1", 3)]
)
def test_fio2_39_percent_is_lee_grade_2_and_40_percent_grade_3(fio2, unit, lee):
    g, _ = grades(temp(38.5), o2("371908008", 4), obs("3150-0", fio2, unit, 2))
    assert g["lee2014"] == lee
    assert g["ctcae5"] == lee


def test_bipap_is_astct_grade_4_and_lee_ventilator_support():
    g, a = domain_grades(temperature=[D.sample(38.5)], o2=[D.oxygen(O2Level.NONINVASIVE_PPV, 3)])
    assert g["astct2019"] == 4
    assert "astct2019.g4.positive_pressure" in fired(a, "astct2019")
    assert g["lee2014"] == 4


def test_device_named_exactly_in_text_is_recognised_and_a_longer_text_is_not():
    g, _ = grades(temp(38.5), o2("", 3, text="Non-rebreather mask"))
    assert g["astct2019"] == 3
    g, _ = grades(temp(38.5), o2("", 3, text="Non-rebreather mask 15 L"))
    assert g["astct2019"] == 1  # a name inside a longer text is not a device


def test_non_invasive_blood_pressure_observation_is_not_ventilation():
    nibp = {
        "resourceType": "Observation",
        "id": "nibp",
        "status": "final",
        "code": {
            "coding": [{"system": "urn:local", "code": "NIBP"}],
            "text": "Non-invasive blood pressure",
        },
        "effectiveDateTime": "2026-11-20T11:00:00+00:00",
        "valueQuantity": {"value": 118, "unit": "mm[Hg]", "code": "mm[Hg]"},
    }
    g, a = grades(temp(38.5), nibp)
    assert g == {"lee2014": 1, "astct2019": 1, "ctcae5": 1}
    assert a.timeline["o2_support"] == []


def test_a_locally_coded_blood_pressure_panel_is_read_by_its_loinc_components():
    panel = {
        "resourceType": "Observation",
        "id": "nibp-panel",
        "status": "final",
        "code": {
            "coding": [{"system": "urn:local", "code": "NIBP"}],
            "text": "Non-invasive blood pressure",
        },
        "effectiveDateTime": "2026-11-20T10:00:00+00:00",
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": 80, "code": "mm[Hg]"},
            }
        ],
    }
    g, a = grades(temp(39.1), panel)
    assert g == {"lee2014": 2, "astct2019": 2, "ctcae5": 2}
    assert a.timeline["o2_support"] == []


def test_laryngeal_mask_airway_for_a_procedure_is_not_a_face_mask():
    lma = o2("", 3, text="Laryngeal mask airway insertion")
    g, a = grades(temp(38.5), lma)
    assert g == {"lee2014": 1, "astct2019": 1, "ctcae5": 1}
    assert a.timeline["o2_support"] == []


def test_oxygen_device_coded_on_an_observation_value_counts_but_its_text_does_not():
    coded = {
        "resourceType": "Observation",
        "id": "dev",
        "status": "final",
        "code": {"text": "O2 device"},
        "valueCodeableConcept": {
            "coding": [{"system": "http://snomed.info/sct", "code": "426854004"}]
        },
        "effectiveDateTime": "2026-11-20T11:00:00+00:00",
    }
    assert grades(temp(38.5), coded)[0]["astct2019"] == 3
    text_only = {**coded, "id": "dev2", "code": {"text": "High flow nasal cannula"}}
    text_only.pop("valueCodeableConcept")
    assert grades(temp(38.5), text_only)[0]["astct2019"] == 1


def test_device_use_statement_reads_the_referenced_device_type_code_and_exact_name():
    device = {
        "resourceType": "Device",
        "id": "d1",
        "type": {"coding": [{"system": "http://snomed.info/sct", "code": "427591007"}]},
    }
    use = {
        "resourceType": "DeviceUseStatement",
        "id": "u1",
        "status": "active",
        "device": {"reference": "Device/d1"},
        "timingPeriod": {"start": "2026-11-20T09:00:00+00:00"},
    }
    assert grades(temp(38.5), device, use)[0]["astct2019"] == 3
    named = {**use, "id": "u2", "device": {"display": "BiPAP"}}
    assert grades(temp(38.5), named)[0]["astct2019"] == 4
    longer = {**use, "id": "u3", "device": {"display": "BiPAP machine in storage"}}
    assert grades(temp(38.5), longer)[0]["astct2019"] == 1


def test_high_flow_without_measured_fio2_asks_for_fio2():
    g, a = grades(temp(38.5), o2("426854004", 3))
    assert g["lee2014"] == 3
    assert "FiO2" in {m.data for m in a.crs["lee2014"].missing}


# --- Hypotension and vasopressors -----------------------------------------------------------


def test_sbp_89_is_hypotension_and_90_is_not():
    fever = [D.sample(38.5)]
    assert domain_grades(temperature=fever, sbp=[D.sample(89)])[0]["astct2019"] == 2
    assert domain_grades(temperature=fever, sbp=[D.sample(90)])[0]["astct2019"] == 1


def test_norepinephrine_5_alone_is_lee_grade_2_but_astct_grade_3():
    g, _ = domain_grades(
        temperature=[D.sample(38.5)],
        weight=[D.sample(70, 48)],
        infusions=[D.pressor("norepinephrine", 5, 5)],
    )
    assert g["lee2014"] == 2
    assert g["astct2019"] == 3
    assert g["ctcae5"] == 3


def test_norepinephrine_plus_vasopressin_is_astct_grade_3():
    g, _ = domain_grades(
        temperature=[D.sample(38.5)],
        infusions=[D.pressor("norepinephrine", 5, 5), D.pressor("vasopressin", 0.03, 5)],
    )
    assert g["astct2019"] == 3
    assert g["lee2014"] == 3  # multiple vasopressors


def test_norepinephrine_plus_epinephrine_is_astct_grade_4():
    g, _ = domain_grades(
        temperature=[D.sample(38.5)],
        infusions=[D.pressor("norepinephrine", 5, 5), D.pressor("epinephrine", 2, 5)],
    )
    assert g["astct2019"] == 4


def test_afebrile_after_fever_then_tocilizumab_on_one_pressor_is_astct_grade_3():
    g, a = grades(
        temp(39.0, hours_before=30),
        temp(37.2),
        given("tocilizumab", 10),
        infusion("norepinephrine", 5, "ug/min", 5),
    )
    assert g == {"lee2014": 2, "astct2019": 3, "ctcae5": 3}
    assert "astct2019.fever_lifted" in fired(a, "astct2019")


@pytest.mark.parametrize("drug", ["methylprednisolone", "acetaminophen"])
def test_treatment_before_any_fever_does_not_lift_the_fever_requirement(drug):
    # Prophylaxis: the drug came first, there was never a fever: not CRS under any system.
    g, a = grades(
        temp(37.2, hours_before=20),
        temp(37.0),
        given(drug, 10) if drug != "acetaminophen" else _acetaminophen(10),
        infusion("norepinephrine", 5, "ug/min", 5),
    )
    assert g == {"lee2014": 0, "astct2019": 0, "ctcae5": 0}
    assert "astct2019.fever_lifted" not in fired(a, "astct2019")
    assert [e.what for e in a.crs["astct2019"].findings] == ["norepinephrine 5 ug/min"]
    assert a.crs["astct2019"].notes[1] == (
        f"{drug} was given before any fever (2026-11-20 02:00 UTC): it may mask a fever, so "
        "watch the temperature closely; given before CRS began, it does not replace the fever "
        "the grading needs."
    )


def test_antipyretic_after_fever_lifts_the_astct_fever_requirement():
    g, a = grades(
        temp(38.6, hours_before=30),  # outside the 24-hour window: no fever now
        _acetaminophen(29),
        temp(37.1, hours_before=1),
        infusion("norepinephrine", 5, "ug/min", 5),
    )
    assert g["astct2019"] == 3
    assert "astct2019.fever_lifted" in fired(a, "astct2019")


def test_treatment_given_before_the_fever_does_not_lift_it():
    # Steroid at 40 h, fever at 30 h, afebrile on a pressor now: the steroid came before onset.
    g, _ = grades(
        given("methylprednisolone", 40),
        temp(39.0, hours_before=30),
        temp(37.0),
        infusion("norepinephrine", 5, "ug/min", 5),
    )
    assert g["astct2019"] == 0
    assert g["lee2014"] == 2  # Lee 2014 and CTCAE grade on the fever that began the episode
    assert g["ctcae5"] == 3


@pytest.mark.parametrize(("fever_hours_before", "lee"), [(14 * 24 - 1, 2), (14 * 24 + 1, 0)])
def test_the_episode_reaches_back_14_days(fever_hours_before, lee):
    g, _ = grades(
        temp(38.5, hours_before=fever_hours_before),
        temp(37.0),
        sbp(84),
    )
    assert g["lee2014"] == lee
    assert g["ctcae5"] == lee


def test_afebrile_on_a_pressor_is_not_crs_in_any_system_and_says_why():
    g, a = grades(temp(37.2), infusion("norepinephrine", 5, "ug/min", 5))
    assert g == {"lee2014": 0, "astct2019": 0, "ctcae5": 0}
    for system in ("lee2014", "astct2019", "ctcae5"):
        r = a.crs[system]
        assert r.criteria == ()
        assert [e.what for e in r.findings] == ["norepinephrine 5 ug/min"]
        assert "sepsis, bleeding, cardiac causes, drugs" in r.notes[0]
    assert "prophylaxis before any fever does not count" in a.crs["astct2019"].notes[0]


def test_hypotension_without_any_temperature_has_no_grade_rather_than_a_guess():
    g, a = grades(sbp(84))
    assert g == {"lee2014": None, "astct2019": None, "ctcae5": None}
    assert "depends on fever" in a.crs["lee2014"].notes[0]


def _acetaminophen(hours_before):
    return {
        "resourceType": "MedicationAdministration",
        "id": f"apap{hours_before}",
        "status": "completed",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "161"}]
        },
        "effectiveDateTime": iso(hours_before),
    }


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


@pytest.mark.parametrize("unit", ["ug/(kg.min)", "ug/kg/min", "mcg/kg/min", "mcg/(kg.min)"])
def test_a_weight_based_rate_in_ucum_brackets_is_read(unit):
    # UCUM writes µg/kg/min as ug/(kg.min): 0.3 × 70 kg = 21 µg/min, Lee 2014 high dose (≥20).
    g, _ = grades(temp(38.5), weight(70), infusion("norepinephrine", 0.3, unit, 4))
    assert g["lee2014"] == 3
    g, _ = grades(temp(38.5), weight(70), infusion("norepinephrine", 0.28, unit, 4))  # 19.6
    assert g["lee2014"] == 2


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


def test_death_during_grade_3_crs_is_reported_not_graded_5():
    a = assess(
        [
            patient(deceasedDateTime="2026-11-20T10:00:00+00:00"),
            given("pembrolizumab", 24 * 20),
            temp(39.0, hours_before=10),
            infusion("norepinephrine", 5, "ug/min", 8, 3),
        ],
        at=AT,
    )
    assert {s: r.grade for s, r in a.crs.items()} == {"lee2014": 2, "astct2019": 3, "ctcae5": 3}
    death = "Death during CRS grade 3; whether CRS caused it (grade 5) is a clinician's judgement."
    assert death in a.crs["astct2019"].notes
    assert death in a.crs["ctcae5"].notes
    assert not any("Death" in n for n in a.crs["lee2014"].notes)  # grade 2: below the bar


def test_a_low_spo2_without_oxygen_support_recorded_asks_for_the_support_not_a_grade():
    # No system grades by saturation (Lee 2014 Table 2: oxygen requirement; ASTCT 2019: the
    # delivery needed; CTCAE v5.0: the O2 fraction): SpO2 86% on its own changes no grade, and
    # the missing oxygen support is asked for.
    g, a = grades(temp(38.5), obs("59408-5", 86, "%"))
    assert g == {"lee2014": 1, "astct2019": 1, "ctcae5": 1}
    for system in ("lee2014", "astct2019", "ctcae5"):
        assert any(m.data.startswith("oxygen support") for m in a.crs[system].missing), system


def test_death_during_crs_names_grade_5_of_each_system_and_never_assigns_it():
    # Grade 5 is death (Lee 2014 Table 2, CTCAE v5.0), death due to CRS (ASTCT 2019): each
    # system's row names it; whether CRS caused the death is left to the clinician.
    a = assess(
        [
            patient(deceasedDateTime="2026-11-20T10:00:00+00:00"),
            given("pembrolizumab", 24 * 20),
            temp(39.0, hours_before=10),
            infusion("norepinephrine", 25, "ug/min", 8, 3),  # high dose held 5 h
        ],
        at=AT,
    )
    assert {s: r.grade for s, r in a.crs.items()} == {"lee2014": 3, "astct2019": 3, "ctcae5": 3}
    death = "Death during CRS grade 3; whether CRS caused it (grade 5) is a clinician's judgement."
    for system in ("lee2014", "astct2019", "ctcae5"):
        assert death in a.crs[system].notes, system


def test_death_during_grade_2_crs_is_not_called_a_death_during_crs():
    a = assess(
        [
            patient(deceasedDateTime="2026-11-20T10:00:00+00:00"),
            given("pembrolizumab", 24 * 20),
            temp(39.0, hours_before=10),
            sbp(84, 9),
        ],
        at=AT,
    )
    assert {r.grade for r in a.crs.values()} == {2}
    assert not any("Death" in n for r in a.crs.values() for n in r.notes)


def test_trajectory_records_when_the_grade_changed():
    _, a = grades(temp(39.0, hours_before=40), temp(37.0, hours_before=2), sbp(120, hours_before=2))
    lee = [(p.time, p.grades["lee2014"]) for p in a.trajectory]
    assert any(g == 1 for _, g in lee)
    assert lee[-1][1] == 0


def test_a_rate_below_one_keeps_its_digits_in_the_evidence():
    # Vasopressin is charted at 0.03-0.04 units/min: "0" would read as stopped.
    _, a = grades(temp(38.5), infusion("vasopressin", 0.03, "U/min", 4))
    what = [e.what for c in a.crs["astct2019"].criteria for e in c.evidence]
    assert any(w.startswith("vasopressin 0.03 ") for w in what), what


@pytest.mark.parametrize(
    ("resources", "lee"),
    [
        # Fever began the episode 30 h ago, none now: transaminitis alone is not CRS.
        ((temp(37.2, hours_before=2),), 0),
        # Same, with hypotension now: the syndrome is there, and the organ toxicity counts.
        ((temp(37.2, hours_before=2), sbp(82, hours_before=2)), 3),
        # Fever now: grade 4 transaminitis is Lee grade 3.
        ((temp(38.5, hours_before=2),), 3),
    ],
)
def test_lee_2014_does_not_grade_organ_toxicity_alone_without_the_syndrome(resources, lee):
    g, a = grades(
        temp(39.0, hours_before=30), *resources, lab("1742-6", 900, "U/L", 40, hours_before=2)
    )
    assert g["lee2014"] == lee
    if lee == 0:
        assert "lee2014.g3.organ" not in fired(a, "lee2014")
        assert any(n.startswith("Organ toxicity without fever") for n in a.crs["lee2014"].notes)
