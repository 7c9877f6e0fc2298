"""irAE grades read from the record where CTCAE v5 / ASCO 2021 define them by numbers:
hepatitis from ALT/AST/bilirubin × the laboratory's ULN, nephritis from creatinine × baseline,
pneumonitis from an oxygen requirement. Expected grades are written out from the sources
(CTCAE v5: ALT >3-5 × ULN grade 2, >5-20 grade 3, >20 grade 4; bilirubin >1.5-3 grade 2, >3-10
grade 3; ASCO 2021 Table 6: creatinine 1.5-2 × baseline grade 1, 2-3 × grade 2, >3 × or
>4.0 mg/dL grade 3, 6 × grade 4; pneumonitis: oxygen indicated grade 3)."""

from __future__ import annotations

import pytest

from services.assess import assess
from tests.fhir_factory import AT, ICD10CM, given, iso, lab, o2, obs, patient, weight

BASE = [patient(), weight(80), given("pembrolizumab", 24 * 14)]


def cond(codes: tuple[str, ...], text: str, onset_h: float = 24, stage: str | None = None):
    r = {
        "resourceType": "Condition",
        "id": f"c-{'-'.join(codes)}-{onset_h}",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "code": {"coding": [{"system": ICD10CM, "code": c} for c in codes], "text": text},
        "onsetDateTime": iso(onset_h),
    }
    if stage:
        r["stage"] = [{"summary": {"text": stage}}]
    return r


HEPATITIS = cond(("K75.89", "T45.AX5A"), "Immune-related hepatitis")
NEPHRITIS = cond(("N12", "T45.AX5A"), "Immune-related nephritis")
PNEUMONITIS = cond(("J70.4",), "Immune-related pneumonitis")


def irae(a, kind):
    return next(f for f in a.irae if f.kind == kind)


def plan_ids(a):
    return {r.id for r in a.recommendations}


# --- hepatitis -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("alt", "grade"),
    [(80, 1), (120, 1), (121, 2), (200, 2), (201, 3), (800, 3), (801, 4)],
)
def test_hepatitis_grade_from_alt_times_the_laboratory_uln(alt, grade):
    a = assess([*BASE, HEPATITIS, lab("1742-6", alt, "U/L", 40)], at=AT)
    f = irae(a, "hepatitis")
    assert f.grade == grade
    assert "grade from labs (CTCAE v5" in f.grade_basis and f"ALT {alt} U/L" in f.grade_basis


def test_hepatitis_10_times_uln_is_grade_3_with_hold_and_methylprednisolone_80_to_160():
    a = assess([*BASE, HEPATITIS, lab("1742-6", 420, "U/L", 40)], at=AT)
    f = irae(a, "hepatitis")
    assert f.grade == 3 and "10.5 × ULN 40" in f.grade_basis
    assert f.checkpoint_inhibitor_action == "hold"
    mp = next(r for r in a.recommendations if r.id == "methylprednisolone.high")
    assert (mp.dose.low, mp.dose.high) == (80, 160)  # 1-2 mg/kg × 80 kg
    assert "checkpoint_inhibitor.hold.pembrolizumab" in plan_ids(a)


def test_hepatitis_alt_without_a_reference_range_gives_no_grade_and_says_uln_missing():
    a = assess([*BASE, HEPATITIS, lab("1742-6", 420, "U/L", None)], at=AT)
    f = irae(a, "hepatitis")
    assert f.grade is None
    assert any(m.data == "upper limit of normal of ALT" for m in f.missing)
    assert "methylprednisolone.high" not in plan_ids(a)


@pytest.mark.parametrize(("bili", "grade"), [(3.6, 2), (3.7, 3), (12.0, 3), (12.1, 4)])
def test_hepatitis_grade_from_bilirubin(bili, grade):
    # ULN 1.2 mg/dL: 3.6 = 3.0 × (grade 2), 3.7 = 3.08 × (grade 3), 12.1 > 10 × (grade 4)
    a = assess([*BASE, HEPATITIS, lab("1975-2", bili, "mg/dL", 1.2)], at=AT)
    assert irae(a, "hepatitis").grade == grade


def test_recorded_and_computed_grades_are_both_shown_and_the_higher_drives_the_plan():
    c = cond(("K75.89", "T45.AX5A"), "Immune-related hepatitis", stage="Grade 2")
    a = assess([*BASE, c, lab("1742-6", 420, "U/L", 40)], at=AT)
    f = irae(a, "hepatitis")
    assert f.grade == 3
    assert "grade 2 recorded on the condition" in f.grade_basis
    assert "the higher (grade 3) drives the plan" in f.grade_basis
    # A recorded grade above the labs keeps the recorded grade.
    c4 = cond(("K75.89", "T45.AX5A"), "Immune-related hepatitis", stage="Grade 4")
    b = assess([*BASE, c4, lab("1742-6", 420, "U/L", 40)], at=AT)
    assert irae(b, "hepatitis").grade == 4


def test_a_lab_older_than_7_days_does_not_grade_the_hepatitis():
    a = assess([*BASE, HEPATITIS, lab("1742-6", 420, "U/L", 40, hours_before=24 * 8)], at=AT)
    assert irae(a, "hepatitis").grade is None


# --- nephritis -------------------------------------------------------------------------------
def creat(value, hours_before):
    return lab("2160-0", value, "mg/dL", 1.3, hours_before=hours_before)


@pytest.mark.parametrize(
    ("now", "grade"),
    [(1.2, 0), (1.5, 1), (2.0, 1), (2.1, 2), (3.0, 2), (3.1, 3), (6.0, 3), (6.1, 4)],
)
def test_nephritis_grade_from_creatinine_times_baseline(now, grade):
    a = assess([*BASE, NEPHRITIS, creat(1.0, 24 * 60), creat(now, 2)], at=AT)
    f = irae(a, "nephritis")
    if grade == 0:
        assert f.grade is None
        return
    assert f.grade == grade
    assert "baseline 1 " in f.grade_basis


def test_nephritis_rise_above_0_3_is_grade_1_and_above_4_mg_dl_is_grade_3():
    a = assess([*BASE, NEPHRITIS, creat(1.0, 24 * 60), creat(1.31, 2)], at=AT)
    assert irae(a, "nephritis").grade == 1
    # baseline 2.0, now 4.1: 2.05 × baseline (grade 2) but >4.0 mg/dL: grade 3
    b = assess([*BASE, NEPHRITIS, creat(2.0, 24 * 60), creat(4.1, 2)], at=AT)
    assert irae(b, "nephritis").grade == 3
    c = assess([*BASE, NEPHRITIS, creat(2.0, 24 * 60), creat(4.0, 2)], at=AT)
    assert irae(c, "nephritis").grade == 1  # 2.0 × baseline, not above 4.0 mg/dL


def test_nephritis_without_a_baseline_says_so_and_gives_no_grade():
    a = assess([*BASE, NEPHRITIS, creat(3.5, 2)], at=AT)
    f = irae(a, "nephritis")
    assert f.grade is None
    assert any(m.data == "baseline creatinine" for m in f.missing)


def test_without_a_baseline_creatinine_above_4_mg_dl_is_still_grade_3():
    # ASCO 2021 Table 6: G3 ">3× baseline or >4.0 mg/dL"; the absolute limit needs no baseline.
    a = assess([*BASE, NEPHRITIS, creat(4.5, 2)], at=AT)
    f = irae(a, "nephritis")
    assert f.grade == 3
    assert any(m.data == "baseline creatinine" for m in f.missing)
    b = assess([*BASE, NEPHRITIS, creat(4.0, 2)], at=AT)
    assert irae(b, "nephritis").grade is None


def test_baseline_older_than_365_days_before_onset_is_not_used():
    a = assess([*BASE, NEPHRITIS, creat(1.0, 24 * 400), creat(3.5, 2)], at=AT)
    assert irae(a, "nephritis").grade is None


def test_n12_with_t45ax5a_is_nephritis_grade_3_with_prednisone_80_to_160_and_discontinue():
    a = assess([*BASE, NEPHRITIS, creat(1.0, 24 * 60), creat(3.5, 2)], at=AT)
    f = irae(a, "nephritis")
    assert f.grade == 3 and f.checkpoint_inhibitor_action == "discontinue"
    assert "checkpoint_inhibitor.discontinue.pembrolizumab" in plan_ids(a)


def test_n12_alone_is_still_excluded_as_pyelonephritis_nos():
    a = assess([*BASE, cond(("N12",), "Tubulo-interstitial nephritis")], at=AT)
    assert a.irae == [] and a.irae_excluded[0].kind == "nephritis"
    b = assess([*BASE, cond(("N12", "T45.AX5A"), "Pyelonephritis, E. coli")], at=AT)
    assert b.irae == []


def test_a_checkpoint_inhibitor_stopped_over_a_year_ago_is_not_held_or_counted_from():
    old = given("nivolumab", 24 * 800)
    a = assess([*BASE, old, NEPHRITIS, creat(1.0, 24 * 60), creat(3.5, 2)], at=AT)
    ids = plan_ids(a)
    assert "checkpoint_inhibitor.discontinue.pembrolizumab" in ids
    assert "checkpoint_inhibitor.discontinue.nivolumab" not in ids
    assert "nivolumab" not in irae(a, "nephritis").attribution


# --- pneumonitis -----------------------------------------------------------------------------
def test_pneumonitis_on_3_l_min_oxygen_is_grade_3_and_discontinued():
    a = assess([*BASE, PNEUMONITIS, obs("3151-8", 3, "L/min", 2)], at=AT)
    f = irae(a, "pneumonitis")
    assert f.grade == 3 and f.checkpoint_inhibitor_action == "discontinue"
    assert "grade from oxygen" in f.grade_basis
    mp = next(r for r in a.recommendations if r.id == "methylprednisolone.high")
    assert (mp.dose.low, mp.dose.high) == (80, 160)


def test_pneumonitis_without_oxygen_in_24_h_has_no_grade_from_the_record():
    a = assess([*BASE, PNEUMONITIS, obs("3151-8", 3, "L/min", 30)], at=AT)
    assert irae(a, "pneumonitis").grade is None
    b = assess([*BASE, PNEUMONITIS, obs("3151-8", 0, "L/min", 2)], at=AT)
    assert irae(b, "pneumonitis").grade is None


def test_pneumonitis_on_invasive_ventilation_is_grade_4():
    a = assess([*BASE, PNEUMONITIS, o2("1258985005", 5)], at=AT)
    assert irae(a, "pneumonitis").grade == 4


# --- myocarditis with a conduction block ------------------------------------------------------
MYOCARDITIS = cond(("I40.9", "T45.AX5A"), "Immune-related myocarditis")


def test_myocarditis_with_complete_heart_block_is_grade_3_and_permanently_discontinued():
    block = cond(("I44.2",), "Complete heart block", onset_h=20)
    a = assess([*BASE, MYOCARDITIS, block], at=AT)
    f = irae(a, "myocarditis")
    assert f.grade == 3 and f.checkpoint_inhibitor_action == "discontinue"
    assert "Complete heart block" in f.grade_basis
    ids = plan_ids(a)
    assert "checkpoint_inhibitor.discontinue.pembrolizumab" in ids
    assert "checkpoint_inhibitor.resume" not in ids
    # The block itself is no irAE of its own.
    assert [x.kind for x in a.irae] == ["myocarditis"]


def test_myocarditis_without_a_conduction_finding_stays_ungraded():
    a = assess([*BASE, MYOCARDITIS], at=AT)
    assert irae(a, "myocarditis").grade is None
    far = cond(("I44.2",), "Complete heart block", onset_h=24 * 30)  # 29 days apart: not beside it
    b = assess([*BASE, MYOCARDITIS, far], at=AT)
    assert irae(b, "myocarditis").grade is None


def test_no_resume_line_for_the_steroid_course_after_myocarditis_grade_3():
    block = cond(("I44.2",), "Complete heart block", onset_h=20)
    mp = given("methylprednisolone", 20, dose=(1000, "mg"))
    a = assess([*BASE, MYOCARDITIS, block, mp], at=AT)
    sc = a.courses.corticosteroid
    assert sc.resume_met is None
    assert sc.resume_text.startswith("Not applicable: myocarditis grade 3 means permanent")


def test_deceased_patient_text_says_why_there_is_no_plan():
    from services.render import render_text

    dead = patient(deceasedDateTime=iso(4))
    block = cond(("I44.2",), "Complete heart block", onset_h=20)
    a = assess([dead, weight(80), given("pembrolizumab", 24 * 14), MYOCARDITIS, block], at=AT)
    assert a.recommendations == []
    assert "none: the patient is recorded as deceased" in render_text(a)


# --- a stale weight on each weight-based dose line ---------------------------------------------
def test_a_weight_older_than_30_days_is_named_on_the_dose_line_with_its_date_and_age():
    old = [patient(), weight(80, hours_before=24 * 31), given("pembrolizumab", 24 * 14)]
    a = assess([*old, HEPATITIS, lab("1742-6", 420, "U/L", 40)], at=AT)
    mp = next(r for r in a.recommendations if r.id == "methylprednisolone.high")
    assert (mp.dose.low, mp.dose.high) == (80, 160)
    assert mp.dose.basis == (
        "1-2 mg/kg/d × 80 kg; based on 80 kg from 20 Oct 2026, 31 days old: weigh before giving"
    )
    # 30 days old is not stale (the rule flags a weight older than 30 days).
    fresh = [patient(), weight(80, hours_before=24 * 30), given("pembrolizumab", 24 * 14)]
    b = assess([*fresh, HEPATITIS, lab("1742-6", 420, "U/L", 40)], at=AT)
    mp = next(r for r in b.recommendations if r.id == "methylprednisolone.high")
    assert mp.dose.basis == "1-2 mg/kg/d × 80 kg"


# --- pre-existing autoimmune arthritis: one verdict ----------------------------------------------
def test_undated_arthritis_beside_preexisting_rheumatoid_arthritis_has_one_verdict():
    ra = cond(("M06.9",), "Rheumatoid arthritis (seropositive), on hydroxychloroquine", 24 * 2000)
    poly = cond(("M13.0",), "Inflammatory polyarthritis hands/knees - ?ICI arthritis vs RA flare")
    del poly["onsetDateTime"]
    a = assess([*BASE, ra, poly], at=AT)
    assert [f.kind for f in a.irae] == ["inflammatory_arthritis"]
    assert "beside pre-existing autoimmune disease" in a.irae[0].attribution
    assert a.irae_excluded == []
    assert "excluded.inflammatory_arthritis" not in plan_ids(a)


def test_preexisting_rheumatoid_arthritis_alone_is_not_an_irae_but_its_flare_is_named():
    ra = cond(("M06.9",), "Rheumatoid arthritis", 24 * 2000)
    a = assess([*BASE, ra], at=AT)
    assert a.irae == []
    assert a.irae_excluded[0].reason.startswith("pre-existing autoimmune disease")
    line = next(r for r in a.recommendations if r.id == "excluded.inflammatory_arthritis")
    assert "managed as inflammatory arthritis by grade, with rheumatology" in line.text


# --- thyroiditis beside hypothyroidism: one action ------------------------------------------------
def test_thyroiditis_with_hypothyroidism_takes_the_hypothyroidism_action():
    th = cond(("E06.1", "T45.AX5A"), "Immune-related thyroiditis", stage="Grade 2")
    hypo = cond(("E03.9", "T45.AX5A"), "Hypothyroidism after thyroiditis", stage="Grade 2")
    a = assess([*BASE, th, hypo], at=AT)
    assert irae(a, "thyroiditis").checkpoint_inhibitor_action == "continue"
    assert irae(a, "hypothyroidism").checkpoint_inhibitor_action == "continue"
    assert "checkpoint_inhibitor.hold.pembrolizumab" not in plan_ids(a)
    # Thyroiditis grade 2 on its own (thyrotoxic phase) is held (ASCO general rule, grade 2).
    b = assess([*BASE, th], at=AT)
    assert irae(b, "thyroiditis").checkpoint_inhibitor_action == "hold"
