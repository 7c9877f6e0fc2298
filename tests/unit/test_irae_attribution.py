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


def test_pneumonia_j18_9_is_excluded_and_radiation_pneumonitis_j70_0_too():
    a = run(condition("J18.9", "Pneumonia", 24), condition("J70.0", "Radiation pneumonitis", 24))
    assert a.irae == [] and {x.kind for x in a.irae_excluded} == {"pneumonitis"}
    assert len(a.irae_excluded) == 2


def test_free_text_exclusions_chronic_hepatitis_b_ulcerative_colitis_radiation_pneumonitis():
    local = "http://hospital.example/codes"
    a = run(
        condition("X1", "Chronic hepatitis B", 24, system=local),
        condition("X2", "Long-standing ulcerative colitis", 24, system=local),
        condition("X3", "Radiation pneumonitis", 24, system=local),
    )
    assert a.irae == []
    reasons = {x.kind: x.reason for x in a.irae_excluded}
    assert set(reasons) == {"hepatitis", "colitis", "pneumonitis"}
    assert "hepatitis b" in reasons["hepatitis"]
    assert "ulcerative colitis" in reasons["colitis"]
    assert "radiation" in reasons["pneumonitis"]
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


def test_condition_without_onset_is_not_attributed():
    c = condition("K52.1", "Immune colitis", 24, stage="Grade 3")
    del c["onsetDateTime"]
    c["recordedDate"] = iso(24)  # recorded after the first dose: still no onset
    a = run(c)
    assert a.irae == []
    assert a.irae_excluded[0].reason == "onset unknown: cannot be attributed (record when it began)"


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
    assert [(f.kind, f.text_matched) for f in a.irae] == [("nephritis", True)]
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
