"""Attribution before management: an infection is never an irAE, a condition present before the
first checkpoint-inhibitor dose is pre-existing, a condition without an onset cannot be
attributed, and a text match is labelled as such. Each excluded condition is shown with its
reason, and gets no plan."""

from __future__ import annotations

from services.assess import assess
from tests.fhir_factory import AT, ICD10CM, SNOMED, condition, given, iso, patient, weight

# pembrolizumab given 14 days before AT: conditions with onset 24 h before AT follow it.
BASE = [patient(), weight(70), given("pembrolizumab", 24 * 14)]


def run(*conds):
    return assess([*BASE, *conds], at=AT)


def excluded(a):
    return {(x.kind, x.reason) for x in a.irae_excluded}


def test_acute_pyelonephritis_n10_is_excluded_as_infection_and_gets_no_steroid():
    a = run(condition("N10", "Acute pyelonephritis", 24, stage="Grade 3"))
    assert a.irae == []
    ((kind, reason),) = excluded(a)
    assert kind == "nephritis" and "infection" in reason
    assert not [r for r in a.recommendations if r.drug and "prednis" in r.drug]


def test_pyelonephritis_n12_and_uti_n39_0_are_excluded():
    a = run(condition("N12", "Pyelonephritis", 24), condition("N39.0", "UTI", 24))
    assert a.irae == [] and len(a.irae_excluded) == 2


def test_c_difficile_enterocolitis_a04_72_is_not_immune_colitis():
    a = run(condition("A04.72", "Enterocolitis due to Clostridium difficile", 24, stage="Grade 3"))
    assert a.irae == []
    assert [x.kind for x in a.irae_excluded] == ["colitis"]
    assert "C. difficile" in a.irae_excluded[0].reason


def test_other_infectious_enteritis_a08_is_excluded():
    a = run(condition("A08.11", "Norovirus gastroenteritis", 24))
    assert a.irae == [] and a.irae_excluded[0].kind == "colitis"


def test_infective_myocarditis_i40_0_is_excluded_but_i40_9_is_attributed():
    a = run(condition("I40.0", "Infective myocarditis", 24, stage="Grade 2"))
    assert a.irae == [] and a.irae_excluded[0].kind == "myocarditis"
    b = run(condition("I40.9", "Acute myocarditis", 24, stage="Grade 2"))
    assert [(f.kind, f.checkpoint_inhibitor_action) for f in b.irae] == [
        ("myocarditis", "discontinue")
    ]


def test_viral_hepatitis_b18_1_is_excluded():
    a = run(condition("B18.1", "Chronic viral hepatitis B", 24))
    assert a.irae == [] and "viral" in a.irae_excluded[0].reason


def test_pneumonia_j18_9_is_excluded_but_radiation_pneumonitis_j70_0_is_managed_as_pneumonitis():
    # On a checkpoint inhibitor radiation pneumonitis cannot be told apart from ICI pneumonitis:
    # ASCO 2021 Table 3.1 applies, with radiation named as a competing cause.
    a = run(condition("J18.9", "Pneumonia", 24))
    assert a.irae == [] and [x.kind for x in a.irae_excluded] == ["pneumonitis"]
    b = run(condition("J70.0", "Radiation pneumonitis", 24, stage="Grade 2"))
    assert [(f.kind, f.grade, f.checkpoint_inhibitor_action) for f in b.irae] == [
        ("pneumonitis", 2, "hold")
    ]
    assert "radiation is a competing cause" in b.irae[0].attribution
    assert b.irae_excluded == []


def test_free_text_exclusions_chronic_hepatitis_b_ulcerative_colitis_and_radiation_overlap():
    local = "http://hospital.example/codes"
    a = run(
        condition("X1", "Chronic hepatitis B", 24, system=local),
        condition("X2", "Long-standing ulcerative colitis", 24, system=local),
        condition("X3", "Radiation pneumonitis", 24, system=local),
    )
    reasons = {x.kind: x.reason for x in a.irae_excluded}
    assert set(reasons) == {"hepatitis", "colitis"}
    assert "hepatitis b" in reasons["hepatitis"]
    assert "ulcerative colitis" in reasons["colitis"]
    ((f),) = a.irae
    assert f.kind == "pneumonitis" and f.text_matched
    assert "radiation is a competing cause" in f.attribution
    assert all(x.text_matched for x in a.irae_excluded)


def test_a_coded_irae_whose_text_names_an_infection_is_excluded():
    a = run(condition("K52.9", "Colitis, C. difficile positive", 24))
    assert a.irae == [] and "difficile" in a.irae_excluded[0].reason


def test_text_only_match_is_labelled_text_matched():
    a = run(
        condition("X9", "Immune-related pneumonitis", 24, system="http://local", stage="Grade 2")
    )
    (f,) = a.irae
    assert f.kind == "pneumonitis" and f.text_matched is True
    assert "text-matched" in f.attribution
    coded = run(condition("J70.4", "Drug-induced interstitial lung disease", 24, stage="Grade 2"))
    assert coded.irae[0].text_matched is False and "coded" in coded.irae[0].attribution


def test_pre_existing_condition_is_excluded_with_the_first_dose_date():
    a = run(condition("M06.4", "Inflammatory polyarthropathy", 24 * 400))
    assert a.irae == []
    (x,) = a.irae_excluded
    assert x.reason.startswith("pre-existing: onset ")
    assert "before the first pembrolizumab dose (2026-11-06)" in x.reason


def test_condition_one_day_after_first_dose_is_attributed_and_one_day_before_is_not():
    after = run(condition("K52.1", "Immune colitis", 24 * 13, stage="Grade 2"))
    assert [f.kind for f in after.irae] == ["colitis"]
    assert "1 days after the first pembrolizumab dose" in after.irae[0].attribution
    before = run(condition("K52.1", "Colitis", 24 * 15, stage="Grade 2"))
    assert before.irae == [] and before.irae_excluded[0].reason.startswith("pre-existing")


def test_condition_without_onset_recorded_on_treatment_is_managed_and_says_so():
    c = condition("K52.1", "Immune colitis", 24, stage="Grade 3")
    del c["onsetDateTime"]
    c["recordedDate"] = iso(24)  # recorded 13 days after the first dose (2026-11-06)
    a = run(c)
    assert a.irae_excluded == []
    (f,) = a.irae
    assert (f.kind, f.grade, f.checkpoint_inhibitor_action) == ("colitis", 3, "hold")
    assert f.attribution.startswith(
        "onset date not recorded; attribution assumed from the recording date (2026-11-19)"
    )
    assert [m.data for m in f.missing] == ["onset date"]
    line = {r.id: r for r in a.recommendations}["irae.onset_assumed.colitis"]
    assert "onset date not recorded" in line.text and "2026-11-19" in line.text


def test_condition_without_any_date_is_managed_conditionally_and_says_so():
    # Review patient 19: inflammatory arthritis grade 2 on nivolumab, no onset, no recordedDate.
    c = condition("M06.4", "Inflammatory arthritis, MCPs and wrists", 24, stage="Grade 2")
    del c["onsetDateTime"]
    a = run(c)
    assert a.irae_excluded == []
    (f,) = a.irae
    assert (f.kind, f.grade, f.checkpoint_inhibitor_action) == ("inflammatory_arthritis", 2, "hold")
    assert f.attribution.startswith(
        "onset and recording dates not recorded; attribution assumed (present now, on "
        "pembrolizumab since 2026-11-06)"
    )
    r = {r.id: r for r in a.recommendations}
    assert "confirm it began after the first pembrolizumab dose" in (
        r["irae.onset_assumed.inflammatory_arthritis"].text
    )
    # ASCO 2021 Table 5.1 G2: prednisone 10-20 mg/day, shown but only if it is new.
    pred = r["prednisone.arthritis_g2"]
    assert (pred.dose.low, pred.dose.high) == (10, 20)
    assert pred.when == "if it began after the first pembrolizumab dose"


def test_dated_condition_drug_lines_are_not_made_conditional():
    a = run(condition("M06.4", "Inflammatory arthritis", 24, stage="Grade 2"))
    r = {r.id: r for r in a.recommendations}
    assert r["prednisone.arthritis_g2"].when is None
    assert "irae.onset_assumed.inflammatory_arthritis" not in r


def test_undated_condition_without_any_checkpoint_inhibitor_dose_time_is_not_attributed():
    c = condition("K52.1", "Immune colitis", 24, stage="Grade 3")
    del c["onsetDateTime"]
    order = {
        "resourceType": "MedicationRequest",
        "id": "mr-undated",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "pembrolizumab"},
    }
    a = assess([patient(), weight(70), order, c], at=AT)
    assert [e.drug for e in a.checkpoint_inhibitors] == ["pembrolizumab"]
    assert a.irae == []
    assert a.irae_excluded[0].reason == "onset unknown: cannot be attributed (record when it began)"


def test_undated_condition_recorded_the_day_before_the_first_dose_is_pre_existing():
    c = condition("K52.1", "Immune colitis", 24, stage="Grade 3")
    del c["onsetDateTime"]
    c["recordedDate"] = iso(24 * 15)  # first dose 14 days before AT
    a = run(c)
    assert a.irae == [] and a.irae_excluded[0].reason.startswith("pre-existing: recorded")


def test_recorded_before_first_dose_without_onset_is_pre_existing():
    c = condition("K52.1", "Colitis", 24)
    del c["onsetDateTime"]
    c["recordedDate"] = iso(24 * 100)
    a = run(c)
    assert a.irae == [] and a.irae_excluded[0].reason.startswith("pre-existing: recorded")


def _stool_test(value_text: str, hours_before: float) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"t{value_text[:3]}{hours_before}",
        "status": "final",
        "code": {"text": "Clostridioides difficile toxin B gene PCR, stool"},
        "effectiveDateTime": iso(hours_before),
        "valueCodeableConcept": {"text": value_text},
    }


def test_positive_c_difficile_test_near_onset_explains_colitis_and_is_the_reason():
    a = run(condition("K52.1", "Colitis", 24, stage="Grade 3"), _stool_test("Positive", 20))
    assert a.irae == []
    (x,) = a.irae_excluded
    assert x.reason.startswith("positive Clostridioides difficile toxin B gene PCR")
    assert "an infection explains it" in x.reason
    assert len(x.evidence) == 2


def test_negative_c_difficile_test_does_not_exclude_colitis():
    a = run(condition("K52.1", "Colitis", 24, stage="Grade 3"), _stool_test("Not detected", 20))
    assert [f.kind for f in a.irae] == ["colitis"] and a.irae_excluded == []


def test_positive_test_long_before_onset_does_not_explain_it():
    a = run(condition("K52.1", "Colitis", 24, stage="Grade 3"), _stool_test("Positive", 24 * 30))
    assert [f.kind for f in a.irae] == ["colitis"]


def test_positive_urine_culture_explains_nephritis():
    culture = {
        "resourceType": "Observation",
        "id": "uc1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "630-4"}]},
        "effectiveDateTime": iso(30),
        "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "10828004"}]},
    }
    a = run(condition("N14.19", "Drug-induced nephropathy", 24, stage="Grade 2"), culture)
    assert a.irae == [] and a.irae_excluded[0].kind == "nephritis"


def test_no_checkpoint_inhibitor_means_no_irae_and_no_exclusion_noise():
    a = assess([patient(), condition("N10", "Acute pyelonephritis", 24)], at=AT)
    assert a.irae == [] and a.irae_excluded == []


def test_excluded_conditions_are_in_the_json():
    a = run(condition("N10", "Acute pyelonephritis", 24))
    d = a.to_dict()
    assert d["irae_excluded"][0]["kind"] == "nephritis"
    assert d["irae_excluded"][0]["evidence"][0]["what"] == "Acute pyelonephritis"


def test_snomed_sjs_code_is_recognised():
    a = run(condition("73442001", "Stevens-Johnson syndrome", 24, system=SNOMED))
    (f,) = a.irae
    assert (f.kind, f.checkpoint_inhibitor_action) == ("sjs_ten", "discontinue")


def test_wrong_system_with_a_valid_looking_code_is_not_matched_by_code():
    # "N10" under SNOMED is not the ICD-10-CM code; the text decides, and it names an infection.
    a = run(condition("N10", "Nephritis: pyelonephritis", 24, system=SNOMED))
    assert a.irae == [] and a.irae_excluded[0].text_matched is True
    assert "pyelonephritis" in a.irae_excluded[0].reason


def _combo(text: str, codings=()) -> dict:
    return {
        "resourceType": "MedicationStatement",
        "id": f"ms{abs(hash(text)) % 10000}",
        "status": "active",
        "medicationCodeableConcept": {"text": text, "coding": list(codings)},
        "effectiveDateTime": "2026-11-01",
    }


def test_nivolumab_and_relatlimab_written_any_way_gives_both_ingredients():
    for text in (
        "Opdualag",
        "nivolumab and relatlimab-rmbw",
        "Relatlimab / Nivolumab 160 mg-480 mg",
        "NIVOLUMAB-RELATLIMAB",
    ):
        a = assess([patient(), _combo(text)], at=AT)
        assert {e.drug for e in a.checkpoint_inhibitors} == {"nivolumab", "relatlimab"}, text


def test_two_ingredient_codings_give_both_ingredients():
    rx = "http://www.nlm.nih.gov/research/umls/rxnorm"
    a = assess(
        [
            patient(),
            _combo("", [{"system": rx, "code": "1597876"}]),
        ],
        at=AT,
    )
    assert {e.drug for e in a.checkpoint_inhibitors} == {"nivolumab"}
    b = assess([patient(), _combo("relatlimab", [{"system": rx, "code": "1597876"}])], at=AT)
    assert {e.drug for e in b.checkpoint_inhibitors} == {"nivolumab", "relatlimab"}


def test_icd10_who_system_is_read_like_icd10cm():
    a = run(condition("N10", "Acute pyelonephritis", 24, system="http://hl7.org/fhir/sid/icd-10"))
    assert a.irae == [] and a.irae_excluded[0].kind == "nephritis"
    assert ICD10CM  # the factory's default system is ICD-10-CM


def test_a_negated_infection_does_not_exclude():
    a = run(
        condition(
            "K52.1",
            "Immune-mediated colitis; stool C. difficile and GI PCR panel negative",
            24,
            stage="Grade 3",
        ),
        condition("K71.6", "Immune hepatitis; viral serologies (HAV, HBV, HCV) negative", 24),
    )
    assert {f.kind for f in a.irae} == {"colitis", "hepatitis"} and a.irae_excluded == []


def test_an_open_infection_still_excludes():
    a = run(condition("K52.1", "Colitis; infection not excluded, C. difficile pending", 24))
    assert a.irae == [] and a.irae_excluded[0].kind == "colitis"


def test_chronic_hepatitis_b_with_a_negative_antigen_is_still_hepatitis_b():
    local = "http://hospital.example/codes"
    a = run(condition("X1", "Chronic hepatitis B (HBeAg negative), on entecavir", 24, system=local))
    assert a.irae == [] and "hepatitis b" in a.irae_excluded[0].reason


def test_legacy_n10_title_with_an_explicit_immune_attribution_is_not_excluded():
    text = "Acute interstitial nephritis, immune-related (urine culture negative)"
    a = run(condition("N10", text, 24, stage="Grade 2"))
    # Read by its code now (N10 with an immune attribution names the nephritis).
    assert [(f.kind, f.text_matched) for f in a.irae] == [("nephritis", False)]
    b = run(condition("N10", "Acute pyelonephritis, E. coli; immune-related rash elsewhere", 24))
    assert b.irae == [] and b.irae_excluded[0].kind == "nephritis"


def test_text_output_lists_conditions_not_attributed_with_their_reason():
    from services.render import render_text

    text = render_text(run(condition("N10", "Acute pyelonephritis", 24)))
    assert "Not attributed to the checkpoint inhibitor" in text
    assert "Nephritis: pyelonephritis or urinary tract infection: an infection, not an irAE" in text


def test_a_negation_reaches_only_its_own_comma_part():
    local = "http://hospital.example/codes"
    text = "Chronic hepatitis B, HBeAg negative, on entecavir"
    a = run(condition("X1", text, 24, system=local))
    assert a.irae == [] and "hepatitis b" in a.irae_excluded[0].reason


def test_pre_existing_chronic_hepatitis_b_still_asks_for_hbv_dna_before_steroid():
    local = "http://hospital.example/codes"
    hbv = condition(
        "X1", "Chronic hepatitis B, HBeAg negative, on entecavir", 24 * 4000, system=local
    )
    a = run(condition("X2", "Transaminitis", 24, system=local, stage="Grade 2"), hbv)
    ids = {r.id for r in a.recommendations}
    assert "hepatitis.viral_first" in ids and "hepatitis.g2.prednisone" not in ids


# --- T45.AX5- (adverse effect of immune checkpoint inhibitors) beside an organ code -------------


def _coded(codes: tuple[str, ...], text: str, stage: str | None = None, **extra) -> dict:
    c = condition(codes[0], text, 24, stage=stage)
    c["code"]["coding"] = [{"system": ICD10CM, "code": k} for k in codes]
    c.update(extra)
    return c


def test_k75_89_with_t45_ax5a_on_the_same_condition_is_immune_hepatitis_grade_4():
    for codes in (("K75.89", "T45.AX5A"), ("T45.AX5A", "K75.89")):
        a = run(_coded(codes, "Immune hepatitis", stage="Grade 4"))
        (f,) = a.irae
        assert (f.kind, f.grade, f.checkpoint_inhibitor_action) == ("hepatitis", 4, "discontinue")
        assert (
            "coded as an adverse effect of an immune checkpoint inhibitor by ICD-10-CM T45.AX5A"
            in (f.attribution)
        )
        r = {r.id: r for r in a.recommendations}
        # ASCO 2021 Table 2.2 G4: methylprednisolone 2 mg/kg/day (70 kg: 140 mg/day).
        assert r["hepatitis.g4.methylprednisolone"].dose.value == 140
        assert "hepatitis.no_infliximab" in r


def test_k75_89_alone_names_no_cause_and_is_shown_not_managed():
    a = run(_coded(("K75.89",), "Inflammatory liver disease", stage="Grade 4"))
    assert a.irae == []
    (x,) = a.irae_excluded
    assert x.kind == "hepatitis" and x.reason.startswith("no adverse-effect code (T45.AX5-)")
    line = {r.id: r for r in a.recommendations}["excluded.hepatitis"]
    assert "assess it as a possible irAE" in line.text


def test_k75_89_with_immune_related_wording_is_immune_hepatitis():
    a = run(_coded(("K75.89",), "Immune-related hepatitis", stage="Grade 3"))
    assert [(f.kind, f.grade) for f in a.irae] == [("hepatitis", 3)]
    assert "by the text ('immune-related')" in a.irae[0].attribution


def test_t45_ax5a_on_a_separate_condition_counts_within_3_days_only():
    marker = condition("T45.AX5A", "Adverse effect of immune checkpoint inhibitor", 24)
    same_day = run(_coded(("K75.89",), "Inflammatory liver disease", stage="Grade 4"), marker)
    assert [(f.kind, f.grade) for f in same_day.irae] == [("hepatitis", 4)]
    assert "T45.AX5A on Condition/" in same_day.irae[0].attribution
    far = condition("T45.AX5A", "Adverse effect of immune checkpoint inhibitor", 24 * 5)
    late = run(_coded(("K75.89",), "Inflammatory liver disease", stage="Grade 4"), far)
    assert late.irae == [] and late.irae_excluded[0].kind == "hepatitis"


def test_t45_ax5a_first_does_not_hide_the_organ_code_k71_6():
    a = run(_coded(("T45.AX5A", "K71.6"), "Toxic liver disease with hepatitis", stage="Grade 3"))
    assert [(f.kind, f.grade) for f in a.irae] == [("hepatitis", 3)]
    assert "ICD-10-CM T45.AX5A" in a.irae[0].attribution


# --- Sepsis coded only as A40-A41 or R65.2x is an infection ---------------------------------------


def test_sepsis_a41_9_beside_nephritis_explains_it_and_is_not_listed_itself():
    a = run(
        condition("N14.19", "Drug-induced nephropathy", 24, stage="Grade 2"),
        condition("A41.9", "Sepsis, unspecified organism", 30),
    )
    assert a.irae == []
    (x,) = a.irae_excluded
    assert x.kind == "nephritis" and x.reason.startswith("sepsis recorded 2026-11-19")
    assert not [r for r in a.recommendations if r.drug and "prednis" in r.drug]


def test_contrast_induced_nephropathy_n14_11_is_not_read_as_immune_nephritis():
    # ICD-10-CM N14.11 is contrast-induced nephropathy; N14.19 other drug-induced nephropathy.
    a = run(condition("N14.11", "Contrast-induced nephropathy", 24, stage="Grade 2"))
    assert a.irae == [] and a.irae_excluded == []
    b = run(condition("N14.19", "Drug-induced nephropathy", 24, stage="Grade 2"))
    assert [f.kind for f in b.irae] == ["nephritis"]


def test_severe_sepsis_r65_21_counts_and_sepsis_15_days_earlier_does_not():
    near = run(
        condition("K52.1", "Immune colitis", 24, stage="Grade 2"),
        condition("R65.21", "Severe sepsis with septic shock", 24 * 14),
    )
    assert near.irae == [] and "sepsis recorded" in near.irae_excluded[0].reason
    far = run(
        condition("K52.1", "Immune colitis", 24, stage="Grade 2"),
        condition("R65.21", "Severe sepsis with septic shock", 24 * 15 + 1),
    )
    assert [f.kind for f in far.irae] == ["colitis"]


def test_sepsis_does_not_explain_a_rash():
    a = run(
        condition("L27.0", "Drug eruption", 24, stage="Grade 2"),
        condition("A41.9", "Sepsis, unspecified organism", 30),
    )
    assert [f.kind for f in a.irae] == ["rash"]
