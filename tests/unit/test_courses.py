"""What has already been given: the tocilizumab course (ACTEMRA label section 2: at most 4 doses
for CRS, at least 8 hours apart), the corticosteroid course (ASCO 2021 section 12: taper 10 mg
every 3-7 days to 10 mg/day, then 5 mg; PJP at ≥20 mg/day for ≥4 weeks or >30 mg/day for
≥3 weeks; resume at ≤10 mg/day), and pending checkpoint-inhibitor orders. Each rule on both
sides of its boundary; expected values written out from those sources."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cds_hooks.cards import CardContext, assessment_cards
from services.assess import assess
from services.order_check import check_orders
from tests.fhir_factory import (
    AT,
    RXNORM,
    condition,
    given,
    infusion,
    iso,
    patient,
    sbp,
    temp,
    weight,
)
from tests.unit.cds_hooks.fixtures import bundle as draft_bundle
from tests.unit.cds_hooks.fixtures import med_request


def crs_on_pembrolizumab() -> list[dict]:
    """Pembrolizumab 10 days ago; fever and norepinephrine for 30 h: CRS grade 3 (ASTCT)."""
    out = [patient(), weight(80), given("pembrolizumab", 240, (200, "mg"))]
    for h in range(30, 0, -2):
        out += [temp(39.2, hours_before=h), sbp(84, hours_before=h)]
    out.append(infusion("norepinephrine", 5, "ug/min", 30))
    return out


def toci(hours_before: float, mg: float = 640) -> dict:
    return given("tocilizumab", hours_before, (mg, "mg"))


def rec(a, rid):
    [r] = [r for r in a.recommendations if r.id == rid]
    return r


# -- Tocilizumab ------------------------------------------------------------------------------


def test_7_h_59_after_a_dose_no_tocilizumab_is_proposed_and_nothing_is_urgent():
    a = assess([*crs_on_pembrolizumab(), toci(7 + 59 / 60)], AT)
    c = a.courses.tocilizumab
    assert c.status == "wait" and c.given == 1
    assert c.next_not_before == AT + timedelta(minutes=1)
    line = rec(a, "tocilizumab.label")
    assert line.dose is None and line.urgency == "routine"
    assert "dose 1 of 4 given at 04:01 (20 Nov); the next not before 12:01 (20 Nov)" in line.text
    assert not any(r.drug == "tocilizumab" and r.dose for r in a.recommendations)


def test_8_h_after_a_dose_the_second_dose_is_allowed():
    a = assess([*crs_on_pembrolizumab(), toci(8)], AT)
    assert a.courses.tocilizumab.status == "due"
    line = rec(a, "tocilizumab.label")
    assert line.dose.value == 640  # 8 mg/kg × 80 kg
    assert "dose 1 of 4 given at 04:00 (20 Nov)" in line.text
    # Lee 2014 repeats only after 24 h: that line names the time and proposes no dose.
    lee = rec(a, "tocilizumab.lee2014")
    assert lee.dose is None and "04:00 (21 Nov)" in lee.text


def test_after_death_the_course_allows_no_further_dose():
    out = crs_on_pembrolizumab()
    out[0] = patient(deceasedDateTime=(AT - timedelta(hours=2)).isoformat())
    a = assess([*out, toci(30)], AT)
    c = a.courses.tocilizumab
    assert c.status == "deceased"
    assert c.text.endswith("the patient died at 10:00 (20 Nov): no further dose")
    assert a.recommendations == []
    # Alive, the same course allows a further dose.
    assert assess([*crs_on_pembrolizumab(), toci(30)], AT).courses.tocilizumab.status != "deceased"


def test_after_3_doses_a_4th_is_allowed_after_4_no_5th():
    three = assess([*crs_on_pembrolizumab(), toci(26), toci(17), toci(9)], AT)
    assert three.courses.tocilizumab.given == 3
    assert rec(three, "tocilizumab.label").dose.value == 640
    four = assess([*crs_on_pembrolizumab(), toci(34), toci(26), toci(17), toci(9)], AT)
    c = four.courses.tocilizumab
    assert c.status == "max_reached" and c.given == 4 and c.next_not_before is None
    line = rec(four, "tocilizumab.label")
    assert line.dose is None and line.urgency == "routine"
    assert "no more tocilizumab, the maximum of 4 doses" in line.text


def test_a_dose_more_than_14_days_before_starts_a_new_episode():
    same = assess([*crs_on_pembrolizumab(), toci(24 * 14 + 9), toci(9)], AT)
    assert same.courses.tocilizumab.given == 2  # 14 days apart: one episode
    new = assess([*crs_on_pembrolizumab(), toci(24 * 14 + 10), toci(9)], AT)
    assert new.courses.tocilizumab.given == 1


def test_no_improvement_24_h_after_tocilizumab_adds_corticosteroids_to_the_repeat():
    # CAR T cells (Lee 2014 path: corticosteroids second line), grade unchanged 25 h later.
    resources = [patient(), weight(80), given("tisagenlecleucel", 24 * 5, by_text=True)]
    for h in range(40, 0, -2):
        resources += [temp(39.4, hours_before=h), sbp(84, hours_before=h)]
    resources += [infusion("norepinephrine", 5, "ug/min", 40), toci(25)]
    a = assess(resources, AT)
    c = a.courses.tocilizumab
    assert c.status == "no_improvement" and c.grade_at_last_dose == c.grade_now == 3
    # The label repeats for no improvement; Lee 2014 adds corticosteroids: both are offered.
    assert rec(a, "tocilizumab.label").dose.value == 640
    assert "together with corticosteroids" in rec(a, "tocilizumab.label").text
    # Grade 3 after CAR T cells: dexamethasone 10 mg IV every 6 hours (ASCO 2021 CAR T, G3),
    # urgent; Lee 2014's methylprednisolone 2 mg/kg/day beside it as the alternative.
    dex = rec(a, "dexamethasone.crs")
    assert (dex.dose.value, dex.dose.unit, dex.frequency, dex.urgency) == (
        10,
        "mg",
        "every 6 h",
        "urgent",
    )
    steroid = rec(a, "methylprednisolone.crs.lee2014")
    assert steroid.alternative_to == "dexamethasone.crs"
    assert steroid.dose.value == 160  # 2 mg/kg/day × 80 kg
    # 23 h after the dose it is still too early to call: the repeat is allowed.
    early = assess([*resources[:-1], toci(23)], AT)
    assert early.courses.tocilizumab.status == "due"


def test_a_draft_of_a_fifth_dose_is_critical_at_order_sign():
    a = assess([*crs_on_pembrolizumab(), toci(34), toci(26), toci(17), toci(9)], AT)
    [f] = check_orders(draft_bundle(med_request("t", "tocilizumab", "612865", 640)), a, [])
    assert f.kind == "course_limit" and "4 of 4" in f.reason


def test_the_timeline_shows_each_dose_with_its_amount_and_course_number():
    a = assess([*crs_on_pembrolizumab(), toci(26), toci(9, 600)], AT)
    doses = [d for d in a.timeline["doses"] if d["drug"] == "tocilizumab"]
    assert [(d["dose"], d.get("course")) for d in doses] == [
        ("640 mg", "dose 1 of 4"),
        ("600 mg", "dose 2 of 4"),
    ]


# -- Corticosteroids --------------------------------------------------------------------------


def pred(hours_before: float, mg: float) -> dict:
    return given("prednisone", hours_before, (mg, "mg"))


def daily(mg_by_day: dict[int, float], hour: int = 8) -> list[dict]:
    """Prednisone at 08:00 on each day before 20 Nov (0 = 20 Nov itself)."""
    return [pred(24 * d + (12 - hour), mg) for d, mg in mg_by_day.items()]


def taper(days_at_50: int) -> list[dict]:
    """60 mg/day for 7 days, then 50 mg/day for the last `days_at_50` days up to today."""
    first_50 = days_at_50 - 1
    doses = {d: 60.0 for d in range(first_50 + 7, first_50, -1)}
    doses.update({d: 50.0 for d in range(first_50, -1, -1)})
    return daily(doses)


def test_taper_day_4_at_one_step_down_is_on_the_asco_schedule():
    a = assess([patient(), weight(80), *taper(4)], AT)
    c = a.courses.corticosteroid
    assert c.drug == "prednisone" and c.pred_eq_per_day == 50 and c.peak_pred_eq_per_day == 60
    assert c.tapering and c.taper_start.date().isoformat() == "2026-11-17"
    assert c.day_of_course == 11
    assert "Tapering since 17 Nov (day 4)" in " | ".join(c.taper_lines)
    assert any(line.startswith("On the taper schedule") for line in c.taper_lines)


def test_taper_day_3_at_two_steps_down_is_faster_than_the_schedule():
    # 60 → 40 by taper day 3: ASCO's fastest is 10 mg every 3 days, so ≥50 mg is expected.
    doses = {d: 60.0 for d in range(9, 2, -1)}
    doses.update({2: 50.0, 1: 40.0, 0: 40.0})
    c = assess([patient(), weight(80), *daily(doses)], AT).courses.corticosteroid
    assert any("Faster than the taper schedule" in x for x in c.taper_lines)
    assert any("at least 50 mg/day expected today" in x for x in c.taper_lines)


def test_a_lower_prednisone_draft_that_is_the_next_taper_step_is_not_flagged():
    resources = [
        patient(),
        weight(80),
        given("pembrolizumab", 24 * 20, (200, "mg")),
        condition("G37.3", "Acute transverse myelitis", 24 * 12),
        *taper(4),
    ]
    a = assess(resources, AT)
    assert rec(a, "prednisone.taper").dose.value == 80  # 1 mg/kg/day × 80 kg
    # 50 now, one step of 10 mg: 40 mg/day continues the taper.
    assert (
        check_orders(draft_bundle(med_request("p", "prednisone", "8640", 40, per_day=1)), a, [])
        == []
    )
    assert (
        check_orders(draft_bundle(med_request("p", "prednisone", "8640", 50, per_day=1)), a, [])
        == []
    )
    # 30 mg/day skips a step: faster than the taper, corrected to the next step (40 mg).
    [f] = check_orders(draft_bundle(med_request("p", "prednisone", "8640", 30, per_day=1)), a, [])
    assert f.kind == "taper_too_fast" and f.corrected_dose_mg == 40
    # 36 mg/day is within the 10% rounding of the next step: accepted.
    assert (
        check_orders(draft_bundle(med_request("p", "prednisone", "8640", 36, per_day=1)), a, [])
        == []
    )


@pytest.mark.parametrize(("mg", "met"), [(10.0, True), (12.5, False)])
def test_the_resume_criterion_is_10_mg_per_day_or_less(mg, met):
    c = assess([patient(), weight(80), *daily({2: mg, 1: mg, 0: mg})], AT).courses.corticosteroid
    assert c.resume_met is met
    assert ("at or below 10 mg/day" in c.resume_text) is met


@pytest.mark.parametrize(
    ("mg", "days", "due"),
    [(20.0, 27, False), (20.0, 28, True), (30.0, 21, False), (35.0, 20, False), (35.0, 21, True)],
)
def test_pjp_prophylaxis_follows_cumulative_exposure(mg, days, due):
    c = assess(
        [patient(), weight(80), *daily({d: mg for d in range(days - 1, -1, -1)})], AT
    ).courses.corticosteroid
    assert c.pjp_due is due
    assert f"{days} day(s) at ≥20 mg/day" in c.pjp_text


def test_tablets_on_the_administration_record_are_read_through_the_strength():
    ma = given("prednisone", 4)
    ma["medicationCodeableConcept"] = {
        "coding": [{"system": RXNORM, "code": "312617", "display": "predniSONE 5 MG Oral Tablet"}]
    }
    ma["dosage"] = {"dose": {"value": 8, "unit": "{tbl}", "code": "{tbl}"}}
    c = assess([patient(), weight(80), ma], AT).courses.corticosteroid
    assert c.pred_eq_per_day == 40 and c.doses[0].mg == 40


def test_a_dose_every_6_hours_is_read_as_the_daily_total():
    # Dexamethasone 10 mg every 6 h = 40 mg/day = 266.7 mg prednisone-equivalent (Liu 2013).
    dex = [given("dexamethasone", h, (10, "mg"), by_text=True) for h in (28, 22, 16, 10, 4)]
    c = assess([patient(), weight(80), *dex], AT).courses.corticosteroid
    assert c.pred_eq_per_day == pytest.approx(266.67, abs=0.01)


def test_a_topical_corticosteroid_is_not_a_course():
    ma = given("hydrocortisone", 4, (10, "mg"), by_text=True)
    ma["dosage"]["route"] = {"text": "topical"}
    assert assess([patient(), weight(80), ma], AT).courses.corticosteroid is None


# -- Checkpoint inhibitor still ordered while it must be discontinued -------------------------


def pembro_order(status: str = "active", hours_before: float = -24 * 7) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": "mr-next",
        "status": status,
        "intent": "order",
        "authoredOn": iso(hours_before),
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "1547545"}]},
    }


@pytest.mark.parametrize(
    ("status", "kind"), [("active", "scheduled dose"), ("draft", "draft order")]
)
def test_patient_view_says_discontinue_while_a_checkpoint_inhibitor_is_still_ordered(status, kind):
    resources = [
        patient(),
        weight(80),
        given("pembrolizumab", 24 * 20, (200, "mg")),
        condition("G37.3", "Acute transverse myelitis", 24 * 2),
        pembro_order(status),
    ]
    a = assess(resources, AT, with_timeline=False)
    assert [(o.drug, o.kind) for o in a.courses.checkpoint_orders] == [("pembrolizumab", kind)]
    cc = CardContext(service_id="immunotox-patient-view", patient_id="p1", base_url="https://x")
    cards = [c.to_dict() for c in assessment_cards(a, cc)]
    assert cards[0]["indicator"] == "critical"
    assert "permanently discontinue; pembrolizumab still ordered" in cards[0]["summary"]
    assert f"- pembrolizumab: {kind}, " in cards[0]["detail"]
    assert "mr-next" not in cards[0]["detail"]  # no internal ids on a card


def test_a_hold_with_a_pending_order_gets_no_discontinue_card():
    resources = [
        patient(),
        weight(80),
        given("pembrolizumab", 24 * 20, (200, "mg")),
        condition("L27.0", "Drug eruption, 20% BSA", 24 * 2),
        pembro_order(),
    ]
    a = assess(resources, AT, with_timeline=False)
    cc = CardContext(service_id="immunotox-patient-view", patient_id="p1", base_url="https://x")
    assert all(c.kind != "checkpoint-order-pending" for c in assessment_cards(a, cc))


def statement(text: str, start_h: float, end_h: float | None, status: str, dosage: dict) -> dict:
    period = {"start": iso(start_h)} | ({"end": iso(end_h)} if end_h is not None else {})
    return {
        "resourceType": "MedicationStatement",
        "id": f"ms-{start_h}",
        "status": status,
        "medicationCodeableConcept": {"text": text},
        "effectivePeriod": period,
        "dosage": [dosage],
    }


def test_an_order_and_a_statement_of_the_same_course_are_counted_once():
    tablets = {
        "doseAndRate": [{"doseQuantity": {"value": 8, "unit": "{tbl}", "code": "{tbl}"}}],
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
    }
    order = {
        "resourceType": "MedicationRequest",
        "id": "mr-pred",
        "status": "active",
        "intent": "order",
        "authoredOn": iso(24 * 6),
        "medicationCodeableConcept": {
            "coding": [
                {"system": RXNORM, "code": "312617", "display": "predniSONE 5 MG Oral Tablet"}
            ]
        },
        "dosageInstruction": [tablets],
    }
    ms = statement("predniSONE 5 MG Oral Tablet", 24 * 6, None, "active", tablets)
    c = assess([patient(), weight(80), order, ms], AT).courses.corticosteroid
    assert c.pred_eq_per_day == 40  # 8 × 5 mg, not 80
    assert {mg for _d, mg in c.daily} == {40.0}


def test_a_sig_written_as_text_is_read_with_its_frequency():
    # "methylprednisolone 80 mg IV q12h" for the last 3 days: 160 mg/day = 200 mg prednisone.
    ms = statement(
        "methylprednisolone", 24 * 3, None, "active", {"text": "methylprednisolone 80 mg IV q12h"}
    )
    c = assess([patient(), weight(80), ms], AT).courses.corticosteroid
    assert c.pred_eq_per_day == 200
    # A taper written out in words has several amounts: not guessed, said.
    words = statement(
        "prednisone", 24 * 3, None, "active", {"text": "40 mg daily for 7 days, then 30 mg daily"}
    )
    c = assess([patient(), weight(80), words], AT).courses.corticosteroid
    assert c.pred_eq_per_day is None
    assert "could not be read in mg" in c.taper_lines[1]


def test_a_running_taper_after_an_irae_gets_an_info_card_at_patient_view():
    # No active irAE, nivolumab 30 days ago, prednisone 40 mg/day for 4 weeks: taper, resume
    # criterion not met, PJP threshold (≥20 mg/day for ≥28 days) reached.
    resources = [
        patient(),
        weight(80),
        given("nivolumab", 24 * 30, (480, "mg")),
        *daily({d: 40.0 for d in range(27, -1, -1)}),
    ]
    a = assess(resources, AT, with_timeline=False)
    cc = CardContext(service_id="immunotox-patient-view", patient_id="p1", base_url="https://x")
    [card] = [c.to_dict() for c in assessment_cards(a, cc)]
    assert card["indicator"] == "info"
    assert card["summary"] == (
        "Prednisone course day 28, 40 mg/day prednisone-equivalent; do not resume nivolumab "
        "yet; PJP prophylaxis threshold reached"
    )


def test_corticosteroids_for_car_t_crs_get_no_irae_taper_or_resume_rule():
    # CAR T cells, dexamethasone 10 mg every 6 h: Lee 2014 tapers within days; nothing to resume.
    dex = [given("dexamethasone", h, (10, "mg"), by_text=True) for h in (22, 16, 10, 4)]
    resources = [patient(), weight(80), given("axicabtagene ciloleucel", 24 * 4, by_text=True)]
    c = assess([*resources, *dex], AT).courses.corticosteroid
    assert c.resume_met is None and c.resume_text.startswith("Not applicable")
    assert "taper quickly, generally within several days" in c.taper_lines[1]
    assert not any("4-6 weeks" in x for x in c.taper_lines)


def test_a_single_dose_more_than_24_h_ago_is_not_a_current_dose():
    # Dexamethasone 16 mg premedication 28 h ago: given, but nothing now.
    dex = given("dexamethasone", 28, (16, "mg"), by_text=True)
    c = assess([patient(), weight(80), dex], AT).courses.corticosteroid
    assert c.pred_eq_per_day == 0 and "none in the last 24 hours" in c.taper_lines[0]
    assert not c.tapering


# -- Tocilizumab ordered, not yet charted given --------------------------------------------------


def toci_order(hours_before: float, status: str = "active", mg: float = 640) -> dict:
    """A point-in-time tocilizumab MedicationRequest: authoredOn only, no timing."""
    return {
        "resourceType": "MedicationRequest",
        "id": f"mr-toci-{hours_before}-{status}",
        "status": status,
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "612865"}],
            "text": "tocilizumab",
        },
        "authoredOn": iso(hours_before),
        "dosageInstruction": [
            {"doseAndRate": [{"doseQuantity": {"value": mg, "unit": "mg", "code": "mg"}}]}
        ],
    }


@pytest.mark.parametrize("status", ["active", "completed"])
def test_an_order_not_yet_charted_given_counts_as_a_dose_for_8_hours(status):
    # Ordered 7 h 59 min ago, nothing charted: no second dose, nothing urgent.
    a = assess([*crs_on_pembrolizumab(), toci_order(7 + 59 / 60, status)], AT)
    c = a.courses.tocilizumab
    assert c.status == "wait" and c.given == 1 and c.doses[0].ordered
    line = rec(a, "tocilizumab.label")
    assert line.dose is None and line.urgency == "routine"
    assert (
        "dose 1 of 4 ordered at 04:01 (20 Nov), not yet charted given; the next not before "
        "12:01 (20 Nov)"
    ) in line.text
    assert not any(r.drug == "tocilizumab" and r.dose for r in a.recommendations)
    # 8 h after the order the label allows the next dose.
    later = assess([*crs_on_pembrolizumab(), toci_order(8, status)], AT)
    assert later.courses.tocilizumab.status == "due"
    assert rec(later, "tocilizumab.label").dose.value == 640  # 8 mg/kg × 80 kg


def test_an_order_charted_as_given_is_one_dose_not_two():
    # Ordered 10 h ago, the administration charted 9 h ago: one dose, given at 03:00.
    a = assess([*crs_on_pembrolizumab(), toci_order(10), toci(9)], AT)
    c = a.courses.tocilizumab
    assert c.given == 1 and not c.doses[0].ordered
    assert "dose 1 of 4 given at 03:00 (20 Nov)" in rec(a, "tocilizumab.label").text
    # A second order 2 h ago with nothing charted after it: dose 2, ordered, wait until 18:00.
    b = assess([*crs_on_pembrolizumab(), toci_order(10), toci(9), toci_order(2)], AT)
    c = b.courses.tocilizumab
    assert c.given == 2 and c.doses[-1].ordered and c.status == "wait"
    assert "dose 2 of 4 ordered at 10:00 (20 Nov), not yet charted given" in c.text
    assert "the next not before 18:00 (20 Nov)" in c.text


def test_a_stopped_or_cancelled_order_is_not_a_dose():
    for status in ("stopped", "cancelled", "entered-in-error"):
        a = assess([*crs_on_pembrolizumab(), toci_order(2, status)], AT)
        assert a.courses.tocilizumab is None, status


@pytest.mark.parametrize(("last_fever_h", "status"), [(30, "improving"), (3, "due")])
def test_no_further_tocilizumab_dose_is_offered_once_no_crs_is_graded(last_fever_h, status):
    # CAR T cells 5 days ago, one dose 20 h ago; fever 39.4 °C last charted 30 h ago (outside
    # the 24-hour grading window: no CRS now) or 3 h ago (CRS grade 1 now).
    resources = [patient(), weight(80), given("tisagenlecleucel", 24 * 5, by_text=True)]
    resources += [temp(39.4, hours_before=last_fever_h), temp(37.0, hours_before=1), toci(20)]
    c = assess(resources, AT).courses.tocilizumab
    assert c.status == status
    assert ("no CRS graded now: no further dose" in c.text) is (status == "improving")
