"""Order checks that always enforce the label: maxima with and without a weight, tablets
converted through the product's strength, doses that cannot be checked said out loud, the
tocilizumab course, a taper in progress. Expected values are written from the sources (Actemra
label section 2; ASCO 2021; RxNorm clinical drugs), not from the product's constants."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from cds_hooks.cards import CardContext, order_cards
from cds_hooks.pipeline import view_inputs
from services.model import Courses, Dose, GivenDose, Recommendation, TocilizumabCourse
from services.order_check import check_orders, read_drafts
from tests.unit.cds_hooks.fixtures import (
    AT,
    PID,
    assessment,
    bundle,
    finding,
    med_request,
    rec_mp,
    rec_toci,
)

BASE = "https://immunotox.example.org"


def rec_pred(low: float | None = 70.0, high: float | None = 70.0) -> Recommendation:
    dose = Dose("mg/d", value=low) if low == high else Dose("mg/d", low=low, high=high)
    return Recommendation(
        "prednisone.taper",
        "immunosuppression",
        "Then prednisone 1 mg/kg/day by mouth, tapered over 4-6 weeks",
        ("asco2021: general recommendations",),
        drug="prednisone",
        dose=dose if low is not None else None,
        dose_missing_reason=None if low is not None else "No body weight recorded",
        route="oral",
        frequency="daily",
        for_irae=("transverse_myelitis",),
    )


def tablet(mid: str, text: str, rxnorm: str | None, count: float, unit: str = "{tbl}"):
    mr = med_request(mid, text, rxnorm, count, unit)
    mr["dosageInstruction"][0]["timing"] = {
        "repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}
    }
    return mr


def cards_for(a, *drafts):
    cc = CardContext(
        service_id="immunotox-order-sign",
        patient_id=PID,
        base_url=BASE,
        **view_inputs("order-sign", {"draftOrders": bundle(*drafts)}, a, []),
    )
    return [c.to_dict() for c in order_cards(a, cc)]


# -- Tablets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rxnorm", "count", "unit", "mg"),
    [
        ("Prednisone 20 MG Oral Tablet", "312615", 1, "{tbl}", 20.0),  # RxNorm SCD 312615
        ("prednisone", "312615", 3, "tablet", 60.0),
        ("prednisone", "198145", 2, "{tbl}", 20.0),  # 10 mg tablet
        ("prednisone", "312617", 1, "{pill}", 5.0),  # 5 mg tablet
        ("Prednisone 20 MG Oral Tablet", "8640", 2, "TAB", 40.0),  # ingredient code: the name
        ("dexamethasone 4 MG Oral Tablet", None, 1.5, "{tbl}", 6.0),
    ],
)
def test_tablet_counts_are_converted_with_the_product_strength(text, rxnorm, count, unit, mg):
    [d] = read_drafts(bundle(tablet("p", text, rxnorm, count, unit)), 70)
    assert d.dose_mg == pytest.approx(mg) and d.dose_problem is None
    assert "mg" in d.dose_basis


def test_a_tablet_count_of_an_unknown_strength_is_not_guessed():
    [d] = read_drafts(bundle(tablet("p", "prednisone", "8640", 1)), 70)
    assert d.dose_mg is None and "strength per unit is not known" in d.dose_problem


def test_a_contained_medication_gives_its_ingredient_strength():
    mr = tablet("p", "x", None, 2)
    del mr["medicationCodeableConcept"]
    mr["medicationReference"] = {"reference": "#m"}
    mr["contained"] = [
        {
            "resourceType": "Medication",
            "id": "m",
            "code": {"text": "Prednisone tablet"},
            "ingredient": [
                {
                    "itemCodeableConcept": {"text": "prednisone"},
                    "strength": {
                        "numerator": {"value": 5, "unit": "mg", "code": "mg"},
                        "denominator": {"value": 1, "unit": "tablet", "code": "TAB"},
                    },
                }
            ],
        }
    ]
    [d] = read_drafts(bundle(mr), 70)
    assert d.drug.name == "prednisone" and d.dose_mg == 10.0


def test_one_tablet_of_prednisone_20_mg_is_checked_against_the_plan():
    # The CDS Hooks sandbox case: "Prednisone 20 MG Oral Tablet", 1 tablet daily, against a
    # plan of 70 mg/day (1 mg/kg × 70 kg).
    a = assessment(irae=[finding()], recs=[rec_pred(70, 70)])
    [f] = check_orders(bundle(tablet("p", "Prednisone 20 MG Oral Tablet", "312615", 1)), a, [])
    assert f.kind == "dose_mismatch" and f.draft.dose_mg == 20.0
    assert f.corrected_dose_mg == 70.0


def test_a_tablet_dose_that_cannot_be_read_gets_an_info_card_saying_why():
    a = assessment(irae=[finding()], recs=[rec_pred(70, 70)])
    [card] = cards_for(a, tablet("p", "prednisone", "8640", 1))
    assert card["indicator"] == "info" and "not checked" in card["summary"]
    assert "strength per unit is not known" in card["detail"]


# -- Maxima with and without a weight ---------------------------------------------------------


@pytest.mark.parametrize("weight", [78.0, None])
def test_tocilizumab_1000_mg_is_critical_with_or_without_a_weight(weight):
    rec = rec_toci(624) if weight else replace(rec_toci(), dose=None, dose_missing_reason="no")
    a = assessment({"lee2014": 3}, recs=[rec], weight=weight)
    [card] = cards_for(a, med_request("t", "tocilizumab", "612865", 1000))
    assert card["indicator"] == "critical"
    assert "800 mg" in card["summary"]
    if weight:  # corrected to the plan's 8 mg/kg × 78 kg
        value = card["suggestions"][0]["actions"][0]["resource"]["dosageInstruction"][0][
            "doseAndRate"
        ][0]["doseQuantity"]["value"]
        assert value == 624
    else:  # nothing to suggest without a weight
        assert "suggestions" not in card or not card["suggestions"]


def test_tocilizumab_per_kg_label_dose_is_a_maximum_with_rounding():
    # 50 kg: 8 mg/kg = 400 mg; vial rounding up to 10% (440 mg) passes, 441 mg does not.
    a = assessment({"lee2014": 3}, recs=[rec_toci(400)], weight=50)
    assert check_orders(bundle(med_request("t", "tocilizumab", "612865", 440)), a, []) == []
    [f] = check_orders(bundle(med_request("t", "tocilizumab", "612865", 441)), a, [])
    assert f.kind == "dose_over_max" and f.limit_mg == 400


def test_a_child_under_30_kg_has_the_12_mg_per_kg_label_maximum():
    # 29 kg: 12 mg/kg = 348 mg (383 mg with rounding); at 30 kg the limit is 8 mg/kg = 240 mg.
    a = assessment({"lee2014": 3}, recs=[rec_toci(348)], weight=29)
    assert check_orders(bundle(med_request("t", "tocilizumab", "612865", 348)), a, []) == []
    a30 = assessment({"lee2014": 3}, recs=[rec_toci(240)], weight=30)
    [f] = check_orders(bundle(med_request("t", "tocilizumab", "612865", 348)), a30, [])
    assert f.kind == "dose_over_max" and f.limit_mg == 240


def test_methylprednisolone_daily_maximum_counts_every_dose_of_the_day():
    a = assessment(irae=[finding()], recs=[rec_mp(70, 140)])
    # 500 mg twice a day is 1 g/day: at the maximum, so only the plan mismatch is left.
    [f] = check_orders(
        bundle(med_request("m", "methylprednisolone", "6902", 500, per_day=2)), a, []
    )
    assert f.kind == "dose_mismatch"
    [f] = check_orders(
        bundle(med_request("m", "methylprednisolone", "6902", 501, per_day=2)), a, []
    )
    assert f.kind == "dose_over_max" and f.ordered_mg == 1002 and f.limit_mg == 1000


def test_prednisone_per_kg_maximum_without_a_weight_is_reported_as_not_checked():
    a = assessment(irae=[finding()], recs=[rec_pred(None, None)], weight=None)
    [f] = check_orders(bundle(med_request("p", "prednisone", "8640", 200, per_day=1)), a, [])
    assert f.kind == "dose_unchecked"
    assert "no body weight" in f.reason and "not compared with the plan" in f.reason


def test_dexamethasone_cap_applies_only_while_the_plan_doses_it():
    dex = Recommendation(
        "dexamethasone.neuro",
        "immunosuppression",
        "Dexamethasone 0.5 mg/kg per dose (maximum 10 mg)",
        ("lee2014: Corticosteroids and other agents",),
        drug="dexamethasone",
        dose=Dose("mg", value=10, capped=True, cap="10 mg"),
    )
    a = assessment({"lee2014": 3}, recs=[rec_toci(), dex])
    assert check_orders(bundle(med_request("d", "dexamethasone", "3264", 10)), a, []) == []
    [f] = check_orders(bundle(med_request("d", "dexamethasone", "3264", 12)), a, [])
    assert f.kind == "dose_over_max" and f.limit_mg == 10
    outside = assessment({"lee2014": 3}, recs=[rec_toci()])
    assert check_orders(bundle(med_request("d", "dexamethasone", "3264", 40)), outside, []) == []


# -- The tocilizumab course -------------------------------------------------------------------


def toci_course(hours_ago: list[float], status: str) -> Courses:
    doses = tuple(
        GivenDose(AT - timedelta(hours=h), "tocilizumab", 560.0, f"MedicationAdministration/{i}")
        for i, h in enumerate(sorted(hours_ago, reverse=True))
    )
    last = doses[-1].time
    n = len(doses)
    return Courses(
        tocilizumab=TocilizumabCourse(
            doses=doses,
            max_doses=4,
            min_interval_h=8.0,
            next_not_before=last + timedelta(hours=8) if n < 4 else None,
            status=status,
            text=f"Tocilizumab dose {n} of 4 given",
            grade_at_last_dose=3,
            grade_now=3,
            sources=("actemra_label: section 2, CRS",),
        )
    )


@pytest.mark.parametrize(
    ("hours_ago", "blocked"),
    [
        ([7 + 59 / 60], True),  # 7 h 59 min after the last dose
        ([8.0], False),  # exactly 8 h
        ([40, 30, 20, 10], True),  # dose 5 of 4
        ([30, 20, 10], False),  # dose 4 of 4 is allowed
    ],
)
def test_a_tocilizumab_draft_the_course_does_not_allow_is_critical(hours_ago, blocked):
    a = assessment({"lee2014": 3}, recs=[rec_toci(560)])
    a.courses = toci_course(hours_ago, "due")
    out = check_orders(bundle(med_request("t", "tocilizumab", "612865", 560)), a, [])
    assert [f.kind for f in out] == (["course_limit"] if blocked else [])
    if blocked:
        [card] = cards_for(a, med_request("t", "tocilizumab", "612865", 560))
        assert card["indicator"] == "critical"
        assert card["suggestions"][0]["actions"][0]["type"] == "delete"
