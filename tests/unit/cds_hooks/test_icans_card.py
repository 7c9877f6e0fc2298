"""ICANS on the patient-view card: a card for ICANS alone (CRS resolved), the ICANS grade line
with the ICE score, the IEC-HS flag, and no card when only a checkpoint inhibitor explains it."""

from __future__ import annotations

from cds_hooks.cards import CardContext, assessment_cards
from services.assess import assess
from tests.fhir_factory import AT, given, lab, obs, patient, temp
from tests.unit.test_icans import cart, ice

CC = CardContext(service_id="immunotox-patient-view", patient_id="p1", base_url="https://x")


def cards(*resources, therapy=None):
    a = assess([patient(), therapy or cart(), obs("29463-7", 70, "kg", 48), *resources], at=AT)
    return assess_cards(a)


def assess_cards(a):
    return [c.to_dict() for c in assessment_cards(a, CC)]


def test_icans_alone_gets_a_card_with_its_grade_line():
    out = cards(ice(2), temp(37.0))
    assert len(out) == 1
    c = out[0]
    assert "ICANS grade 3" in c["summary"]
    assert c["indicator"] == "critical"
    assert "**ICANS**: **grade 3** (ASTCT 2019), ICE score 2/10" in c["detail"]
    labels = [s["label"] for s in c.get("suggestions", [])]
    assert any("dexamethasone 10 mg" in lbl for lbl in labels)


def test_icans_grade_1_is_info_and_ice_10_no_card():
    assert cards(ice(8), temp(37.0))[0]["indicator"] == "info"
    assert cards(ice(10), temp(37.0)) == []


def test_crs_and_icans_on_one_card():
    c = cards(ice(5), temp(38.7))[0]
    assert "CRS grade 1" in c["summary"] and "ICANS grade 2" in c["summary"]
    assert "**CRS**" in c["detail"] and "**ICANS**" in c["detail"]


def test_iec_hs_flag_on_the_icans_line():
    c = cards(
        ice(5),
        temp(37.0),
        lab("2276-4", 6000, "ng/mL", 400),
        lab("3255-7", 110, "mg/dL", None),
    )[0]
    assert "IEC-HS screen positive" in c["detail"]


def test_checkpoint_inhibitor_alone_gets_no_icans_card():
    out = cards(ice(3), temp(37.0), therapy=given("pembrolizumab", 240))
    assert all("ICANS" not in c["summary"] for c in out)
