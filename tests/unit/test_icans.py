"""ICANS under ASTCT 2019 (Lee 2019, ICANS table): each domain on both sides of its boundaries,
the CAPD for children 12 and under, missing data, the worst in the window, recorded G92.0x
grades as a floor, and attribution to CAR T cells or a T-cell engager only. Expected values are
written out from the ASTCT table (ICE 7-9 grade 1, 3-6 grade 2, 0-2 grade 3; CAPD 1-8 grade 1,
≥9 grade 3)."""

from __future__ import annotations

import pytest

from services.assess import assess
from tests.fhir_factory import AT, SNOMED, condition, given, iso, patient

LOCAL = "https://immunotox.example/fhir/CodeSystem/assessment"


def ice(score, hours_before: float = 1, *, how: str = "text", **value) -> dict:
    code = {
        "text": {"text": "ICE score"},
        "display": {"coding": [{"system": "urn:local", "code": "X1", "display": "ICE Score"}]},
        "local": {"coding": [{"system": LOCAL, "code": "ice-score"}]},
        "long": {"text": "Immune effector cell-associated encephalopathy (ICE) score"},
    }[how]
    r = {
        "resourceType": "Observation",
        "id": f"ice{hours_before}-{score}",
        "status": "final",
        "code": code,
        "effectiveDateTime": iso(hours_before),
    }
    r.update(value or {"valueInteger": score})
    return r


def capd(score: int, hours_before: float = 1) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"capd{hours_before}",
        "status": "final",
        "code": {"text": "Cornell Assessment of Pediatric Delirium"},
        "effectiveDateTime": iso(hours_before),
        "valueInteger": score,
    }


def avpu(code: str, hours_before: float = 1) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"avpu{code}{hours_before}",
        "status": "final",
        "code": {"text": "AVPU"},
        "effectiveDateTime": iso(hours_before),
        "valueCodeableConcept": {"coding": [{"system": SNOMED, "code": code}]},
    }


def cart(hours_before: float = 96) -> dict:
    return given("axicabtagene ciloleucel", hours_before, by_text=True)


def run(*resources, birth: str = "1970-01-01", therapy: dict | None = None):
    t = cart() if therapy is None else therapy
    return assess([patient(birth=birth), t, *resources], at=AT).icans


# --- ICE score ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "grade"),
    [(10, 0), (9, 1), (7, 1), (6, 2), (3, 2), (2, 3), (0, 3)],
)
def test_ice_score_bands(score, grade):
    r = run(ice(score))
    assert r.applies and r.grade == grade
    if grade:
        assert r.criteria[0].evidence[0].value == score


@pytest.mark.parametrize("how", ["text", "display", "local", "long"])
def test_ice_score_read_by_name_or_local_code(how):
    assert run(ice(5, how=how)).grade == 2


def test_ice_as_quantity_with_whole_value_is_read_and_a_fraction_is_unreadable():
    assert run(ice(None, valueQuantity={"value": 8, "unit": "{score}"})).grade == 1
    a = assess(
        [patient(), cart(), ice(None, valueQuantity={"value": 7.5})],
        at=AT,
    )
    assert a.icans.grade is None
    assert any("ICE score" in d["problem"] for d in a.to_dict()["data_quality"])


def test_ice_out_of_range_is_unreadable_not_graded():
    a = assess([patient(), cart(), ice(11)], at=AT)
    assert a.icans.grade is None
    assert any("0 to 10" in d["problem"] for d in a.to_dict()["data_quality"])


def test_ice_zero_awake_is_3_and_asks_for_consciousness():
    r = run(ice(0))
    assert r.grade == 3
    assert any(m.data == "level of consciousness" for m in r.missing)


def test_ice_zero_and_unarousable_is_4():
    r = run(ice(0), avpu("422768004"))
    assert r.grade == 4
    assert not any(m.data == "level of consciousness" for m in r.missing)


def test_worst_ice_in_24_hours_counts_and_older_does_not():
    assert run(ice(2, hours_before=23), ice(9, hours_before=1)).grade == 3
    assert run(ice(2, hours_before=25), ice(9, hours_before=1)).grade == 1


# --- Consciousness (AVPU) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "grade"),
    [("248234008", 0), ("300202002", 2), ("450847001", 3), ("422768004", 4)],
)
def test_level_of_consciousness(code, grade):
    r = run(ice(10), avpu(code))
    assert r.grade == grade


LOINC = "http://loinc.org"


def loc(value: str, *, code: dict | None = None, as_concept: bool = False, hours_before=1):
    """A level-of-consciousness Observation charted as text (a flowsheet row)."""
    r = {
        "resourceType": "Observation",
        "id": f"loc{abs(hash((value, hours_before, as_concept)))}",
        "status": "final",
        "code": code
        or {
            "coding": [
                {"system": "urn:flowsheet", "code": "LOC", "display": "Level of consciousness"}
            ]
        },
        "effectiveDateTime": iso(hours_before),
    }
    if as_concept:
        r["valueCodeableConcept"] = {"text": value}
    else:
        r["valueString"] = value
    return r


def gcs(value: int, *, code: str = "9269-2", display: str = "Glasgow coma score total"):
    return {
        "resourceType": "Observation",
        "id": f"gcs{code}{value}",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "effectiveDateTime": iso(1),
        "valueInteger": value,
    }


# ASTCT 2019 ICANS table, depressed level of consciousness: grade 1 awakens spontaneously, grade
# 2 awakens to voice, grade 3 awakens only to tactile stimulus, grade 4 unarousable or requires
# vigorous or repetitive tactile stimuli to arouse, stupor or coma. AVPU letters as their codes.
@pytest.mark.parametrize(
    ("text", "grade"),
    [
        ("Alert", 0),
        ("A", 0),
        ("Awakens spontaneously", 1),
        ("Awakens to voice", 2),
        ("V", 2),
        ("awakens only to tactile stimulus", 3),
        ("P", 3),
        ("Unarousable", 4),
        ("Unarousable - no response to vigorous stimuli", 4),
        ("requires vigorous or repetitive tactile stimuli", 4),
        ("Stuporous", 4),
        ("comatose", 4),
        ("U", 4),
    ],
)
def test_level_of_consciousness_charted_as_text(text, grade):
    assert run(ice(10), loc(text)).grade == grade
    assert run(ice(10), loc(text, as_concept=True)).grade == grade


def test_consciousness_text_under_the_loinc_code_or_named_avpu():
    assert (
        run(
            ice(10), loc("Unarousable", code={"coding": [{"system": LOINC, "code": "80288-4"}]})
        ).grade
        == 4
    )
    assert run(ice(10), loc("V", code={"text": "AVPU"})).grade == 2


def test_consciousness_text_is_evidence_recognised_by_its_text():
    r = run(ice(10), loc("Stuporous"))
    (c,) = [c for c in r.criteria if c.id == "icans.loc.g4"]
    assert "recognised by its text" in c.evidence[0].what


@pytest.mark.parametrize(
    "text", ["not unarousable", "no longer unarousable", "patient is not comatose"]
)
def test_negated_consciousness_text_does_not_fire(text):
    a = assess([patient(), cart(), ice(10), loc(text)], at=AT)
    assert a.icans.grade == 0
    assert any("Level of consciousness" in d["problem"] for d in a.to_dict()["data_quality"])


def test_consciousness_words_on_an_observation_not_about_consciousness_are_not_read():
    # A text match is not a diagnosis: "unarousable" in a nursing note's value is not graded.
    r = run(ice(10), loc("Unarousable", code={"text": "Nursing note"}))
    assert r.grade == 0


def test_sedation_named_in_the_consciousness_value_is_not_graded():
    a = assess([patient(), cart(), ice(10), loc("Unresponsive - sedated on propofol")], at=AT)
    assert a.icans.grade == 0
    assert any("sedation named" in d["problem"] for d in a.to_dict()["data_quality"])
    assert run(ice(10), loc("Unresponsive")).grade == 4


def test_unrecognised_consciousness_text_is_reported_not_graded():
    a = assess([patient(), cart(), loc("drowsy")], at=AT)
    assert a.icans.grade is None
    assert any("drowsy" in d["problem"] for d in a.to_dict()["data_quality"])


def test_ice_not_done_because_unarousable_is_grade_4_and_other_text_is_unreadable():
    r = run(ice(None, valueString="unable to assess - patient unarousable"))
    assert r.grade == 4
    a = assess(
        [patient(), cart(), ice(None, valueString="unable to assess - patient refused")], at=AT
    )
    assert a.icans.grade is None
    assert any("ICE score" in d["problem"] for d in a.to_dict()["data_quality"])


def test_gcs_is_shown_and_never_graded():
    r = run(ice(8), gcs(3))
    assert r.grade == 1  # ICE 7-9: a GCS of 3 does not raise it
    assert any(
        "Glasgow coma score 3" in n and "not an ASTCT 2019 ICANS criterion" in n for n in r.notes
    )
    assert not any(c.id.startswith("icans.loc") for c in r.criteria)


def test_gcs_below_15_without_consciousness_asks_for_it_and_15_does_not():
    r = run(ice(8), gcs(14))
    assert any(m.data == "level of consciousness" and "Glasgow" in m.why for m in r.missing)
    r = run(ice(8), gcs(15))
    assert not any(m.data == "level of consciousness" for m in r.missing)
    r = run(ice(8), gcs(14), loc("Awakens to voice"))
    assert not any("Glasgow" in m.why for m in r.missing)


def test_gcs_alone_is_no_icans_grade_and_a_component_is_not_the_total():
    r = run(gcs(5))
    assert r.grade is None
    r = run(ice(8), gcs(2, code="9267-6", display="Glasgow coma score eye opening"))
    assert not any("Glasgow coma score" in n for n in r.notes)


def test_responds_to_pain_asks_whether_vigorous_stimuli_were_needed():
    r = run(ice(4), avpu("450847001"))
    assert r.grade == 3
    assert any("vigorous" in m.data for m in r.missing)


# --- Seizure, motor, oedema ---------------------------------------------------------------------


def test_seizure_is_3_and_status_epilepticus_4():
    assert run(ice(8), condition("R56.9", "Seizure", 2)).grade == 3
    assert run(ice(8), condition("G40.901", "Status epilepticus", 2)).grade == 4


def test_seizure_is_an_event_outside_the_window_it_no_longer_counts():
    assert run(ice(10), condition("R56.9", "Seizure", 30)).grade == 0


def test_seizure_by_text_and_a_negated_one_is_not():
    r = run(ice(10), condition("LOCAL1", "Generalised seizure", 2, system="urn:x"))
    assert r.grade == 3
    assert "recognised by its text" in r.criteria[0].evidence[0].what
    assert run(ice(10), condition("LOCAL2", "No seizure activity", 2, system="urn:x")).grade == 0


def test_hemiparesis_is_4_and_lasts_while_active():
    assert run(ice(10), condition("G81.90", "Hemiparesis", 40)).grade == 4


def test_focal_oedema_3_diffuse_4_unknown_extent_asks():
    r = run(ice(10), condition("G93.6", "Cerebral edema, focal", 5))
    assert r.grade == 3 and not any("extent" in m.data for m in r.missing)
    assert run(ice(10), condition("G93.6", "Diffuse cerebral edema", 5)).grade == 4
    r = run(ice(10), condition("G93.6", "Cerebral edema", 5))
    assert r.grade == 3 and any("extent" in m.data for m in r.missing)


def test_papilledema_is_4_and_haemorrhage_is_not_icans():
    assert run(ice(10), condition("H47.10", "Papilledema", 5)).grade == 4
    r = run(ice(10), condition("G93.6", "Cerebral edema around intracranial hemorrhage", 5))
    assert r.grade == 0
    assert any("haemorrhage" in n for n in r.notes)


def test_worst_domain_wins():
    # ASTCT example: ICE 3 with a generalised seizure is grade 3.
    assert run(ice(3), condition("R56.9", "Generalized seizure", 2)).grade == 3


# --- Recorded ICANS grade -------------------------------------------------------------------------


def test_recorded_g92_grade_is_a_floor():
    r = run(ice(9), condition("G92.03", "ICANS grade 3", 3))
    assert r.grade == 3
    assert any(c.id == "icans.recorded" and c.grade == 3 for c in r.criteria)
    assert run(ice(2), condition("G92.01", "ICANS grade 1", 3)).grade == 3


def test_recorded_g92_00_has_no_grade_and_says_so():
    r = run(ice(10), condition("G92.00", "ICANS", 3))
    assert r.grade == 0
    assert any("without a grade" in n for n in r.notes)


# --- Children: CAPD ----------------------------------------------------------------------------


@pytest.mark.parametrize(("score", "grade"), [(0, 0), (1, 1), (8, 1), (9, 3), (20, 3)])
def test_capd_bands_for_child_12_or_under(score, grade):
    r = run(capd(score), birth="2016-01-01")  # 10 years old at AT
    assert r.tool == "capd" and r.grade == grade


def test_child_of_13_is_assessed_with_ice_and_12_with_capd():
    assert run(ice(10), birth="2013-11-19").tool == "ice"  # 13 on AT
    r = run(ice(10), birth="2014-11-21")  # 11, turning 12 tomorrow
    assert r.tool == "capd"
    assert any(m.data == "CAPD" for m in r.missing)


# --- Missing data, trajectory -------------------------------------------------------------------


def test_no_neurologic_data_is_no_grade_and_asks_for_the_ice_score():
    r = run()
    assert r.grade is None
    assert any(m.data == "ICE score" for m in r.missing)
    assert any("No ICE score" in n for n in r.notes)


def test_missing_ice_is_listed_when_only_consciousness_is_known():
    r = run(avpu("248234008"))
    assert r.grade == 0
    assert any(m.data == "ICE score" for m in r.missing)


def test_worst_and_trajectory():
    r = run(ice(9, 47), ice(4, 30), ice(8, 2))
    assert r.grade == 1
    assert r.worst is not None and r.worst.grades["astct2019"] == 2
    grades = [p.grades["astct2019"] for p in r.trajectory]
    assert 2 in grades and grades[-1] == 1


# --- Attribution -----------------------------------------------------------------------------------


def test_checkpoint_inhibitor_alone_never_gives_icans():
    r = run(ice(4), therapy=given("pembrolizumab", 24 * 10))
    assert not r.applies and r.grade == 0
    assert "checkpoint" in r.reason
    assert r.findings and not r.criteria


def test_t_cell_engager_within_14_days_and_not_after():
    tec = given("teclistamab", 24 * 13, by_text=True)
    r = run(ice(4), therapy=tec)
    assert r.applies and r.agent == "teclistamab" and r.grade == 2
    late = given("teclistamab", 24 * 15, by_text=True)
    assert not run(ice(4, 1), therapy=late).applies


def test_car_t_within_8_weeks_and_not_after():
    assert run(ice(4), therapy=cart(24 * 55)).applies
    assert not run(ice(4), therapy=cart(24 * 57)).applies


def test_json_has_the_additive_icans_object():
    d = assess([patient(), cart(), ice(5)], at=AT).to_dict()
    assert d["icans"]["grade"] == 2
    assert d["icans"]["attribution"]["agent"] == "axicabtagene ciloleucel"
    assert d["icans"]["criteria"][0]["id"] == "icans.ice.g2"


def test_icans_object_validates_against_the_documented_schema():
    import json
    from pathlib import Path

    import jsonschema

    schema = json.loads(
        (Path(__file__).resolve().parents[2] / "docs" / "assessment.schema.json").read_text()
    )
    for a in (
        assess([patient(), cart(), ice(5), condition("G93.6", "Cerebral edema", 5)], at=AT),
        assess([patient(), given("pembrolizumab", 240), ice(5)], at=AT),
    ):
        jsonschema.validate(a.to_dict(), schema)
        assert "icans" in a.to_dict()


def test_hooks_prefetch_asks_for_consciousness_and_gcs_by_their_loinc_codes():
    from cds_hooks.registry import prefetch_catalogue

    obs_queries = [q for q in prefetch_catalogue().values() if q.startswith("Observation?")]
    assert any(
        "http://loinc.org|80288-4" in q and "http://loinc.org|9269-2" in q for q in obs_queries
    )
