"""The demo patient cart-icans: CRS grade 2 after axicabtagene ciloleucel that resolves, then
ICANS from the ICE scores of the last two days (grade 3 now), on the card and in the JSON."""

from __future__ import annotations

import json
from pathlib import Path

from cds_hooks.cards import CardContext, assessment_cards
from services.assess import assess_bundle
from tests.fhir_factory import AT

BUNDLE = Path(__file__).resolve().parents[2] / "demo" / "patients" / "cart-icans.json"


def test_crs_then_icans():
    a = assess_bundle(json.loads(BUNDLE.read_text()), AT)
    crs = a.crs["astct2019"]
    assert crs.grade == 0 and a.crs_worst["astct2019"].grades["astct2019"] == 2
    r = a.icans
    assert r.applies and r.agent == "axicabtagene ciloleucel"
    assert r.grade == 3
    # Two days of ICE scores: grade 0 at first, rising to 3.
    grades = [p.grades["astct2019"] for p in r.trajectory]
    assert grades[0] in (None, 0) and grades[-1] == 3 and 1 in grades and 2 in grades
    # The CRS worst came before the ICANS onset.
    assert a.crs_worst["astct2019"].time < r.onset
    assert r.iec_hs["status"] == "ferritin_only"


def test_the_card_shows_icans_with_the_crs_line():
    a = assess_bundle(json.loads(BUNDLE.read_text()), AT)
    cc = CardContext(service_id="immunotox-patient-view", patient_id="p", base_url="https://x")
    [card] = [c.to_dict() for c in assessment_cards(a, cc)]
    assert "ICANS grade 3" in card["summary"]
    assert "**ICANS**: **grade 3**" in card["detail"] and "**CRS**" in card["detail"]
    assert card["indicator"] == "critical"
