"""The ICANS plan (ASCO 2021 immune effector cell guideline, Table 2): each line at the grades
the guideline names, tocilizumab only with concurrent CRS, and every dose number pinned with
the value from the source (dexamethasone 10 mg; children 0.5 mg/kg, maximum 10 mg;
methylprednisolone 1 mg/kg every 12 h; grade 4: 1 g/day, children 30 mg/kg/day up to 1 g).
This file is in the mutation gate's dosing-numbers scope."""

from __future__ import annotations

import pytest

from services.assess import assess
from tests.fhir_factory import AT, condition, given, obs, patient, temp
from tests.unit.test_icans import avpu, cart, ice


def plan(*resources, kg: float | None = 70, birth: str = "1970-01-01", therapy=None):
    res = [patient(birth=birth), therapy or cart(), *resources]
    if kg is not None:
        res.append(obs("29463-7", kg, "kg", 48))
    a = assess(res, at=AT)
    return a, {r.id: r for r in a.recommendations if "icans" in r.for_irae}


def test_grade_1_supportive_care_neurology_and_no_steroid():
    _a, p = plan(ice(8))
    assert {"icans.monitor", "icans.neurology", "icans.supportive"} <= set(p)
    assert "icans.seizure_prophylaxis" in p and p["icans.seizure_prophylaxis"].dose is None
    assert not any(r.drug in ("dexamethasone", "methylprednisolone") for r in p.values())
    assert "icans.imaging" not in p and "icans.eeg" not in p


def test_grade_2_imaging_eeg_and_dexamethasone_only_for_high_risk():
    _a, p = plan(ice(5))
    assert "icans.imaging" in p and "icans.eeg" in p and "icans.icu" not in p
    dex = p["icans.dexamethasone_g2"]
    assert dex.dose.value == 10 and dex.when  # shown, not offered to sign
    assert p["icans.methylprednisolone"].when == dex.when


def test_grade_3_icu_and_dexamethasone_10_mg_every_6_to_12_hours():
    _a, p = plan(ice(2))
    assert p["icans.icu"].urgency == "urgent"
    dex = p["icans.dexamethasone"]
    assert dex.dose.value == 10 and dex.when is None and dex.frequency == "every 6-12 h"
    mp = p["icans.methylprednisolone"]
    assert mp.dose.value == 70 and mp.alternative_to == "icans.dexamethasone"
    assert "icans.lumbar_puncture" in p
    assert "icans.methylprednisolone_g4" not in p


def test_grade_4_methylprednisolone_1_g_per_day():
    _a, p = plan(ice(0), avpu("422768004"))
    mp = p["icans.methylprednisolone_g4"]
    assert mp.dose.value == 1000 and mp.dose.unit == "mg/d"
    assert "icans.dexamethasone" not in p


def test_seizure_and_oedema_lines_only_with_their_domain():
    _a, p = plan(ice(8), condition("R56.9", "Seizure", 2))
    assert "icans.seizure" in p and "icans.raised_icp" not in p
    _a, p = plan(ice(8), condition("G93.6", "Diffuse cerebral edema", 2))
    assert "icans.raised_icp" in p and "icans.seizure" not in p


LISO_CEL = "lisocabtagene maraleucel"


def test_tocilizumab_only_with_concurrent_crs():
    _a, p = plan(ice(5))
    assert not any(r.drug == "tocilizumab" for r in p.values())
    a, p = plan(ice(5), temp(38.6), therapy=given(LISO_CEL, 96, by_text=True))
    assert a.primary_crs_grade == 1
    assert "icans.tocilizumab_with_crs" in p
    dex = p["icans.dexamethasone_with_crs"]
    assert dex.when and "tocilizumab" in dex.when


# --- ICANS with concurrent CRS (ASCO 2021 Table 2: tocilizumab first, 8 mg/kg, max 800 mg) ------


@pytest.mark.parametrize(
    ("birth", "kg", "mg", "capped"),
    [
        ("1970-01-01", 66, 528, False),  # 8 mg/kg × 66 kg (review patient icans02)
        ("1970-01-01", 100, 800, False),  # 8 × 100 = 800: at the cap, not above it
        ("1970-01-01", 110, 800, True),  # 880 capped at 800 mg
        ("2016-01-01", 29, 348, False),  # under 30 kg: 12 mg/kg
        ("2016-01-01", 30, 240, False),  # 30 kg: 8 mg/kg
    ],
)
def test_icans_with_crs_grade_1_gets_the_label_tocilizumab_dose_now(birth, kg, mg, capped):
    # A seizure (ICANS grade 3) with fever (CRS grade 1): no tocilizumab in the CRS plan at
    # grade 1, so the ICANS line carries the dose itself.
    a, p = plan(temp(38.3), condition("R56.9", "Seizure", 4), kg=kg, birth=birth)
    assert a.primary_crs_grade == 1 and a.icans.grade == 3
    assert not any(r.drug == "tocilizumab" and "crs" in r.for_irae for r in a.recommendations)
    toci = p["icans.tocilizumab_with_crs"]
    assert toci.dose is not None and toci.dose.value == mg and toci.dose.capped is capped
    assert toci.when is None and toci.urgency == "urgent"
    assert toci.text.startswith("Tocilizumab")


def test_icans_tocilizumab_respects_the_interval_after_a_dose():
    _a, p = plan(temp(38.3), condition("R56.9", "Seizure", 4), given("tocilizumab", 2))
    toci = p["icans.tocilizumab_with_crs"]
    assert toci.dose is None and toci.dose_missing_reason.startswith("Not yet")
    _a, p = plan(temp(38.3), condition("R56.9", "Seizure", 4), given("tocilizumab", 9))
    assert p["icans.tocilizumab_with_crs"].dose is not None


def test_icans_tocilizumab_points_to_the_crs_line_when_the_crs_plan_has_one():
    from tests.fhir_factory import sbp

    a, p = plan(ice(2), temp(39.0), sbp(80))  # CRS grade 2: its plan doses tocilizumab
    crs_toci = [r for r in a.recommendations if r.id == "tocilizumab.label"]
    assert crs_toci and crs_toci[0].dose is not None
    toci = p["icans.tocilizumab_with_crs"]
    assert toci.dose is None and "CRS tocilizumab line" in toci.dose_missing_reason


def test_with_crs_dexamethasone_waits_for_tocilizumab_except_early_steroid_products():
    # Liso-cel: tocilizumab first; dexamethasone only if refractory past the first dose.
    _a, p = plan(
        temp(38.3), condition("R56.9", "Seizure", 4), therapy=given(LISO_CEL, 96, by_text=True)
    )
    assert p["icans.dexamethasone_with_crs"].when
    assert p["icans.tocilizumab_with_crs"].dose is not None
    # Axi-cel: earlier corticosteroids are recommended for the product, so signable now.
    _a, p = plan(temp(38.3), condition("R56.9", "Seizure", 4))
    dex = p["icans.dexamethasone_with_crs"]
    assert dex.when is None and dex.dose.value == 10
    assert any("Earlier steroid use" in s for s in dex.sources)


def test_crs_grade_1_line_says_it_is_about_crs_alone_when_icans_is_present():
    a, _p = plan(temp(38.3), condition("R56.9", "Seizure", 4))
    line = next(r for r in a.recommendations if r.id == "crs.symptomatic")
    assert "no immunosuppression for the CRS itself" in line.text
    assert "ICANS grade 3 is present" in line.text
    # CRS grade 1 without ICANS: the line as it was.
    a, _p = plan(temp(38.3), ice(10))
    line = next(r for r in a.recommendations if r.id == "crs.symptomatic")
    assert line.text == "Grade 1: symptomatic treatment only; no immunosuppression"


def test_with_crs_and_tocilizumab_given_dexamethasone_is_offered_now():
    _a, p = plan(ice(5), temp(38.6), given("tocilizumab", 6))
    assert p["icans.dexamethasone_with_crs"].when is None


def test_icu_consider_at_grade_2_only_with_crs_grade_2():
    _a, p = plan(ice(5), temp(38.6))
    assert "icans.icu_with_crs" not in p


def test_no_plan_when_icans_does_not_apply_or_grade_0():
    _a, p = plan(ice(4), therapy=given("pembrolizumab", 240))
    assert p == {}
    _a, p = plan(ice(10))
    assert p == {}


# --- Dose numbers, both sides of each band ------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "kg", "mg", "capped"),
    [
        ("2008-11-20", 50, 10, False),  # 18 on the day: the adult 10 mg
        ("2009-01-01", 12, 6, False),  # 17: 0.5 mg/kg
        ("2016-01-01", 18, 9, False),
        ("2016-01-01", 22, 10, True),  # 11 mg capped at 10 mg
    ],
)
def test_dexamethasone_adult_10_mg_child_half_mg_per_kg_up_to_10(birth, kg, mg, capped):
    _a, p = plan(ice(2), kg=kg, birth=birth)
    dose = p["icans.dexamethasone"].dose
    assert dose.value == mg and dose.capped is capped


@pytest.mark.parametrize(("kg", "mg"), [(70, 70), (45, 45)])
def test_methylprednisolone_1_mg_per_kg_every_12_hours(kg, mg):
    _a, p = plan(ice(2), kg=kg)
    assert p["icans.methylprednisolone"].dose.value == mg
    assert p["icans.methylprednisolone"].frequency == "every 12 h"


@pytest.mark.parametrize(
    ("birth", "kg", "mg", "capped"),
    [
        ("2008-11-20", 60, 1000, False),  # 18: 1 g/day
        ("2009-01-01", 20, 600, False),  # 17: 30 mg/kg/day
        ("2016-01-01", 40, 1000, True),  # 1200 capped at 1 g
        ("2016-01-01", 33, 990, False),
    ],
)
def test_grade_4_methylprednisolone_adult_1_g_child_30_mg_per_kg_up_to_1_g(birth, kg, mg, capped):
    _a, p = plan(ice(0), avpu("422768004"), kg=kg, birth=birth)
    dose = p["icans.methylprednisolone_g4"].dose
    assert dose.value == mg and dose.capped is capped


def test_child_without_weight_gets_no_dose_and_the_reason():
    _a, p = plan(ice(2), kg=None, birth="2016-01-01")
    r = p["icans.dexamethasone"]
    assert r.dose is None and "weight" in r.dose_missing_reason


def test_icans_dexamethasone_is_signable_when_the_crs_dexamethasone_is_only_conditional():
    from tests.fhir_factory import sbp

    # CRS grade 2 after tocilizumab: its dexamethasone waits for refractory CRS; ICANS grade 3
    # (ICE 2) needs a corticosteroid now, so the ICANS line carries no condition.
    a, p = plan(ice(2), temp(39.0), sbp(80), given("tocilizumab", 30))
    crs_dex = [r for r in a.recommendations if "crs" in r.for_irae and r.drug == "dexamethasone"]
    assert crs_dex and all(r.when for r in crs_dex)
    assert p["icans.dexamethasone_with_crs"].when is None


def test_no_second_corticosteroid_order_when_the_crs_lines_offer_one():
    from tests.fhir_factory import infusion, sbp

    # CRS grade 3 (a vasopressor): its plan offers dexamethasone to sign now.
    a, p = plan(
        ice(2),
        temp(39.0),
        sbp(80),
        infusion("norepinephrine", 5, "ug/min", 30),
        given("tocilizumab", 30),
    )
    crs_steroids = [
        r
        for r in a.recommendations
        if "crs" in r.for_irae and r.drug == "dexamethasone" and r.dose and r.when is None
    ]
    assert crs_steroids, "the CRS plan offers dexamethasone here"
    for rid in ("icans.dexamethasone_with_crs", "icans.methylprednisolone"):
        assert p[rid].when and "never as a second one" in p[rid].when


def test_a_t_cell_engager_behind_icans_is_withheld_and_car_t_cells_are_not():
    a, p = plan(ice(6), therapy=given("teclistamab", 48, by_text=True))
    assert a.icans.grade == 2
    hold = p["engager.hold_icans.teclistamab"]
    assert (hold.category, hold.urgency, hold.drug, hold.dose) == (
        "cancer_therapy",
        "urgent",
        "teclistamab",
        None,
    )
    assert hold.text.startswith("Withhold teclistamab while ICANS is active")
    _, p = plan(ice(6))
    assert not any(k.startswith("engager.") for k in p)


def test_icans_tocilizumab_stops_at_the_fourth_dose_of_the_course():
    seizure = condition("R56.9", "Seizure", 4)
    three = [given("tocilizumab", h) for h in (34, 26, 18)]
    _a, p = plan(temp(38.3), seizure, *three)
    toci = p["icans.tocilizumab_with_crs"]
    assert "dose 3 of 4" in toci.text and toci.dose.value == 560  # 8 mg/kg × 70 kg
    four = [*three, given("tocilizumab", 10)]
    _a, p = plan(temp(38.3), seizure, *four)
    toci = p["icans.tocilizumab_with_crs"]
    assert toci.dose is None and toci.dose_missing_reason.startswith("No more doses")


def test_lumbar_puncture_only_after_imaging_and_not_suggested_with_cerebral_oedema():
    # ICE 2: grade 3 without oedema: lumbar puncture with the imaging caveat (van Crevel 2002:
    # brain shift contraindicates it).
    _a, p = plan(ice(2))
    lp = p["icans.lumbar_puncture"]
    assert lp.text == (
        "Lumbar puncture (may be considered from grade 2), only after imaging has excluded "
        "raised intracranial pressure or mass effect"
    )
    assert lp.service == "Lumbar puncture"
    # Diffuse cerebral oedema on record: no lumbar puncture to order, and why.
    _a, p = plan(ice(2), condition("G93.6", "Diffuse cerebral edema", 2))
    lp = p["icans.lumbar_puncture"]
    assert lp.service is None
    assert lp.text.startswith("Lumbar puncture not suggested: cerebral oedema or raised")


def _med(text: str, hours_before: float) -> dict:
    from tests.fhir_factory import iso

    return {
        "resourceType": "MedicationAdministration",
        "id": f"med-{text[:4]}-{hours_before}",
        "status": "completed",
        "medicationCodeableConcept": {"text": text},
        "effectiveDateTime": iso(hours_before),
    }


def test_seizure_prophylaxis_says_levetiracetam_was_already_given():
    _a, p = plan(ice(5))
    assert p["icans.seizure_prophylaxis"].text.startswith("Consider seizure prophylaxis")
    assert p["icans.seizure_prophylaxis"].drug == "levetiracetam"
    _a, p = plan(ice(5), _med("levETIRAcetam 1,500 mg IV", 3))
    line = p["icans.seizure_prophylaxis"]
    assert line.text.startswith("Antiseizure drug already given (levetiracetam)")
    assert line.drug is None
    # Charted after the assessment time: not yet given.
    _a, p = plan(ice(5), _med("levetiracetam 500 mg IV", -1))
    assert p["icans.seizure_prophylaxis"].text.startswith("Consider seizure prophylaxis")


@pytest.mark.parametrize(("birth", "tool"), [("2016-06-01", "CAPD"), ("2013-06-01", "ICE score")])
def test_monitoring_names_the_capd_for_a_child_of_12_or_under(birth, tool):
    # 10 years old at the assessment (CAPD) against 13 years old (ICE score).
    from tests.unit.test_icans import capd

    first = capd(12) if tool == "CAPD" else ice(5)
    _a, p = plan(first, birth=birth, kg=30)
    assert p["icans.monitor"].text.startswith(f"{tool} and motor examination at least twice a day")


@pytest.mark.parametrize(
    ("drug", "line"),
    [
        ("pembrolizumab", "  ASTCT 2019 ICANS: not applicable"),
        ("axicabtagene ciloleucel", "  ASTCT 2019 ICANS: grade 2"),
    ],
)
def test_text_says_not_applicable_when_icans_does_not_apply(drug, line):
    from services.render import render_text

    a, _p = plan(ice(5), therapy=given(drug, 24 * 5, by_text=True))
    lines = render_text(a).splitlines()
    assert any(x == line or x.startswith(line + ";") for x in lines)


def _cond(code: str, display: str, hours_before: float, status: str = "active") -> dict:
    from tests.fhir_factory import iso

    return {
        "resourceType": "Condition",
        "id": f"c-{code}-{hours_before}",
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": status,
                }
            ]
        },
        "code": {
            "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}],
            "text": display,
        },
        "onsetDateTime": iso(hours_before),
    }


def _kinds(a):
    return [oc["kind"] for oc in a.icans.other_causes]


@pytest.mark.parametrize(("na", "named"), [(124, True), (125, False)])
def test_sodium_below_125_is_named_beside_the_icans_grade(na, named):
    a, _p = plan(ice(5), obs("2951-2", na, "mmol/L", 3))
    assert a.icans.grade == 2  # never lowered
    assert _kinds(a) == (["hyponatraemia"] if named else [])


@pytest.mark.parametrize(("status", "named"), [("active", True), ("resolved", False)])
def test_coded_hyponatraemia_is_named_while_active(status, named):
    a, _p = plan(ice(5), _cond("E87.1", "Hyponatremia", 5, status))
    assert a.icans.grade == 2
    assert _kinds(a) == (["hyponatraemia"] if named else [])


@pytest.mark.parametrize(("glucose", "named"), [(69, True), (70, False)])
def test_glucose_below_70_mg_dl_is_named(glucose, named):
    a, _p = plan(ice(5), obs("2345-7", glucose, "mg/dL", 3))
    assert _kinds(a) == (["hypoglycaemia"] if named else [])


def test_recorded_sepsis_is_named_beside_the_icans_grade_and_on_the_text():
    from services.render import render_text

    a, _p = plan(ice(5), _cond("A41.51", "Sepsis due to E. coli", 5))
    assert a.icans.grade == 2 and _kinds(a) == ["infection"]
    assert any(
        x.startswith("    Consider another cause: infection: An infection recorded")
        for x in render_text(a).splitlines()
    )
    a, _p = plan(ice(5))
    assert _kinds(a) == []
    assert a.to_dict()["icans"]["other_causes"] == []
