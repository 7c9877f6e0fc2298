"""The comparison behind org.immunotox.observation-create reads the record once and grades
"before" for its grades only: both must give exactly what reading and assessing each version of
the record separately gives (docs/performance.md, observation-create)."""

from __future__ import annotations

import copy

import pytest

from services import assess as A
from services import changes, fhir_adapter
from tests.fhir_factory import AT, RXNORM, given, infusion, iso, obs, patient, sbp, temp, weight

PID = "p1"


def rate_row(rate: float, hours_before: float, rid: str | None = None) -> dict:
    """A flowsheet row: the norepinephrine rate in µg/min."""
    return {
        "resourceType": "Observation",
        "id": rid or f"ne{rate}-{hours_before}",
        "status": "final",
        "code": {"coding": [{"system": RXNORM, "code": "7512"}], "text": "norepinephrine"},
        "effectiveDateTime": iso(hours_before),
        "valueQuantity": {"value": rate, "unit": "ug/min", "code": "ug/min"},
    }


def ice(score: int, hours_before: float) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"ice{score}-{hours_before}",
        "status": "final",
        "code": {"text": "ICE score"},
        "effectiveDateTime": iso(hours_before),
        "valueInteger": score,
    }


def bp_panel(s: float, d: float, hours_before: float) -> dict:
    return {
        "resourceType": "Observation",
        "id": f"bp{s}-{hours_before}",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
        "effectiveDateTime": iso(hours_before),
        "component": [
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                "valueQuantity": {"value": s, "unit": "mm[Hg]", "code": "mm[Hg]"},
            },
            {
                "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                "valueQuantity": {"value": d, "unit": "mm[Hg]", "code": "mm[Hg]"},
            },
        ],
    }


def record(*extra: dict) -> list[dict]:
    return [
        patient(PID, "1970-01-01"),
        given("axicabtagene ciloleucel", 72, by_text=True),
        temp(37.2, hours_before=6),
        sbp(118, hours_before=6),
        weight(70),
        obs("2276-4", 700, "ng/mL", 30),
        *extra,
    ]


def no_id(o: dict) -> dict:
    o = copy.deepcopy(o)
    del o["id"]
    return o


# (record extras, the new observations, whether one adapter pass is exact)
CASES = {
    "a fever": ((), [temp(38.9, hours_before=0.1)], True),
    "a pressure panel": ((), [bp_panel(84, 50, 0.1)], True),
    "an oxygen flow": ((), [obs("3151-8", 4, "L/min", 0.1)], True),
    "an ICE score": ((ice(10, 5),), [ice(5, 0.1)], True),
    "a ferritin": ((), [obs("2276-4", 1900, "ng/mL", 0.1)], True),
    "a value without a unit": ((), [obs("8310-5", 38.5, None, 0.1)], True),
    "a potassium": ((), [obs("2823-3", 3.1, "mmol/L", 0.1)], True),
    "several at once": ((), [temp(39.1, hours_before=0.2), sbp(86, hours_before=0.1)], True),
    "an observation without an id": ((), [no_id(temp(38.9, hours_before=0.1))], False),
    "a rate row between rows": (
        (rate_row(4, 3), rate_row(6, 1)),
        [rate_row(10, 2, rid="ne-new")],
        False,
    ),
    "a stop row": ((rate_row(4, 3),), [rate_row(0, 1, rid="ne-stop")], False),
    "a weight while a per-kg rate needs one": (
        (infusion("norepinephrine", 0.1, "ug/kg/min", start_h=2),),
        [weight(95, hours_before=0.5)],
        False,
    ),
    "a weight without rates": ((), [weight(95, hours_before=0.5)], True),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_adapter_pass_gives_exactly_both_versions_of_the_record(case, monkeypatch):
    extras, new, one_pass = CASES[case]
    rec = fhir_adapter.flatten(record(*extras))
    without = changes.record_without(rec, new)
    separately = (
        fhir_adapter.to_patient_data(without),
        fhir_adapter.to_patient_data([*new, *without]),
    )
    calls = []
    real = fhir_adapter._adapt
    monkeypatch.setattr(fhir_adapter, "_adapt", lambda flat: calls.append(1) or real(flat))
    assert fhir_adapter.to_patient_data_pair(without, new) == separately
    assert len(calls) == (1 if one_pass else 2)


def test_an_observation_the_record_already_holds_is_left_out_of_before():
    fever = temp(39.1, hours_before=0.1)
    stored = copy.deepcopy(fever)
    stored["subject"] = {"reference": f"Patient/{PID}"}
    rec = fhir_adapter.flatten(record(stored))
    without = changes.record_without(rec, [fever])
    before, after = fhir_adapter.to_patient_data_pair(without, [fever])
    assert [s.value for s in before.samples("temperature")] == [37.2]
    assert [s.value for s in after.samples("temperature")] == [37.2, 39.1]


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_grades_of_before_are_those_of_the_full_assessment(case):
    extras, new, _ = CASES[case]
    data = fhir_adapter.to_patient_data(fhir_adapter.flatten(record(*extras, *new)))
    full = A.assess_data(data, AT, with_timeline=False)
    g = A.grades(data, AT)
    assert g.crs == full.crs
    assert g.crs_attribution == full.crs_attribution
    assert g.primary_crs_grade == full.primary_crs_grade
    assert g.irae == full.irae
    assert (g.icans.applies, g.icans.grade, g.icans.criteria) == (
        full.icans.applies,
        full.icans.grade,
        full.icans.criteria,
    )


def test_the_comparison_gives_what_two_full_assessments_give():
    # CRS grade 1 → 3 under ASTCT 2019 (fever, then norepinephrine 8 µg/min charted)
    rec = fhir_adapter.flatten(record(temp(38.6, hours_before=3), sbp(85, hours_before=2)))
    new = [rate_row(8, 0.2)]
    delta = changes.compare(rec, new, AT)
    b, a = changes.split_record(rec, new)
    before = A.assess(b, AT, with_timeline=False)
    after = A.assess(a, AT, with_timeline=False)
    assert (before.primary_crs_grade, after.primary_crs_grade) == (2, 3)
    assert delta.before.primary_crs_grade == 2 and delta.after.primary_crs_grade == 3
    assert delta.crs_systems == {s: (before.crs[s].grade, after.crs[s].grade) for s in after.crs}
    assert delta.after.recommendations == after.recommendations


def test_a_weight_based_rate_just_charted_is_read_with_the_records_weight():
    # 0.05 µg/kg/min charted for a patient of 80 kg: 4 µg/min, in the grade and in the
    # "just charted" line alike (a rate read from the new row alone has no weight).
    row = rate_row(0.05, 0.1, rid="ne-per-kg")
    row["valueQuantity"] = {"value": 0.05, "unit": "mcg/kg/min", "code": "ug/kg/min"}
    record = [
        patient(),
        weight(80),
        given("axicabtagene ciloleucel", 72, by_text=True),
        temp(39.1, 3),
    ]
    delta = changes.compare(record, [row], AT)
    (line,) = delta.charted
    assert line.what == "norepinephrine 4 ug/min" and line.value == 4.0
    # Without a weight on record the rate stays unknown: never guessed.
    (alone,) = changes.compare(record[:1] + record[2:], [row], AT).charted
    assert alone.what == "norepinephrine rate unknown" and alone.value is None
