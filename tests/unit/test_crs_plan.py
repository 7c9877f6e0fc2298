"""The CRS plan after CAR T cells and T-cell engagers: the corticosteroid step of the ASCO 2021
CAR T guideline (Santomasso, Table 1: G3 dexamethasone 10 mg IV every 6 hours, G4
methylprednisolone 500 mg IV every 12 hours), the engager's own label ("Withhold <drug> until
CRS resolves or permanently discontinue based on severity"), refractory CRS (anakinra and
siltuximab, off-label; never infliximab), who tocilizumab is cited with, and weights as
clinicians write them. Expected values are written out from those sources."""

from __future__ import annotations

import pytest

from services import format as fmt
from services.assess import assess
from services.knowledge import crs_plan
from services.knowledge.sources import SOURCES
from tests.fhir_factory import AT, given, infusion, o2, patient, sbp, temp, weight


def rec(a, rid):
    matches = [r for r in a.recommendations if r.id == rid]
    assert matches, f"{rid} not in {[r.id for r in a.recommendations]}"
    return matches[0]


def ids(a) -> set[str]:
    return {r.id for r in a.recommendations}


def car_t(*extra, kg: float = 80, pressor: bool = False):
    """Axicabtagene ciloleucel 4 days ago, fever 39.2 °C; SBP 84 (ASTCT grade 2) or, with a
    vasopressor, grade 3."""
    out = [patient(), weight(kg), given("axicabtagene ciloleucel", 24 * 4, by_text=True)]
    for h in range(10, 0, -2):
        out += [temp(39.2, hours_before=h), sbp(84, hours_before=h)]
    if pressor:
        out.append(infusion("norepinephrine", 5, "ug/min", 10))
    return assess([*out, *extra], AT)


def engager(drug: str, *extra):
    """A T-cell engager step-up dose 2 days ago and a fever of 38.6 °C now (ASTCT grade 1)."""
    out = [patient(), weight(70), given(drug, 48, by_text=True), temp(38.6), sbp(118)]
    return assess([*out, *extra], AT)


# -- Corticosteroids after CAR T cells, by grade ----------------------------------------------


def test_grade_2_before_tocilizumab_gets_no_dexamethasone():
    a = car_t()
    assert a.crs["astct2019"].grade == 2
    assert "dexamethasone.crs" not in ids(a)
    # Lee 2014's methylprednisolone stays on its own, as the second line after tocilizumab: a
    # condition, not an order to sign beside the first tocilizumab dose.
    r = rec(a, "methylprednisolone.crs.lee2014")
    assert r.alternative_to is None
    assert r.when == "if CRS does not improve after tocilizumab"


def test_grade_2_after_tocilizumab_gets_dexamethasone_10_mg_every_6_hours():
    a = car_t(given("tocilizumab", 10, (640, "mg")))
    assert a.crs["astct2019"].grade == 2
    r = rec(a, "dexamethasone.crs")
    assert (r.dose.value, r.frequency, r.urgency) == (10, "every 6 h", "routine")
    # Grade 2 after one tocilizumab dose: dexamethasone only if CRS persists, so it is shown with
    # that condition and not offered as an order; grade 3 below has no condition.
    assert r.when == "if CRS persists after tocilizumab (refractory grade 2)"
    r = rec(a, "methylprednisolone.crs.lee2014")
    assert (r.alternative_to, r.when) == (
        "dexamethasone.crs",
        "if CRS persists after tocilizumab (refractory grade 2)",
    )


def test_grade_3_gets_dexamethasone_before_any_tocilizumab():
    a = car_t(pressor=True)
    assert a.crs["astct2019"].grade == 3
    r = rec(a, "dexamethasone.crs")
    assert (r.dose.value, r.urgency, r.when) == (10, "urgent", None)
    assert "asco_iec2021: Table 1 CRS G3" in r.sources


def test_checkpoint_inhibitor_crs_keeps_its_own_steroid_and_gets_no_dexamethasone_10_q6h():
    out = [patient(), weight(80), given("pembrolizumab", 24 * 10, (200, "mg"))]
    for h in range(30, 0, -2):
        out += [temp(39.2, hours_before=h), sbp(84, hours_before=h)]
    a = assess([*out, infusion("norepinephrine", 5, "ug/min", 30)], AT)
    assert a.crs["astct2019"].grade == 3
    assert "dexamethasone.crs" not in ids(a)
    assert "methylprednisolone.high" in ids(a)


# -- Refractory CRS: anakinra and siltuximab, never infliximab --------------------------------


def four_toci() -> list[dict]:
    return [given("tocilizumab", h, (640, "mg")) for h in (34, 26, 17, 9)]


def dex_q6h() -> list[dict]:
    return [given("dexamethasone", h, (10, "mg"), by_text=True) for h in (1, 7, 13, 19)]


def test_refractory_crs_offers_anakinra_and_siltuximab_off_label_and_no_infliximab():
    a = car_t(*four_toci(), *dex_q6h(), pressor=True)
    assert a.courses.tocilizumab.status == "max_reached"
    anakinra = rec(a, "crs.refractory.anakinra")
    assert anakinra.dose is None and "off-label" in anakinra.text
    assert anakinra.dose_missing_reason == "Dose per local protocol (off-label)"
    assert any(s.startswith("sps_crs") for s in anakinra.sources)
    silt = rec(a, "crs.refractory.siltuximab")
    assert silt.dose.value == 880 and "off-label" in silt.text  # 11 mg/kg × 80 kg
    # Grade 3 refractory: "manage as per G4", methylprednisolone 500 mg every 12 h.
    assert rec(a, "methylprednisolone.crs.g4").dose.value == 500
    assert not [r for r in a.recommendations if "infliximab" in r.text.lower()]
    assert not [r for r in a.recommendations if r.drug == "infliximab"]


def test_lee_methylprednisolone_2_mg_kg_is_never_offered_beside_the_grade_4_regimen():
    # ASTCT grade 4: fever, hypotension on a pressor and non-invasive positive pressure
    # (SNOMED CT 447837008): methylprednisolone 500 mg every 12 h (Santomasso 2021 G4), and no
    # Lee 2014 2 mg/kg/day (160 mg/day at 80 kg) "alternative" that would de-escalate it.
    a = car_t(o2("447837008", 5), pressor=True)
    assert a.crs["astct2019"].grade == 4
    assert rec(a, "methylprednisolone.crs.g4").dose.value == 500
    assert "methylprednisolone.crs.lee2014" not in ids(a)
    # Refractory grade 3 managed as grade 4: the same.
    b = car_t(*four_toci(), *dex_q6h(), pressor=True)
    assert "methylprednisolone.crs.lee2014" not in ids(b)
    # Grade 3 on dexamethasone's first step: Lee 2014 stays as the cited alternative.
    c = car_t(pressor=True)
    assert rec(c, "methylprednisolone.crs.lee2014").alternative_to == "dexamethasone.crs"


def test_not_refractory_without_a_running_corticosteroid_or_before_tocilizumab_failed():
    # Four tocilizumab doses but no corticosteroid yet: the next step is the corticosteroid.
    a = car_t(*four_toci(), pressor=True)
    assert not [k for k in ids(a) if k.startswith("crs.refractory")]
    assert rec(a, "dexamethasone.crs").dose.value == 10
    # On dexamethasone, one tocilizumab dose 10 h ago that may still work: not refractory.
    b = car_t(given("tocilizumab", 10, (640, "mg")), *dex_q6h(), pressor=True)
    assert not [k for k in ids(b) if k.startswith("crs.refractory")]


# -- T-cell engagers: the label's own rule -------------------------------------------------------


@pytest.mark.parametrize(
    ("drug", "brand", "section"),
    [
        ("teclistamab", "TECVAYLI", "2.5"),
        ("epcoritamab", "EPKINLY", "2.6"),
        ("glofitamab", "COLUMVI", "2.4"),
        ("talquetamab", "TALVEY", "2.5"),
        ("mosunetuzumab", "LUNSUMIO", "2.4"),
    ],
)
def test_an_engager_is_withheld_until_crs_resolves_as_its_label_says(drug, brand, section):
    a = engager(drug)
    assert a.crs["astct2019"].grade == 1
    r = rec(a, f"engager.hold.{drug}")
    assert r.text == (
        f"Withhold {drug} ({brand}) until CRS resolves, or permanently discontinue based on "
        f"severity: the label's CRS table (section {section}) gives the rule for each grade"
    )
    assert r.drug == drug and r.urgency == "urgent" and r.dose is None
    assert r.sources == (f"{brand.lower()}_label: boxed warning, section {section}",)


def test_an_engager_whose_label_was_not_read_is_held_with_that_said():
    r = rec(engager("elranatamab"), "engager.hold.elranatamab")
    assert r.text.startswith("Hold elranatamab while CRS is active")
    assert "not verified" in r.sources[0]


def test_no_engager_line_without_crs_or_after_car_t():
    afebrile = assess([patient(), weight(70), given("teclistamab", 48, by_text=True)], AT)
    assert not [k for k in ids(afebrile) if k.startswith("engager.hold")]
    assert not [k for k in ids(car_t()) if k.startswith("engager.hold")]


def test_the_engager_not_an_old_checkpoint_inhibitor_is_the_drug_to_hold():
    a = engager("teclistamab", given("pembrolizumab", 24 * 150, (200, "mg")))
    assert "engager.hold.teclistamab" in ids(a)
    assert not [r for r in a.recommendations if r.drug == "pembrolizumab"]


# -- Who tocilizumab is cited with -----------------------------------------------------------


def test_car_t_tocilizumab_cites_the_label_and_asco_not_the_pembrolizumab_qa():
    r = rec(car_t(), "tocilizumab.label")
    assert r.sources[0].startswith("asco_iec2021: Table 1 CRS")
    assert "actemra_label: section 2, CRS" in r.sources
    assert not [s for s in r.sources if s.startswith("pembro_crs_qa")]


def test_checkpoint_inhibitor_tocilizumab_cites_the_pembrolizumab_qa():
    out = [patient(), weight(80), given("pembrolizumab", 24 * 10, (200, "mg"))]
    a = assess([*out, temp(39.2), sbp(84)], AT)
    r = rec(a, "tocilizumab.label")
    assert "pembro_crs_qa" in r.sources and "actemra_label: section 2, CRS" in r.sources


# -- Weights as clinicians write them ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kg", "text"), [(79.8323, "79.8"), (80.0, "80"), (79.96, "80"), (12.25, "12.2"), (None, "?")]
)
def test_a_weight_has_one_decimal_at_most(kg, text):
    assert fmt.kg(kg) == text


def test_a_dose_basis_shows_the_weight_with_one_decimal():
    # 176 lb = 79.8323 kg, newer than 95 kg two days ago: 8 mg/kg × 79.8 kg = 639 mg (label).
    r = rec(car_t(weight(176, "[lb_av]", hours_before=2), kg=95), "tocilizumab.label")
    assert (r.dose.value, r.dose.basis) == (639, "8 mg/kg × 79.8 kg")


def test_every_source_the_crs_plan_cites_exists():
    cited = [s.source for s in crs_plan.EFFECTOR_STEROIDS] + [
        a.source for a in crs_plan.REFRACTORY_AGENTS
    ]
    cited += [h.source for h in crs_plan.ENGAGER_HOLD.values()]
    cited += [crs_plan.REFRACTORY_STEROID[1], crs_plan.REFRACTORY_G4_TEXT[1]]
    cited += [crs_plan.ENGAGER_HOLD_UNREAD[1], *crs_plan.TOCILIZUMAB_SOURCE.values()]
    for c in cited:
        for part in c.split(";"):
            assert part.partition(":")[0].strip() in SOURCES, c


def test_the_card_says_withhold_the_engager_and_offers_no_order_for_it():
    from cds_hooks.cards import CardContext, assessment_cards

    a = engager("teclistamab")
    cc = CardContext(service_id="immunotox-patient-view", patient_id="p1", base_url="https://x")
    [card] = [c.to_dict() for c in assessment_cards(a, cc)]
    assert "**Withhold teclistamab** (TECVAYLI) until CRS resolves" in card["detail"]
    assert not [s for s in card.get("suggestions", []) if "teclistamab" in s["label"].lower()]


def _cart_crs2(birth: str, kg: float):
    cart = {
        "resourceType": "MedicationAdministration",
        "id": "cart",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "tisagenlecleucel"},
        "effectiveDateTime": "2026-11-17T12:00:00+00:00",
    }
    a = assess([patient(birth=birth), weight(kg), temp(39.2), sbp(70), cart], AT)
    return [(r.id, r.dose.value) for r in a.recommendations if r.drug == "tocilizumab"], a


def test_lee_2014_tocilizumab_at_the_labels_dose_is_one_line_citing_both():
    # A 10-year-old of 36 kg: the label gives 8 mg/kg (≥30 kg) = 288 mg and Lee 2014 gives
    # 8 mg/kg to children = 288 mg: the same order, offered once, with both sources.
    lines, a = _cart_crs2("2016-01-01", 36)
    assert lines == [("tocilizumab.label", 288.0)]
    (toci,) = [r for r in a.recommendations if r.drug == "tocilizumab"]
    assert any(s.startswith("lee2014") for s in toci.sources)
    # 24 kg: label 12 mg/kg (<30 kg) = 288 mg, Lee 2014 8 mg/kg = 192 mg: both shown.
    lines, _ = _cart_crs2("2018-01-01", 24)
    assert lines == [("tocilizumab.label", 288.0), ("tocilizumab.lee2014", 192.0)]
    # An adult of 70 kg: label 8 mg/kg = 560 mg, Lee 2014 4 mg/kg = 280 mg.
    lines, _ = _cart_crs2("1970-01-01", 70)
    assert lines == [("tocilizumab.label", 560.0), ("tocilizumab.lee2014", 280.0)]
