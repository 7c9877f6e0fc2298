"""Card builders: pure functions from hand-built Assessments to cards."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from fhir.resources.R4B.medicationrequest import MedicationRequest
from fhir.resources.R4B.servicerequest import ServiceRequest

from cds_hooks.cards import CardContext, assessment_cards, md, order_cards, problem_list_cards
from cds_hooks.pipeline import view_inputs
from cds_hooks.spec import response
from services.knowledge.sources import RULESET_VERSION
from services.model import Dose, Recommendation
from tests.unit.cds_hooks.fixtures import (
    AT,
    PID,
    assessment,
    bundle,
    check_response,
    condition,
    exposure,
    finding,
    med_request,
    observation,
    rec_consult,
    rec_ivig,
    rec_mp,
    rec_toci,
)

BASE = "https://immunotox.example"


def ctx(**kw) -> CardContext:
    return CardContext(service_id="immunotox-patient-view", patient_id=PID, base_url=BASE, **kw)


def cards_of(built) -> list[dict]:
    return check_response(response(built))


# -- patient-view / encounter-start ------------------------------------------------------------


def test_no_immunotherapy_exposure_means_no_card_even_with_a_grade():
    a = assessment({"lee2014": 3}, exposures=[exposure("tocilizumab", "anti_cytokine")])
    assert assessment_cards(a, ctx()) == []


def test_exposed_without_grade_or_irae_means_no_card():
    assert assessment_cards(assessment(), ctx()) == []


@pytest.mark.parametrize(
    ("g", "indicator"), [(1, "info"), (2, "warning"), (3, "critical"), (4, "critical")]
)
def test_indicator_follows_the_highest_crs_grade(g, indicator):
    a = assessment(
        {"lee2014": g - 1, "astct2019": g, "ctcae5": None},
        exposures=[exposure("tisagenlecleucel", "cellular_therapy")],
    )
    [card] = cards_of(assessment_cards(a, ctx()))
    assert card["indicator"] == indicator
    assert f"CRS grade {g} (ASTCT 2019)" in card["summary"]


def test_an_irae_with_a_stop_action_names_it_in_the_summary_and_is_at_least_a_warning():
    a = assessment(irae=[finding(g=1, action="hold", label="Colitis", kind="colitis")])
    [card] = cards_of(assessment_cards(a, ctx()))
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("Hold pembrolizumab (Colitis grade 1)")


def test_summary_stays_under_140_characters_with_long_labels():
    a = assessment(
        {"lee2014": 3}, irae=[finding(label="A very long label " * 12)], recs=[rec_toci()]
    )
    [card] = cards_of(assessment_cards(a, ctx()))
    assert len(card["summary"]) < 140 and card["summary"].endswith("…")


def test_detail_is_short_grades_on_one_line_urgent_actions_missing_and_one_disclaimer_line():
    a = assessment(
        {"lee2014": 3, "astct2019": 2, "ctcae5": None},
        irae=[finding()],
        recs=[rec_toci(800, capped=True), rec_mp(), rec_consult()],
    )
    [card] = cards_of(assessment_cards(a, ctx()))
    d = card["detail"]
    assert len(d) <= 1200
    # the grade per system on one line, the plan's system first
    assert "**CRS**: **grade 2** (ASTCT 2019, plan), Lee 2014 grade 3, CTCAE v5.0 not gradable" in d
    assert "**irAE**: Acute transverse myelitis grade 3: **discontinue**" in d
    assert "**Tocilizumab 800 mg IV**" in d and "capped at 800 mg per dose (label)" in d
    assert "doses for 70 kg" in d
    assert "**Missing**: FiO2 (Lee 2014, ASTCT 2019, CTCAE v5.0)" in d
    assert d.count("not a diagnosis") == 1 and len(d.split("---")[-1]) < 200
    assert RULESET_VERSION in card["source"]["label"]
    assert card["source"]["topic"]["code"] == "crs"


def test_suggestions_are_at_most_four_one_per_decision_most_urgent_first():
    toci_alt = replace(rec_toci(280), id="tocilizumab.lee2014", alternative_to="tocilizumab.label")
    routine = replace(
        rec_consult(), id="consult.derm", service="Dermatology consult", urgency="routine"
    )
    later = replace(rec_ivig(), id="ivig.later", when="if steroid-refractory")
    mp, toci, ivig = (replace(r, urgency="urgent") for r in (rec_mp(), rec_toci(), rec_ivig()))
    recs = [routine, rec_consult(), mp, later, toci, toci_alt, ivig]
    a = assessment({"lee2014": 3}, irae=[finding()], recs=recs)
    [card] = cards_of(assessment_cards(a, ctx()))
    labels = [s["label"] for s in card["suggestions"]]
    # urgent dosed drugs first (in the plan's order), then urgent services; the alternative
    # (tocilizumab by Lee 2014) and the later step are not offered; the routine consult is fifth
    assert labels == [
        "Order methylprednisolone 70-140 mg/day IV",
        "Order tocilizumab 560 mg IV",
        "Order immune globulin 140 g IV",
        "Request Neurology consult",
    ]
    assert all(s["isRecommended"] for s in card["suggestions"])
    assert "or tocilizumab 280 mg IV" in card["detail"]  # the alternative is in the detail


def test_stale_or_missing_weight_is_said():
    a = assessment({"lee2014": 2}, recs=[rec_toci()], weight=None)
    [card] = cards_of(assessment_cards(a, ctx()))
    assert "weight (no weight-based doses)" in card["detail"]
    a = assessment({"lee2014": 2}, recs=[rec_toci()])
    a.weight = replace(a.weight, stale=True)
    assert "stale" in cards_of(assessment_cards(a, ctx()))[0]["detail"]


def test_suggestions_carry_complete_r4_resources_with_any_selection():
    a = assessment(
        {"lee2014": 3}, irae=[finding()], recs=[rec_toci(), rec_mp(), rec_ivig(), rec_consult()]
    )
    [card] = cards_of(assessment_cards(a, ctx(encounter_id="enc-9")))
    assert card["selectionBehavior"] == "any"
    by_label = {s["label"]: s["actions"][0] for s in card["suggestions"]}
    toci = by_label["Order tocilizumab 560 mg IV"]
    assert toci["type"] == "create"
    mr = toci["resource"]
    MedicationRequest.model_validate(mr)  # a valid FHIR R4 resource
    dose = mr["dosageInstruction"][0]
    assert dose["doseAndRate"][0]["doseQuantity"] == {
        "value": 560.0,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    assert dose["route"] == {"text": "IV"} and dose["timing"] == {"repeat": {"count": 1}}
    assert mr["medicationCodeableConcept"]["coding"][0]["code"] == "612865"
    assert (
        mr["subject"] == {"reference": f"Patient/{PID}"}
        and mr["encounter"]["reference"] == "Encounter/enc-9"
    )
    mp = by_label["Order methylprednisolone 70-140 mg/day IV"]["resource"]
    MedicationRequest.model_validate(mp)
    rng = mp["dosageInstruction"][0]["doseAndRate"][0]["doseRange"]
    assert (rng["low"]["value"], rng["high"]["value"], rng["high"]["code"]) == (70.0, 140.0, "mg")
    assert mp["dosageInstruction"][0]["timing"]["repeat"] == {
        "frequency": 1,
        "period": 1,
        "periodUnit": "d",
    }
    assert mp["reasonCode"] == [{"text": "Acute transverse myelitis"}]
    ivig = by_label["Order immune globulin 140 g IV"]["resource"]
    MedicationRequest.model_validate(ivig)
    assert ivig["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["code"] == "g"
    sr = by_label["Request Neurology consult"]["resource"]
    ServiceRequest.model_validate(sr)
    assert sr["priority"] == "urgent" and sr["code"] == {"text": "Neurology consult"}


def test_recommendations_without_a_dose_get_no_order_suggestion():
    rec = replace(rec_toci(), dose=None, dose_missing_reason="no weight")
    [card] = cards_of(assessment_cards(assessment({"lee2014": 2}, recs=[rec]), ctx()))
    assert "suggestions" not in card and "no dose: no weight" in card["detail"]


def test_smart_link_carries_patient_and_time_in_app_context():
    [card] = cards_of(assessment_cards(assessment({"lee2014": 1}), ctx()))
    [link] = card["links"]
    assert link["type"] == "smart" and link["url"] == f"{BASE}/smart/launch"
    assert json.loads(link["appContext"]) == {"patient": PID, "at": AT.isoformat()}


def test_fhir_text_cannot_inject_markup():
    a = assessment(irae=[finding(label="<script>alert(1)</script> **x** [l](http://e.x)")])
    [card] = cards_of(assessment_cards(a, ctx()))
    d = card["detail"]
    assert "<script>" not in d and "&lt;script&gt;" in d
    assert "**x**" not in d and "\\*\\*x\\*\\*" in d
    assert "[l](http" not in d


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<b>", "&lt;b&gt;"),
        ("**x**", "\\*\\*x\\*\\*"),
        ("# h", "\\# h"),
        ("1. x", "1\\. x"),
        ("a\nb", "a b"),
        ("0.5 mg/kg", "0.5 mg/kg"),
        ("a|b", "a\\|b"),
    ],
)
def test_md_escapes(raw, escaped):
    assert md(raw) == escaped


def test_degraded_data_is_named_on_the_card():
    a = assessment({"lee2014": 2})
    [card] = cards_of(assessment_cards(a, ctx(unavailable={"observations": "timed out"})))
    assert "could not be fetched" in card["detail"] and "observations: timed out" in card["detail"]


def test_exposed_with_nothing_found_but_degraded_data_says_the_check_is_incomplete():
    [card] = cards_of(
        assessment_cards(assessment(), ctx(unavailable={"observations": "timed out"}))
    )
    assert card["indicator"] == "info" and "incomplete" in card["summary"]


# -- order-select / order-sign ----------------------------------------------------------------


def octx(a, drafts, resources=(), hook="order-sign", **context) -> CardContext:
    """An order hook's card context: what the pipeline makes of `draftOrders` for `a`."""
    ctx = {"draftOrders": bundle(*drafts), **context}
    return CardContext(
        service_id=f"immunotox-{hook}",
        patient_id=PID,
        base_url=BASE,
        **view_inputs(hook, ctx, a, list(resources)),
    )


def plctx(a, *conditions) -> CardContext:
    """A problem-list-item-create card context for the conditions being added."""
    return CardContext(
        service_id="immunotox-problem-list",
        patient_id=PID,
        base_url=BASE,
        **view_inputs("problem-list-item-create", {"conditions": bundle(*conditions)}, a, []),
    )


def test_checkpoint_inhibitor_draft_under_a_discontinue_finding_is_critical_with_delete():
    a = assessment(irae=[finding()])
    [card] = cards_of(order_cards(a, octx(a, [med_request("d1", "Keytruda 200 mg", value=200)])))
    assert card["indicator"] == "critical"
    assert "Discontinue pembrolizumab" in card["summary"]
    assert "**Acute transverse myelitis** grade 3 (" in card["detail"]
    [s] = card["suggestions"]
    assert s["actions"] == [
        {
            "type": "delete",
            "description": s["actions"][0]["description"],
            "resourceId": "MedicationRequest/d1",
        }
    ]
    assert card["overrideReasons"] and all(r["display"] for r in card["overrideReasons"])


def test_checkpoint_inhibitor_draft_with_a_continue_finding_is_not_blocked():
    a = assessment(irae=[finding(g=1, action="continue")])
    obs = [
        observation(f"o{i}", code, AT - timedelta(days=3))
        for i, code in enumerate(
            ["718-7", "2160-0", "1742-6", "2345-7", "3016-3", "2157-6", "10839-9"]
        )
    ]
    obs.append(observation("o9", "xx", AT - timedelta(days=3), text="Hepatitis B surface antigen"))
    assert order_cards(a, octx(a, [med_request("d1", "pembrolizumab", "1547545", 200)], obs)) == []


def test_tocilizumab_draft_off_plan_gets_an_update_to_the_plan_dose():
    a = assessment({"lee2014": 3}, recs=[rec_toci(560)])
    draft = med_request("t1", "tocilizumab", "612865", 400)
    [card] = cards_of(order_cards(a, octx(a, [draft])))
    assert card["indicator"] == "warning" and "differs from the plan" in card["summary"]
    action = card["suggestions"][0]["actions"][0]
    assert action["type"] == "update" and action["resource"]["id"] == "t1"
    MedicationRequest.model_validate(action["resource"])
    assert (
        action["resource"]["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 560
    )
    assert (
        draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"]["value"] == 400
    )  # untouched


# The draft the CDS Hooks sandbox (cds-hooks/sandbox) sends from Rx View / Rx Sign for
# "Prednisone 20 MG Oral Tablet", number 1, daily: a count in the UCUM annotation `{pill}`
# (code only, no unit), RxNorm clinical drug 312615, dose under doseAndRate.
SANDBOX_PREDNISONE_DRAFT = {
    "resourceType": "MedicationRequest",
    "id": "request-123",
    "status": "draft",
    "subject": {"reference": f"Patient/{PID}"},
    "authoredOn": "2026-12-01",
    "dosageInstruction": [
        {
            "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [
                {
                    "doseQuantity": {
                        "value": 1,
                        "system": "http://unitsofmeasure.org",
                        "code": "{pill}",
                    }
                }
            ],
        }
    ],
    "dispenseRequest": {
        "expectedSupplyDuration": {
            "value": 30,
            "unit": "days",
            "system": "http://unitsofmeasure.org",
            "code": "d",
        }
    },
    "intent": "order",
    "category": {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                "code": "community",
            }
        ]
    },
    "medicationCodeableConcept": {
        "text": "Prednisone 20 MG Oral Tablet",
        "coding": [
            {
                "display": "Prednisone 20 MG Oral Tablet",
                "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                "code": "312615",
            }
        ],
    },
}


def rec_prednisone(value: float) -> Recommendation:
    return Recommendation(
        "prednisone.asco",
        "immunosuppression",
        "Prednisone 1 mg/kg/day by mouth",
        ("asco2021: general recommendations",),
        drug="prednisone",
        dose=Dose("mg/d", value=value, basis="1 mg/kg/d x 70 kg"),
        route="PO",
        frequency="daily",
        for_irae=("transverse_myelitis",),
    )


def test_a_tablet_count_draft_as_the_cds_hooks_sandbox_sends_it_reads_in_tablets_and_mg():
    a = assessment(irae=[finding(action="hold")], recs=[rec_prednisone(70)])
    [card] = cards_of(order_cards(a, octx(a, [SANDBOX_PREDNISONE_DRAFT], hook="order-select")))
    # 1 tablet of 20 mg a day against 70 mg/day: off plan.
    assert card["indicator"] == "warning"
    assert card["summary"].startswith("prednisone 1 tablet (20 mg) differs from the plan (70 mg")
    assert (
        "Drafted: **prednisone 1 tablet (20 mg)** per dose. Plan for 70 kg: **70 mg**"
        in (card["detail"])
    )
    assert "{pill}" not in card["summary"] + card["detail"]


@pytest.mark.parametrize(
    ("quantity", "shown"),
    [
        ({"value": 2, "code": "{pill}"}, "prednisone 2 tablets (40 mg)"),
        ({"value": 1, "unit": "capsule", "code": "{capsule}"}, "prednisone 1 capsule (20 mg)"),
        ({"value": 1, "code": "{pill}", "unit": "tablet"}, "prednisone 1 tablet (20 mg)"),
    ],
)
def test_tablet_and_capsule_counts_are_shown_in_words(quantity, shown):
    draft = json.loads(json.dumps(SANDBOX_PREDNISONE_DRAFT))
    draft["dosageInstruction"][0]["doseAndRate"][0]["doseQuantity"] = quantity
    a = assessment(irae=[finding(action="hold")], recs=[rec_prednisone(70)])
    [card] = cards_of(order_cards(a, octx(a, [draft], hook="order-select")))
    assert card["summary"].startswith(shown)


def test_tocilizumab_above_the_cap_says_so():
    # 110 kg: 8 mg/kg is 880 mg, capped at 800 mg per infusion (label).
    a = assessment({"lee2014": 3}, recs=[rec_toci(800, capped=True)], weight=110)
    [card] = cards_of(order_cards(a, octx(a, [med_request("t1", "Actemra", None, 900)])))
    assert "exceeds the maximum" in card["summary"]
    assert (
        card["suggestions"][0]["actions"][0]["resource"]["dosageInstruction"][0]["doseAndRate"][0][
            "doseQuantity"
        ]["value"]
        == 800
    )


def test_a_draft_on_plan_gets_no_card():
    a = assessment({"lee2014": 3}, recs=[rec_toci(560)])
    assert order_cards(a, octx(a, [med_request("t1", "tocilizumab", "612865", 560)])) == []


def test_first_checkpoint_inhibitor_without_baseline_labs_gets_an_info_card_with_citations():
    a = assessment(exposures=[])
    [card] = cards_of(order_cards(a, octx(a, [med_request("d1", "nivolumab", "1597876", 240)])))
    assert card["indicator"] == "info" and "Baseline work-up" in card["summary"]
    assert "TSH and free T4" in card["detail"] and "SITC 2017" in card["detail"]


# -- problem-list-item-create -----------------------------------------------------------------


def test_problem_list_irae_for_a_patient_on_a_checkpoint_inhibitor_gets_the_irae_card():
    a = assessment(
        irae=[finding(), finding("rash", "Maculopapular rash", 2, "hold")],
        recs=[rec_mp(), rec_toci()],
    )
    cc = plctx(a, condition("c9", "G37.3", "Acute transverse myelitis"))
    [card] = cards_of(problem_list_cards(a, cc))
    assert card["summary"].startswith(
        "Discontinue pembrolizumab (Acute transverse myelitis grade 3)"
    )
    assert "Maculopapular" not in card["detail"]  # only the matching irAE
    assert [s["label"] for s in card["suggestions"]] == [
        "Order methylprednisolone 70-140 mg/day IV"
    ]


def test_problem_list_without_checkpoint_inhibitor_exposure_gets_nothing():
    a = assessment(irae=[finding()], exposures=[exposure("tisagenlecleucel", "cellular_therapy")])
    assert problem_list_cards(a, plctx(a, condition("c9", "G37.3", "myelitis"))) == []


def test_problem_list_non_irae_condition_gets_nothing():
    a = assessment(irae=[finding()])
    assert problem_list_cards(a, plctx(a, condition("c9", "E11.9", "Type 2 diabetes"))) == []


def test_order_select_answers_only_for_the_selected_drafts():
    a = assessment(irae=[finding()])
    drafts = [
        med_request("d1", "pembrolizumab", "1547545", 200),
        med_request("d2", "nivolumab", "1597876", 240),
    ]
    cc = octx(a, drafts, hook="order-select", selections=["MedicationRequest/d2"])
    [card] = cards_of(order_cards(a, cc))
    assert card["suggestions"][0]["actions"][0]["resourceId"] == "MedicationRequest/d2"
