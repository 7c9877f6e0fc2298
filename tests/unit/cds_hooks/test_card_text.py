"""What a clinician reads on the cards of every demo patient through every hook."""

from __future__ import annotations

import pytest

from tests.unit.cds_hooks.demo_calls import all_cards
from tests.unit.cds_hooks.test_cds_http import make_app


@pytest.fixture(scope="module")
def demo_cards(tmp_path_factory):
    from unittest import mock

    from services.timeutil import parse_instant

    anchor = parse_instant("2026-11-20T12:00:00Z")  # the demo data ends here
    with mock.patch("services.assess.now", lambda: anchor):
        client = make_app(tmp_path_factory.mktemp("cards")).test_client()
        return list(all_cards(client))


def test_every_demo_patient_and_hook_is_answered(demo_cards):
    patients = {p for p, _, _ in demo_cards}
    assert "seed-pembrolizumab" in patients and len(patients) >= 8


def test_assessment_cards_read_in_ten_seconds(demo_cards):
    """Chart cards (not the order checks, which keep their own layout): about 1,200
    characters, at most four suggestions, one short disclaimer line."""
    chart = [(p, h, c) for p, h, c in demo_cards if not h.startswith("order-")]
    assert chart
    for p, h, c in chart:
        d = c.get("detail", "")
        assert len(d) <= 1300, (p, h, len(d))
        assert len(c.get("suggestions", [])) <= 4, (p, h)
        assert d.count("not a diagnosis") <= 1, (p, h)
        assert len(c["summary"]) < 140


def test_the_seed_card_names_the_most_urgent_action_first(demo_cards):
    [card] = [c for p, h, c in demo_cards if p == "seed-pembrolizumab" and h == "patient-view"]
    assert card["summary"].startswith("Discontinue pembrolizumab (Acute transverse myelitis)")
    assert "Tocilizumab 624 mg IV for CRS grade 3 (ASTCT 2019)" in card["summary"]
    labels = [s["label"] for s in card["suggestions"]]
    assert labels == [
        "Order tocilizumab 624 mg IV",
        "Order methylprednisolone 78-156 mg/d IV",
        "Order immune globulin 156 g IV",
        "Request Intensive care consult",
    ]
    # IVIG or plasma exchange is one decision: plasma exchange is its alternative in the detail
    assert "or plasma exchange" in card["detail"]
    assert not any("Plasma exchange" in s for s in labels)
