"""The organ plan, condition by condition, at each grade boundary: the action on the checkpoint
inhibitor, the drug and its dose for a given weight (literal numbers from ASCO 2021 tables,
worked out by hand: 70 kg unless the test says otherwise)."""

from __future__ import annotations

import inspect

import pytest

from services import plan as plan_modules
from services.assess import assess
from services.knowledge import dosing
from services.knowledge import irae as KI
from services.knowledge.irae_plan import STEPS
from services.knowledge.sources import SOURCES
from tests.fhir_factory import AT, condition, given, infusion, patient, sbp, weight


def run(code, text, grade=None, kg=70.0, birth="1970-01-01", drugs=("pembrolizumab",), extra=()):
    res = [patient(birth=birth)]
    if kg is not None:
        res.append(weight(kg))
    for d in drugs:
        res.append(given(d, 24 * 14, by_text=d not in ("pembrolizumab", "nivolumab")))
    res.append(condition(code, text, 24, stage=f"Grade {grade}" if grade else None))
    res.extend(extra)
    return assess(res, at=AT)


def recs(a):
    return {r.id: r for r in a.recommendations}


def dose(r):
    d = r.dose
    return (d.value,) if d.value is not None else (d.low, d.high)


def action(a, kind):
    return next(f.checkpoint_inhibitor_action for f in a.irae if f.kind == kind)


def steroid_ids(a):
    return {
        r.id
        for r in a.recommendations
        if r.drug in ("prednisone", "methylprednisolone", "dexamethasone")
    }


# --- Colitis (ASCO 2021 Table 2.1) ------------------------------------------------------------


def test_colitis_grade_1_continue_without_steroids():
    a = run("K52.1", "Immune colitis", 1)
    assert action(a, "colitis") == "continue"
    assert steroid_ids(a) == set()
    assert "colitis.exclude_infection" in recs(a)


def test_colitis_grade_2_hold_and_prednisone_1_mg_per_kg():
    a = run("K52.1", "Immune colitis", 2)
    assert action(a, "colitis") == "hold"
    r = recs(a)["colitis.g2.prednisone"]
    assert (r.drug, dose(r), r.dose.unit, r.route) == ("prednisone", (70,), "mg/d", "oral")
    assert "4-6 weeks" in r.duration


def test_colitis_grade_3_methylprednisolone_infliximab_or_vedolizumab_admission():
    a = run("K52.1", "Immune colitis", 3)
    assert action(a, "colitis") == "hold"
    r = recs(a)
    assert dose(r["methylprednisolone.high"]) == (70, 140)
    assert (
        r["infliximab.colitis"].drug,
        dose(r["infliximab.colitis"]),
        r["infliximab.colitis"].dose.unit,
    ) == (
        "infliximab",
        (350,),
        "mg",
    )
    assert dose(r["vedolizumab.colitis"]) == (300,)
    assert r["vedolizumab.colitis"].alternative_to == "infliximab.colitis"
    assert "admission.colitis" in r and "colitis.g2.prednisone" not in r


def test_colitis_grade_4_permanently_discontinue():
    assert action(run("K52.1", "Immune colitis", 4), "colitis") == "discontinue"


def test_colitis_grade_3_on_ipilimumab_and_nivolumab_stops_ipilimumab_only():
    a = run("K52.1", "Immune colitis", 3, drugs=("nivolumab", "ipilimumab"))
    line = recs(a)["colitis.ctla4"].text
    assert "Do not give ipilimumab again" in line
    assert "nivolumab may resume alone" in line
    f = a.irae[0]
    assert f.rechallenge.startswith("After grade 3 colitis: do not give the CTLA-4 inhibitor again")


def test_colitis_grade_2_without_weight_has_no_invented_dose():
    a = run("K52.89", "Colitis", 2, kg=None)
    r = recs(a)["colitis.g2.prednisone"]
    assert r.dose is None and "weigh" in r.dose_missing_reason


def test_colitis_without_grade_gets_no_drug():
    a = run("K52.1", "Immune colitis", None)
    assert action(a, "colitis") is None
    assert [r.id for r in a.recommendations if r.drug] == []


# --- Hepatitis (ASCO 2021 Table 2.2) ------------------------------------------------------------


def test_hepatitis_grade_1_continue_grade_2_hold_with_prednisone_half_to_1_mg_per_kg():
    assert action(run("K71.6", "Toxic hepatitis", 1), "hepatitis") == "continue"
    a = run("K71.6", "Toxic hepatitis", 2)
    assert action(a, "hepatitis") == "hold"
    assert dose(recs(a)["hepatitis.g2.prednisone"]) == (35, 70)


def test_hepatitis_grade_3_methylprednisolone_and_never_infliximab():
    a = run("K75.4", "Autoimmune hepatitis", 3)
    assert action(a, "hepatitis") == "hold"
    r = recs(a)
    assert dose(r["methylprednisolone.high"]) == (70, 140)
    assert "Do not use infliximab" in r["hepatitis.no_infliximab"].text
    assert not [x for x in a.recommendations if x.drug == "infliximab"]
    assert r["hepatitis.second_line"].drug == "mycophenolate mofetil"


def test_hepatitis_grade_4_discontinue_and_methylprednisolone_2_mg_per_kg():
    a = run("K71.6", "Toxic hepatitis", 4)
    assert action(a, "hepatitis") == "discontinue"
    assert dose(recs(a)["hepatitis.g4.methylprednisolone"]) == (140,)


# --- Pneumonitis (ASCO 2021 Table 3.1; ESMO beside it) ----------------------------------------------


def test_pneumonitis_grade_1_hold_without_steroids():
    a = run("J70.4", "Drug-induced pneumonitis", 1)
    assert action(a, "pneumonitis") == "hold" and steroid_ids(a) == set()


def test_pneumonitis_grade_2_prednisone_1_to_2_mg_per_kg_not_half():
    a = run("J70.4", "Drug-induced pneumonitis", 2)
    assert action(a, "pneumonitis") == "hold"
    assert dose(recs(a)["pneumonitis.g2.prednisone"]) == (70, 140)
    assert "prednisone.moderate" not in recs(a)


def test_pneumonitis_grade_3_discontinue_methylprednisolone_with_esmo_and_second_line():
    a = run("J70.2", "Acute drug-induced ILD", 3, kg=64)
    assert action(a, "pneumonitis") == "discontinue"
    r = recs(a)
    assert dose(r["methylprednisolone.high"]) == (64, 128)
    assert dose(r["pneumonitis.esmo"]) == (128, 256)
    assert any(s.startswith("esmo2022") for s in r["pneumonitis.esmo"].sources)
    assert dose(r["infliximab.pneumonitis"]) == (320,)
    assert (
        dose(r["mycophenolate.pneumonitis"]) == (1000,)
        and r["mycophenolate.pneumonitis"].frequency == "twice daily"
    )


# --- Myocarditis and the overlap (ASCO 2021 Table 9.1) ------------------------------------------


def test_myocarditis_grade_1_hold_grade_2_discontinue_with_high_dose_not_oral_half():
    a1 = run("I40.9", "Myocarditis", 1)
    assert action(a1, "myocarditis") == "hold" and steroid_ids(a1) == set()
    a = run("I40.9", "Myocarditis", 2, kg=82)
    assert action(a, "myocarditis") == "discontinue"
    r = recs(a)
    assert dose(r["myocarditis.prednisone"]) == (82, 164)
    assert r["myocarditis.prednisone"].urgency == "urgent"
    assert dose(r["methylprednisolone.pulse"]) == (1000,)
    assert "admission.cardiac" in r and "prednisone.moderate" not in r
    assert f"{a.irae[0].rechallenge}" == "After myocarditis grade ≥2: no rechallenge"


def test_myocarditis_with_myositis_flags_triple_m():
    a = run("I40.9", "Myocarditis", 2, extra=[condition("M60.9", "Myositis", 24, stage="Grade 2")])
    assert "overlap.triple_m" in recs(a)
    assert set(recs(a)["overlap.triple_m"].for_irae) == {"myocarditis", "myositis"}


# --- Myositis (ASCO 2021 Table 5.2) -------------------------------------------------------------


def test_myositis_grade_2_hold_half_to_1_grade_3_prednisone_1_mg_per_kg():
    a = run("M60.9", "Myositis", 2)
    assert action(a, "myositis") == "hold"
    assert dose(recs(a)["myositis.g2.prednisone"]) == (35, 70)
    b = run("M60.9", "Myositis", 3)
    assert dose(recs(b)["myositis.prednisone"]) == (70,)
    assert "plasma_exchange" in recs(b) and "overlap.triple_m" not in recs(b)


# --- Nephritis (ASCO 2021 Table 6) ---------------------------------------------------------------


def test_nephritis_grades_1_2_3():
    assert action(run("N14.19", "Drug-induced nephropathy", 1), "nephritis") == "hold"
    a = run("N14.19", "Drug-induced nephropathy", 2)
    assert action(a, "nephritis") == "hold" and dose(recs(a)["nephritis.g2.prednisone"]) == (35, 70)
    b = run("N14.19", "Drug-induced nephropathy", 3)
    assert action(b, "nephritis") == "discontinue"
    assert dose(recs(b)["nephritis.prednisone"]) == (70, 140)


# --- Thyroid (ASCO 2021 Table 4.1): no corticosteroid ---------------------------------------------


def test_hypothyroidism_grade_2_continue_levothyroxine_by_weight_and_no_steroid():
    a = run("E03.2", "Hypothyroidism due to medicaments", 2)
    assert action(a, "hypothyroidism") == "continue"
    r = recs(a)["levothyroxine.replacement"]
    assert (dose(r), r.dose.unit) == ((112,), "ug/d")
    assert steroid_ids(a) == set()
    assert "thyroid.no_steroids" in recs(a)


def test_hypothyroidism_at_78_starts_at_25_to_50_micrograms():
    a = run("E03.9", "Hypothyroidism", 2, kg=52, birth="1948-01-01")
    assert dose(recs(a)["levothyroxine.replacement"]) == (25, 50)


def test_levothyroxine_band_changes_at_70_years():
    # ASCO 2018 (Cleve Clin J Med Table 2): full replacement 1.6 µg/kg/day under 70, 25-50 µg/day from 70.
    at_69 = run("E03.9", "Hypothyroidism", 2, kg=60, birth="1957-05-20")  # 69.5 years on 2026-11-20
    assert dose(recs(at_69)["levothyroxine.replacement"]) == (96,)
    at_70 = run("E03.9", "Hypothyroidism", 2, kg=60, birth="1956-11-19")  # 70 years and a day
    assert dose(recs(at_70)["levothyroxine.replacement"]) == (25, 50)


def test_hypothyroidism_grade_3_is_held_and_grade_4_is_not_discontinued():
    assert action(run("E03.2", "Hypothyroidism", 3), "hypothyroidism") == "hold"
    assert action(run("E03.2", "Hypothyroidism", 4), "hypothyroidism") == "hold"


def test_thyrotoxicosis_beta_blocker_and_no_steroid():
    a = run("E05.90", "Thyrotoxicosis", 1)
    assert action(a, "hyperthyroidism") == "continue"
    r = recs(a)["beta_blocker.thyroid"]
    assert (r.drug, dose(r)) == ("atenolol", (25, 50))
    assert steroid_ids(a) == set()
    b = run("E06.3", "Autoimmune thyroiditis", 2)
    assert "beta_blocker.thyroid" in recs(b) and steroid_ids(b) == set()


# --- Hypophysitis (ASCO 2021 Table 4.3) -------------------------------------------------------------


def test_hypophysitis_without_mass_effect_gets_replacement_not_high_dose():
    a = run("E23.6", "Hypophysitis", 2, kg=90)
    assert action(a, "hypophysitis") == "hold"
    r = recs(a)
    assert dose(r["hydrocortisone.replacement"]) == (15, 20)
    assert "hypophysitis.order" in r and "hypophysitis.no_high_dose" in r
    assert not [x for x in a.recommendations if x.drug in ("methylprednisolone", "prednisone")]


def test_hypophysitis_with_mass_effect_adds_high_dose():
    a = run("E23.6", "Hypophysitis with optic chiasm compression", 2)
    r = recs(a)
    assert dose(r["hypophysitis.mass_effect"]) == (70,)
    assert "hypophysitis.no_high_dose" not in r and "hydrocortisone.replacement" in r


def test_hypophysitis_grade_3_iv_stress_dose_and_grade_4_not_discontinued():
    a = run("E23.6", "Hypophysitis", 3)
    r = recs(a)["hydrocortisone.stress_iv"]
    assert (dose(r), r.frequency) == ((50, 100), "every 6-8 h")
    assert action(run("E23.6", "Hypophysitis", 4), "hypophysitis") == "hold"


# --- Primary adrenal insufficiency (ASCO 2021 Table 4.2) ---------------------------------------------


def test_adrenal_insufficiency_by_grade():
    a = run("E27.1", "Primary adrenocortical insufficiency", 1)
    assert action(a, "adrenal_insufficiency") == "hold"
    assert dose(recs(a)["hydrocortisone.replacement"]) == (15, 20)
    assert "fludrocortisone" in recs(a) and recs(a)["fludrocortisone"].dose is None
    b = run("E27.1", "Primary adrenocortical insufficiency", 2)
    assert dose(recs(b)["hydrocortisone.stress_oral"]) == (30, 50)
    c = run("E27.2", "Addisonian crisis", 4)
    assert action(c, "adrenal_insufficiency") == "hold"
    assert dose(recs(c)["hydrocortisone.stress_iv"]) == (50, 100)


# --- Type 1 diabetes / DKA (ASCO 2021 Table 4.4) -----------------------------------------------------


def test_diabetic_ketoacidosis_code_is_grade_3_hold_insulin_no_steroid():
    a = run("E10.10", "Type 1 diabetes with ketoacidosis", None, kg=63)
    f = a.irae[0]
    assert (f.kind, f.grade, f.checkpoint_inhibitor_action) == ("type1_diabetes", 3, "hold")
    r = recs(a)["insulin.start"]
    assert (dose(r), r.dose.unit) == ((19, 25), "[iU]/d")
    assert "admission.dka" in recs(a) and steroid_ids(a) == set()


def test_type1_diabetes_grade_1_continue():
    assert action(run("E10.9", "Type 1 diabetes", 1), "type1_diabetes") == "continue"


# --- Skin: rash, SJS/TEN, DRESS, bullous (ASCO 2021 Table 1) ---------------------------------------


def test_rash_grade_4_methylprednisolone_and_admission():
    a = run("L27.0", "Generalized drug eruption", 4)
    assert action(a, "rash") == "hold"
    assert dose(recs(a)["methylprednisolone.high"]) == (70, 140)
    assert "admission.skin" in recs(a)


def test_sjs_ten_discontinues_at_any_grade_with_burn_unit_and_steroid():
    a = run("L51.1", "Stevens-Johnson syndrome", None, kg=60)
    assert action(a, "sjs_ten") == "discontinue"
    r = recs(a)
    assert dose(r["scar.methylprednisolone.ungraded"]) == (30, 60)
    assert "admission.burn_unit" in r
    b = run("L51.3", "SJS-TEN overlap", 4, kg=60)
    assert dose(recs(b)["methylprednisolone.high"]) == (60, 120)
    assert b.irae[0].rechallenge == "After SJS/TEN: no rechallenge"


def test_dress_discontinues():
    a = run("D72.12", "DRESS syndrome", 3)
    assert action(a, "dress") == "discontinue"
    assert dose(recs(a)["scar.methylprednisolone"]) == (35, 70)


def test_bullous_dermatitis_grade_2_hold_grade_4_discontinue():
    a = run("L12.0", "Bullous pemphigoid", 2)
    assert action(a, "bullous_dermatitis") == "hold"
    assert dose(recs(a)["bullous.g2.prednisone"]) == (35, 70)
    assert action(run("L12.0", "Bullous pemphigoid", 1), "bullous_dermatitis") == "continue"
    assert action(run("L12.0", "Bullous pemphigoid", 4), "bullous_dermatitis") == "discontinue"


# --- Neurologic (ASCO 2021 Table 7) -----------------------------------------------------------------


def test_guillain_barre_discontinue_ivig_2_g_per_kg_and_methylprednisolone_trial():
    a = run("G61.0", "Guillain-Barre syndrome", 3, kg=95, drugs=("nivolumab",))
    assert action(a, "guillain_barre") == "discontinue"
    r = recs(a)
    assert (dose(r["ivig.neuro"]), r["ivig.neuro"].dose.unit) == ((190,), "g")
    assert "0.4 g/kg/day for 5 days" in r["ivig.neuro"].text
    assert r["plasma_exchange"].service == "Plasma exchange"
    assert dose(r["gbs.methylprednisolone"]) == (190, 380)
    assert r["methylprednisolone.pulse"].alternative_to == "gbs.methylprednisolone"
    assert "admission.neuro" in r


def test_myasthenia_grade_2_pyridostigmine_and_half_mg_per_kg_no_ivig():
    a = run("G70.00", "Myasthenia gravis", 2)
    assert action(a, "myasthenia_gravis") == "hold"
    r = recs(a)
    assert (dose(r["pyridostigmine"]), r["pyridostigmine"].dose.unit) == ((30,), "mg")
    assert "120 mg four times daily" in r["pyridostigmine"].frequency
    assert dose(r["mg.prednisone"]) == (35,)
    assert "ivig.neuro" not in r


def test_myasthenia_grade_3_discontinue_ivig_or_plasma_exchange():
    a = run("G70.01", "Myasthenia gravis with exacerbation", 3, kg=90)
    assert action(a, "myasthenia_gravis") == "discontinue"
    r = recs(a)
    assert dose(r["ivig.neuro"]) == (180,)
    assert "plasma_exchange" in r and "admission.neuro" in r
    assert dose(r["mg.prednisone"]) == (45,)


def test_encephalitis_hold_acyclovir_methylprednisolone():
    a = run("G04.81", "Autoimmune encephalitis", 2)
    assert action(a, "encephalitis") == "hold"
    r = recs(a)
    assert r["aciclovir.empiric"].drug == "acyclovir" and r["aciclovir.empiric"].dose is None
    assert dose(r["methylprednisolone.high"]) == (70, 140)


def test_aseptic_meningitis_hold_empiric_cover_then_prednisone():
    a = run("G03.0", "Aseptic meningitis", 2)
    assert action(a, "aseptic_meningitis") == "hold"
    r = recs(a)
    assert "meningitis.empiric" in r and "ruled out" in r["meningitis.prednisone"].text
    assert dose(r["meningitis.prednisone"]) == (35, 70)


# --- Arthritis, uveitis, pancreatitis, blood --------------------------------------------------------


def test_arthritis_grade_3_with_colitis_avoids_il6_blockade():
    a = run(
        "M06.4",
        "Inflammatory polyarthropathy",
        3,
        extra=[condition("K52.1", "Colitis", 24, stage="Grade 2")],
    )
    assert "arthritis.avoid_il6" in recs(a)
    b = run("M06.4", "Inflammatory polyarthropathy", 3)
    assert "arthritis.avoid_il6" not in recs(b)
    assert dose(recs(b)["prednisone.arthritis_g3"]) == (35, 70)


def test_uveitis_by_grade():
    assert action(run("H20.9", "Iridocyclitis", 1), "uveitis") == "continue"
    assert action(run("H20.9", "Iridocyclitis", 2), "uveitis") == "hold"
    assert action(run("H20.9", "Iridocyclitis", 3), "uveitis") == "discontinue"
    a = run("H20.9", "Iridocyclitis", 4)
    assert dose(recs(a)["uveitis.prednisone"]) == (70, 140)
    assert dose(recs(a)["uveitis.methylprednisolone"]) == (56, 112)


def test_pancreatitis_grade_2_no_steroid_grade_3_hold_grade_4_discontinue():
    a = run("K85.30", "Drug-induced acute pancreatitis", 2)
    assert steroid_ids(a) == set() and action(a, "pancreatitis") == "continue"
    b = run("K85.30", "Drug-induced acute pancreatitis", 3)
    assert action(b, "pancreatitis") == "hold"
    assert recs(b)["pancreatitis.steroid"].dose is None
    assert action(run("K85.90", "Acute pancreatitis", 4), "pancreatitis") == "discontinue"


def test_haemolytic_anaemia_grade_3_discontinue_prednisone_1_to_2():
    a = run("D59.10", "Autoimmune hemolytic anemia", 3)
    assert action(a, "autoimmune_haemolytic_anaemia") == "discontinue"
    assert dose(recs(a)["aiha.prednisone"]) == (70, 140)
    assert (
        action(run("D59.10", "Autoimmune hemolytic anemia", 2), "autoimmune_haemolytic_anaemia")
        == "hold"
    )


def test_immune_thrombocytopenia_grade_3_prednisone_dexamethasone_ivig_1_g_per_kg():
    a = run("D69.3", "Immune thrombocytopenic purpura", 3)
    assert action(a, "immune_thrombocytopenia") == "hold"
    r = recs(a)
    assert dose(r["itp.prednisone"]) == (70,)
    assert (
        dose(r["itp.dexamethasone"]) == (40,)
        and r["itp.dexamethasone"].alternative_to == "itp.prednisone"
    )
    assert dose(r["itp.ivig"]) == (70,)
    assert action(run("D69.3", "ITP", 4), "immune_thrombocytopenia") == "hold"


def test_immune_thrombocytopenia_with_guillain_barre_gets_one_ivig_line():
    a = run(
        "D69.3",
        "ITP",
        3,
        extra=[condition("G61.0", "Guillain-Barre syndrome", 24, stage="Grade 3")],
    )
    ivig = [r for r in a.recommendations if r.drug == "immune globulin"]
    assert [r.id for r in ivig] == ["ivig.neuro"]


# --- The tables themselves ------------------------------------------------------------------------


def test_every_irae_kind_has_a_module_that_names_its_table():
    for kind in KI.KINDS:
        if kind == "crs":
            continue
        mod = plan_modules.MODULES[kind]
        doc = inspect.getdoc(mod) or ""
        assert "ASCO 2021" in doc or "NCCN" in doc, kind
        assert mod.TABLE


@pytest.mark.parametrize("step", STEPS, ids=lambda s: s.id + "/" + s.kind)
def test_every_step_names_a_known_regimen_and_source(step):
    if step.regimen:
        assert step.regimen in dosing.REGIMENS, step.regimen
    for part in step.source.split(";"):
        assert part.partition(":")[0].strip() in SOURCES, step.source
    assert step.text or step.regimen


def test_multi_organ_patient_has_one_steroid_course_and_keeps_replacement():
    a = run(
        "K52.1",
        "Immune colitis",
        3,
        extra=[
            condition("E23.6", "Hypophysitis", 24, stage="Grade 2"),
            condition("J70.4", "Pneumonitis", 24, stage="Grade 2"),
        ],
    )
    ids = {r.id for r in a.recommendations}
    assert "methylprednisolone.high" in ids and "pneumonitis.g2.prednisone" not in ids
    assert "hydrocortisone.replacement" in ids
    assert set(recs(a)["methylprednisolone.high"].for_irae) >= {"colitis", "pneumonitis"}


def test_hepatitis_with_chronic_hepatitis_b_recorded_asks_for_hbv_dna_before_steroid():
    hbv = condition("B18.1", "Chronic viral hepatitis B", 24 * 4000)
    a = run("K71.6", "Transaminitis", 2, extra=[hbv])
    r = recs(a)
    assert "HBV DNA" in r["hepatitis.viral_first"].text
    assert "hepatitis.g2.prednisone" not in r
    b = run("K71.6", "Transaminitis", 2)
    assert "hepatitis.viral_first" not in recs(b) and "hepatitis.g2.prednisone" in recs(b)


def test_thyroiditis_turned_hypothyroid_gets_no_beta_blocker():
    a = run(
        "E06.3",
        "Autoimmune thyroiditis",
        2,
        extra=[condition("E03.2", "Hypothyroidism", 24, stage="Grade 2")],
    )
    assert "beta_blocker.thyroid" not in recs(a) and "levothyroxine.replacement" in recs(a)


def test_excluded_infection_gets_a_line_and_no_immunosuppression():
    a = run("N10", "Acute pyelonephritis", 3)
    r = recs(a)["excluded.nephritis"]
    assert r.category == "caution" and "no immunosuppression" in r.text
    assert not [x for x in a.recommendations if x.drug]


def test_dka_code_is_a_floor_a_recorded_grade_4_stays_4():
    a = run("E10.10", "Type 1 diabetes with ketoacidosis", 4, kg=63)
    assert [(f.kind, f.grade, f.checkpoint_inhibitor_action) for f in a.irae] == [
        ("type1_diabetes", 4, "hold")
    ]


def test_myasthenia_warns_about_drugs_that_worsen_it():
    a = run("G70.00", "Myasthenia gravis", 2)
    assert "fluoroquinolones" in recs(a)["mg.avoid_drugs"].text


def test_guillain_barre_reason_reads_well_when_lower_cased():
    a = run("G61.0", "Guillain-Barre syndrome", 3)
    line = next(r for r in a.recommendations if r.id.startswith("checkpoint_inhibitor.discontinue"))
    assert "guillain-Barré" not in line.text and "Guillain-Barré" in line.text


def test_radiation_pneumonitis_grade_2_on_durvalumab_is_held_and_treated_as_pneumonitis():
    # ASCO 2021 Table 3.1 G2: hold, prednisone 1-2 mg/kg/day; durvalumab label 2.2: withhold
    # for grade 2 pneumonitis. Radiation is named as the competing cause, never silently.
    a = run("J70.0", "Radiation pneumonitis", 2, kg=80, drugs=("durvalumab",))
    assert action(a, "pneumonitis") == "hold"
    r = recs(a)
    assert "checkpoint_inhibitor.hold.durvalumab" in r
    assert dose(r["pneumonitis.g2.prednisone"]) == (80, 160)
    assert "radiation" in r["pneumonitis.radiation_overlap"].text
    assert "excluded.pneumonitis" not in r
    b = run("J70.1", "Chronic radiation pneumonitis", 3, kg=80, drugs=("durvalumab",))
    assert action(b, "pneumonitis") == "discontinue"
    assert dose(recs(b)["methylprednisolone.high"]) == (80, 160)
    assert "pneumonitis.radiation_overlap" in recs(b)


def test_pneumonitis_without_radiation_has_no_overlap_note():
    a = run("J70.2", "Acute drug-induced interstitial lung disorder", 2, kg=80)
    assert "pneumonitis.radiation_overlap" not in recs(a)


def test_pre_existing_arthritis_line_warns_of_flare():
    res = [patient(), weight(70), given("pembrolizumab", 24 * 14)]
    res.append(condition("M06.4", "Inflammatory polyarthropathy", 24 * 400))
    a = assess(res, at=AT)
    assert "investigate new symptoms early" in recs(a)["excluded.inflammatory_arthritis"].text


def test_second_line_agents_are_conditional_and_never_offered_to_sign_now():
    a = run("K52.1", "Immune colitis", 3)
    r = recs(a)
    assert r["infliximab.colitis"].when.startswith("if no response to steroids after 3 days")
    assert r["vedolizumab.colitis"].when is not None
    assert r["methylprednisolone.high"].when is None
    from cds_hooks.cards import CardContext, _suggestions

    cc = CardContext(
        service_id="immunotox-patient-view", patient_id="p1", base_url="https://app.example"
    )
    labels = [s.label for s in _suggestions(list(a.recommendations), a, cc)]
    assert not [x for x in labels if "infliximab" in x or "vedolizumab" in x]
    assert [x for x in labels if "methylprednisolone" in x]


# --- CRS on a checkpoint inhibitor beside other irAEs (review finding: seed patient) -------------


def test_seed_like_patient_keeps_the_recorded_crs_grade_2_and_has_no_no_immunosuppression_line():
    # Review patient 01: fever 39.4 °C only (grade 1 from findings), CRS coded D89.832 (grade 2),
    # transverse myelitis grade 3 and a rash on pembrolizumab.
    from tests.fhir_factory import temp

    a = assess(
        [
            patient(),
            weight(78),
            given("pembrolizumab", 24 * 17),
            temp(39.4, hours_before=6),
            condition("D89.832", "Cytokine release syndrome, grade 2", 40),
            condition("G37.3", "Acute transverse myelitis", 17, stage="Grade 3"),
            condition("L27.0", "Generalized skin eruption due to drugs", 96, stage="Grade 2"),
        ],
        at=AT,
    )
    crs = next(f for f in a.irae if f.kind == "crs")
    # D89.832 = cytokine release syndrome, grade 2 (ICD-10-CM), above the grade 1 from fever.
    assert crs.grade == 2 and "(D89.832)" in crs.grade_basis
    assert crs.checkpoint_inhibitor_action == "hold"
    assert "crs.symptomatic" not in recs(a)
    assert not [r for r in a.recommendations if "no immunosuppression" in r.text]
    assert "checkpoint_inhibitor.discontinue.pembrolizumab" in recs(a)
    assert "checkpoint_inhibitor.continue.pembrolizumab" not in recs(a)


def _crs_case(*extra, code="D89.831"):
    from tests.fhir_factory import temp

    res = [patient(), weight(70), given("pembrolizumab", 24 * 14), temp(38.6)]
    res.append(condition(code, "Cytokine release syndrome", 12))
    return assess([*res, *extra], at=AT)


def test_crs_grade_1_alone_keeps_its_symptomatic_line_and_continue():
    a = _crs_case()
    assert [(f.kind, f.grade, f.checkpoint_inhibitor_action) for f in a.irae] == [
        ("crs", 1, "continue")
    ]
    assert "Grade 1: symptomatic treatment only" in recs(a)["crs.symptomatic"].text


def test_crs_grade_1_beside_a_held_irae_loses_the_no_immunosuppression_line():
    a = _crs_case(condition("K52.1", "Immune colitis", 24, stage="Grade 2"))
    assert {f.kind: f.checkpoint_inhibitor_action for f in a.irae} == {
        "crs": "continue",
        "colitis": "hold",
    }
    assert "crs.symptomatic" not in recs(a)
    assert "checkpoint_inhibitor.hold.pembrolizumab" in recs(a)
    assert not [r for r in a.recommendations if "no immunosuppression" in r.text]


@pytest.mark.parametrize(("code", "grade"), [("D89.831", 1), ("D89.832", 2), ("D89.833", 3)])
def test_recorded_crs_code_sets_at_least_its_grade(code, grade):
    a = _crs_case(code=code)
    assert next(f.grade for f in a.irae if f.kind == "crs") == grade


# --- Resuming after an endocrinopathy (ASCO 2021 Table 4: stable on replacement) -----------------


def test_endocrinopathy_alone_resumes_when_stable_on_replacement_not_below_10_mg_prednisone():
    a = run("E23.6", "Hypophysitis", 2)
    r = recs(a)["checkpoint_inhibitor.resume"]
    assert r.text.startswith("Resume once the endocrinopathy is stable on hormone replacement")
    assert "10 mg/day" not in r.text
    b = run("E10.10", "Type 1 diabetes with ketoacidosis", None, kg=63)
    assert "glucose is controlled on insulin" in recs(b)["checkpoint_inhibitor.resume"].text


def test_endocrinopathy_with_colitis_keeps_the_prednisone_below_10_mg_rule():
    a = run(
        "E23.6",
        "Hypophysitis",
        2,
        extra=[condition("K52.1", "Immune colitis", 24, stage="Grade 2")],
    )
    assert (
        "prednisone (or equivalent) is below 10 mg/day"
        in recs(a)["checkpoint_inhibitor.resume"].text
    )


# --- Clinician text: units as clinicians write them, no internal notes or ids --------------------


def test_insulin_dose_line_reads_units_per_day_not_ucum():
    from services.render import render_text

    a = run("E10.10", "Type 1 diabetes with ketoacidosis", None, kg=63)
    text = render_text(a)
    # ASCO 2021 Table 4.4: 0.3-0.4 units/kg/day; 63 kg gives 19-25 units/day.
    assert "dose: 19-25 units/day (0.3-0.4 units/kg/day × 63 kg)" in text
    assert "[iU]" not in text
    b = run("E03.9", "Hypothyroidism", 2, kg=70)
    assert "dose: 112 µg/day (1.6 µg/kg/day × 70 kg)" in render_text(b)


_INTERNAL = ("not read", "not verified", "this release", "Table A2", "[iU]", "immunotox")


@pytest.mark.parametrize("step", STEPS, ids=lambda s: f"{s.id}/{s.kind}")
def test_no_internal_note_in_clinician_text_of_a_step(step):
    for text in (step.text, step.dose_note or ""):
        assert not [w for w in _INTERNAL if w in text], text
    if step.regimen:
        for r in dosing.REGIMENS[step.regimen]:
            assert not [w for w in _INTERNAL if w in r.text], r.text


def test_hepatitis_second_line_says_dose_per_hepatology_only():
    r = recs(run("K71.6", "Immune hepatitis", 3))["hepatitis.second_line"]
    assert r.dose_missing_reason == "Dose per hepatology"
    assert any("Table A2 was not found" in s for s in r.sources)


def test_an_alternative_line_names_the_other_line_by_its_words_not_its_id():
    from services.render import render_text

    text = render_text(run("G37.3", "Acute transverse myelitis", 3, kg=78))
    assert "(alternative to methylprednisolone.high)" not in text
    assert "(alternative to: Methylprednisolone 1-2 mg/kg/day IV for 3-5 days" in text


def test_rash_grade_2_suggests_dermatology_and_grade_1_does_not():
    assert "consult.dermatology" in recs(run("L27.0", "Drug eruption", 2))
    assert "consult.dermatology" not in recs(run("L27.0", "Drug eruption", 1))


# --- Suspected adrenal crisis (ASCO 2021 Table 4.2 G3-G4; ESMO 2022) ------------------------------


def _adrenal(grade, *extra):
    return run("E27.1", "Primary adrenocortical insufficiency", grade, extra=list(extra))


def test_adrenal_insufficiency_grade_3_is_a_crisis_stress_dose_iv_not_maintenance():
    r = recs(_adrenal(3))
    # ESMO 2022: hydrocortisone 100 mg IV or IM at once; ASCO 2021 G3-4: 50-100 mg IV q6-8h.
    assert dose(r["hydrocortisone.crisis_bolus"]) == (100,)
    assert r["hydrocortisone.crisis_bolus"].route == "IV or IM"
    assert dose(r["hydrocortisone.stress_iv"]) == (50, 100)
    assert "do not wait for cortisol or ACTH results" in r["adrenal.crisis"].text
    assert "saline" in r["adrenal.crisis"].text
    assert r["consult.endocrinology"].urgency == "urgent"
    assert "admission.endocrine" in r
    assert "hydrocortisone.replacement" not in r and "fludrocortisone" not in r


def test_adrenal_insufficiency_grade_2_without_hypotension_is_not_a_crisis():
    r = recs(_adrenal(2, sbp(110, 2)))
    assert "adrenal.crisis" not in r and "hydrocortisone.crisis_bolus" not in r
    assert dose(r["hydrocortisone.stress_oral"]) == (30, 50)
    assert dose(r["hydrocortisone.replacement"]) == (15, 20)


def test_adrenal_insufficiency_grade_2_on_norepinephrine_is_a_crisis():
    r = recs(_adrenal(2, infusion("norepinephrine", 8, "ug/min", 3)))
    assert "adrenal.crisis" in r and dose(r["hydrocortisone.crisis_bolus"]) == (100,)
    assert "hydrocortisone.stress_oral" not in r and "hydrocortisone.replacement" not in r


def test_norepinephrine_stopped_more_than_24_hours_ago_is_not_a_crisis():
    r = recs(_adrenal(2, infusion("norepinephrine", 8, "ug/min", 40, 26)))
    assert "adrenal.crisis" not in r
    r = recs(_adrenal(2, infusion("norepinephrine", 8, "ug/min", 40, 22)))
    assert "adrenal.crisis" in r


@pytest.mark.parametrize(("systolic", "crisis"), [(89, True), (90, False)])
def test_adrenal_insufficiency_grade_2_with_systolic_below_90_is_a_crisis(systolic, crisis):
    r = recs(_adrenal(2, sbp(systolic, 2)))
    assert ("adrenal.crisis" in r) is crisis


def _hc(mg, hours_before):
    return given("hydrocortisone", hours_before, (mg, "mg"), by_text=True)


def test_stress_hydrocortisone_given_in_the_last_8_hours_is_shown_not_proposed_again():
    # 100 mg 11 h 45 min ago (00:15) and 50 mg 5 h 45 min ago (06:15): the stress regimen
    # (ASCO 2021 Table 4.2: 50-100 mg every 6-8 h) is under way; the next from 12:15 to 14:15.
    r = recs(_adrenal(3, _hc(100, 11.75), _hc(50, 5.75)))
    assert "hydrocortisone.crisis_bolus" not in r
    assert r["adrenal.crisis"].text.startswith(
        "Suspected adrenal crisis with stress-dose hydrocortisone under way"
    )
    given_line = r["hydrocortisone.crisis_given"].text
    assert "100 mg at 2026-11-20 00:15 UTC, 50 mg at 2026-11-20 06:15 UTC" in given_line
    assert "next dose due 2026-11-20 12:15 UTC to 2026-11-20 14:15 UTC" in given_line
    assert dose(r["hydrocortisone.stress_iv"]) == (50, 100)


def test_stress_hydrocortisone_more_than_8_hours_ago_or_below_50_mg_keeps_the_bolus():
    r = recs(_adrenal(3, _hc(100, 9)))
    assert dose(r["hydrocortisone.crisis_bolus"]) == (100,)
    assert "hydrocortisone.crisis_given" not in r
    r = recs(_adrenal(3, _hc(20, 2)))  # a maintenance dose is no stress dose
    assert dose(r["hydrocortisone.crisis_bolus"]) == (100,)
    r = recs(_adrenal(3, _hc(50, 7.9)))
    assert "hydrocortisone.crisis_bolus" not in r


# --- Myocarditis: ASCO 2021 and ESMO 2022 side by side -------------------------------------------


def test_myocarditis_grade_2_shows_asco_1_to_2_mg_per_kg_and_esmo_1_g_pulse_with_citations():
    r = recs(run("I40.9", "Acute myocarditis", 2, kg=82))
    asco = r["myocarditis.prednisone"]
    # ASCO 2021 Table 9.1: prednisone 1-2 mg/kg/day within 24 hours (82 kg: 82-164 mg/day).
    assert dose(asco) == (82, 164) and any(
        s.startswith("asco2021: Table 9.1") for s in asco.sources
    )
    esmo = r["myocarditis.esmo"]
    # ESMO 2022: methylprednisolone 1 g/day IV for 3-5 days from the start.
    assert dose(esmo) == (1000,) and esmo.route == "IV"
    assert esmo.alternative_to == "myocarditis.prednisone" and esmo.when is None
    assert any(s.startswith("esmo2022: myocarditis") for s in esmo.sources)
    # ASCO: 1 g/day only without an immediate response to 1-2 mg/kg.
    assert r["methylprednisolone.pulse"].when == "if there is no immediate response to 1-2 mg/kg"
    assert "above 5 mg/kg" in r["myocarditis.infliximab_caution"].text


def test_myocarditis_grade_1_has_no_steroid_lines():
    r = recs(run("I40.9", "Acute myocarditis", 1, kg=82))
    assert "myocarditis.esmo" not in r and "myocarditis.prednisone" not in r


def test_every_regimen_source_part_names_a_known_source():
    for rows in dosing.REGIMENS.values():
        for reg in rows:
            for part in reg.source.split(";"):
                assert part.partition(":")[0].strip() in SOURCES, (reg.id, part)
