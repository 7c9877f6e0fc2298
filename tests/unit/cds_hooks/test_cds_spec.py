"""The specification's MUST rules, as enforced by the wire models."""

from __future__ import annotations

import pytest

from cds_hooks.spec import (
    Action,
    Card,
    Coding,
    HookRequest,
    Link,
    Source,
    SpecError,
    Suggestion,
    parse_feedback,
    response,
)
from tests.unit.cds_hooks.fixtures import check_card_rules, hook_body

SRC = Source("immunotox")


def _field(exc: pytest.ExceptionInfo[SpecError]) -> str:
    return exc.value.field


def test_a_valid_card_serialises_and_passes_the_independent_rule_check():
    card = Card(
        "CRS grade 2",
        "warning",
        SRC,
        detail="**x**",
        suggestions=(
            Suggestion("Order", (Action("create", "d", resource={"resourceType": "X"}),)),
        ),
        selection_behavior="any",
        override_reasons=(Coding("urn:x", "a", "A"),),
        links=(Link("App", "https://app.example/launch", "smart", '{"a":1}'),),
    )
    check_card_rules(card.to_dict())


@pytest.mark.parametrize("summary", ["", "x" * 140, "y" * 200])
def test_summary_must_be_present_and_under_140_characters(summary):
    with pytest.raises(SpecError) as e:
        Card(summary, "info", SRC).to_dict()
    assert _field(e) == "card.summary"


def test_a_139_character_summary_is_accepted():
    assert len(Card("x" * 139, "info", SRC).to_dict()["summary"]) == 139


def test_indicator_must_be_info_warning_or_critical():
    with pytest.raises(SpecError) as e:
        Card("s", "urgent", SRC).to_dict()
    assert _field(e) == "card.indicator"


def test_source_needs_a_label_and_absolute_urls():
    with pytest.raises(SpecError) as e:
        Card("s", "info", Source("")).to_dict()
    assert _field(e) == "card.source.label"
    with pytest.raises(SpecError) as e:
        Card("s", "info", Source("l", url="/relative")).to_dict()
    assert _field(e) == "card.source.url"


def test_suggestions_require_selection_behavior():
    with pytest.raises(SpecError) as e:
        Card("s", "info", SRC, suggestions=(Suggestion("x"),)).to_dict()
    assert _field(e) == "card.selectionBehavior"


def test_at_most_one_allows_only_one_recommended_suggestion():
    sugg = (Suggestion("a", is_recommended=True), Suggestion("b", is_recommended=True))
    with pytest.raises(SpecError):
        Card("s", "info", SRC, suggestions=sugg, selection_behavior="at-most-one").to_dict()
    Card("s", "info", SRC, suggestions=sugg, selection_behavior="any").to_dict()


@pytest.mark.parametrize(
    ("action", "field"),
    [
        (Action("replace", "d", resource={"resourceType": "X"}), "type"),
        (Action("create", "", resource={"resourceType": "X"}), "description"),
        (Action("create", "d"), "resource"),
        (Action("update", "d", resource={"resourceType": "X"}), "resource.id"),
        (Action("delete", "d"), "resourceId"),
        (Action("delete", "d", resource_id="not a reference"), "resourceId"),
    ],
)
def test_action_rules(action, field):
    with pytest.raises(SpecError) as e:
        action.to_dict("a")
    assert _field(e) == f"a.{field}"


def test_delete_with_a_relative_reference_is_valid():
    assert Action("delete", "d", resource_id="MedicationRequest/m-1").to_dict()["resourceId"] == (
        "MedicationRequest/m-1"
    )


def test_app_context_is_only_valid_on_smart_links():
    with pytest.raises(SpecError) as e:
        Link("x", "https://a.example", "absolute", "{}").to_dict()
    assert _field(e) == "link.appContext"
    with pytest.raises(SpecError):
        Link("x", "https://a.example", "web").to_dict()


def test_override_reasons_need_a_display():
    with pytest.raises(SpecError) as e:
        Card("s", "info", SRC, override_reasons=(Coding("urn:x", "a"),)).to_dict()
    assert _field(e) == "card.overrideReasons[0].display"


def test_cards_and_suggestions_carry_distinct_uuids():
    out = response([Card("a", "info", SRC), Card("b", "info", SRC)])
    assert out["cards"][0]["uuid"] != out["cards"][1]["uuid"]
    dup = Suggestion("x", uuid="0b9c1e2a-3f4d-4e5f-8a6b-7c8d9e0f1a2b")
    with pytest.raises(SpecError):
        Card("s", "info", SRC, suggestions=(dup, dup), selection_behavior="any").to_dict()


# -- requests ---------------------------------------------------------------------------------


def test_a_valid_request_parses_without_copying_the_prefetch():
    body = hook_body()
    req = HookRequest.parse(body, "patient-view")
    assert req.patient_id == "pat-1" and req.prefetch is body["prefetch"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b.pop("hook"), "hook"),
        (lambda b: b.update(hook="order-sign"), "hook"),
        (lambda b: b.update(hookInstance="123"), "hookInstance"),
        (lambda b: b.pop("context"), "context"),
        (lambda b: b["context"].pop("patientId"), "context.patientId"),
        (lambda b: b["context"].pop("userId"), "context.userId"),
        (lambda b: b["context"].update(patientId="../../x"), "context.patientId"),
        (lambda b: b.update(fhirServer="ftp://x"), "fhirServer"),
        (lambda b: b.update(prefetch=[1]), "prefetch"),
        (
            lambda b: b.update(
                fhirAuthorization={
                    "access_token": "t",
                    "token_type": "Bearer",
                    "expires_in": 1,
                    "scope": "s",
                    "subject": "x",
                }
            ),
            "fhirServer",
        ),
    ],
)
def test_request_violations_name_the_field(mutate, field):
    body = hook_body()
    mutate(body)
    with pytest.raises(SpecError) as e:
        HookRequest.parse(body, "patient-view")
    assert _field(e) == field


def test_fhir_authorization_must_be_bearer_with_all_fields():
    body = hook_body(fhir_server="https://f.example", token="t")
    body["fhirAuthorization"]["token_type"] = "MAC"
    with pytest.raises(SpecError) as e:
        HookRequest.parse(body)
    assert _field(e) == "fhirAuthorization.token_type"
    body = hook_body(fhir_server="https://f.example", token="t")
    del body["fhirAuthorization"]["expires_in"]
    with pytest.raises(SpecError) as e:
        HookRequest.parse(body)
    assert _field(e) == "fhirAuthorization.expires_in"


def test_the_token_never_appears_in_the_request_repr():
    req = HookRequest.parse(hook_body(fhir_server="https://f.example", token="s3cret-token"))
    assert "s3cret-token" not in repr(req)


def test_order_hooks_need_draft_orders_as_a_bundle():
    body = hook_body("order-sign", draftOrders={"resourceType": "MedicationRequest"})
    with pytest.raises(SpecError) as e:
        HookRequest.parse(body, "order-sign")
    assert _field(e) == "context.draftOrders"


# -- feedback ---------------------------------------------------------------------------------


def test_feedback_items_parse():
    items = parse_feedback(
        {
            "feedback": [
                {
                    "card": "c1",
                    "outcome": "accepted",
                    "acceptedSuggestions": [{"id": "s1"}],
                    "outcomeTimestamp": "2026-11-20T12:00:00Z",
                },
                {
                    "card": "c2",
                    "outcome": "overridden",
                    "outcomeTimestamp": "2026-11-20T12:00:00Z",
                    "overrideReason": {
                        "reason": {"system": "urn:x", "code": "r"},
                        "userComment": "no",
                    },
                },
            ]
        }
    )
    assert items[0].accepted_suggestions == ("s1",)
    assert items[1].override_reason.code == "r" and items[1].user_comment == "no"


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"outcome": "accepted"}, "feedback[0].card"),
        (
            {"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-11-20T12:00:00Z"},
            "feedback[0].outcome",
        ),
        (
            {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-11-20T12:00:00Z"},
            "feedback[0].acceptedSuggestions",
        ),
        ({"card": "c", "outcome": "overridden"}, "feedback[0].outcomeTimestamp"),
        (
            {"card": "c", "outcome": "overridden", "outcomeTimestamp": "yesterday"},
            "feedback[0].outcomeTimestamp",
        ),
        (
            {
                "card": "c",
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-20T12:00:00Z",
                "overrideReason": {"reason": {"code": "x"}},
            },
            "feedback[0].overrideReason.reason.system",
        ),
    ],
)
def test_feedback_violations_name_the_field(item, field):
    with pytest.raises(SpecError) as e:
        parse_feedback({"feedback": [item]})
    assert _field(e) == field


def test_feedback_must_be_a_non_empty_array():
    with pytest.raises(SpecError) as e:
        parse_feedback({"feedback": []})
    assert _field(e) == "feedback"
