"""After a checkpoint inhibitor, a recorded infection explains fever and hypotension: CRS is not
graded and no CRS treatment is proposed. After CAR T cells, CRS is still graded (it is common
there and coexists with infection). The window is 7 days before the fever (knowledge.crs
"crs_infection_window", a product convention stated with its reasons)."""

from __future__ import annotations

import pytest

from services.assess import assess
from tests.fhir_factory import AT, condition, given, patient, sbp, temp

ON_PEMBROLIZUMAB = (given("pembrolizumab", 21 * 24), temp(39.2), sbp(84))


def run(*resources):
    return assess([patient(), *resources], at=AT)


def test_fever_and_hypotension_on_pembrolizumab_alone_are_graded_as_crs():
    a = run(*ON_PEMBROLIZUMAB)
    assert a.crs_attribution.applies is True
    assert any(r.drug == "tocilizumab" for r in a.recommendations)


@pytest.mark.parametrize(
    ("hours_before_now", "applies"),
    [
        (20, False),  # pyelonephritis yesterday: the infection explains the fever
        (7 * 24 + 1 - 1, False),  # 7 days before the fever (fever 1 h ago): still inside
        (7 * 24 + 1 + 1, True),  # 7 days and 1 hour before the fever: outside the window
    ],
)
def test_a_recorded_infection_within_7_days_of_the_fever_means_no_crs_grade(
    hours_before_now, applies
):
    pyelo = condition("N10", "Acute pyelonephritis", hours_before_now)
    a = run(*ON_PEMBROLIZUMAB, pyelo)
    assert a.crs_attribution.applies is applies
    toci = [r for r in a.recommendations if r.drug == "tocilizumab"]
    if applies:
        assert toci
    else:
        assert toci == []
        assert {r.grade for r in a.crs.values()} == {0}
        assert a.crs_attribution.reason.startswith(
            "An infection recorded 2026-11-19 (Acute pyelonephritis) explains the findings"
        ) or a.crs_attribution.reason.startswith("An infection recorded 2026-11-1")
        assert "Treat the infection." in a.crs_attribution.reason
        assert not any(r.id.startswith("checkpoint_inhibitor.hold") for r in a.recommendations)


def test_after_car_t_cells_crs_is_graded_despite_an_infection():
    a = run(
        given("pembrolizumab", 21 * 24),
        given("tisagenlecleucel", 72, by_text=True),
        temp(39.2),
        sbp(84),
        condition("N10", "Acute pyelonephritis", 20),
    )
    assert a.crs_attribution.applies is True
    assert a.crs_attribution.agent == "tisagenlecleucel"
    # The infection is named beside the CRS attribution: both may need treating.
    assert (
        "an infection recorded 2026-11-19 (Acute pyelonephritis) in the same window: treat it too"
        in (a.crs_attribution.reason)
    )


@pytest.mark.parametrize("code", ["A41.9", "A41.51", "A40.0", "R65.20", "R65.21"])
def test_sepsis_coded_only_as_a40_a41_or_r65_2_is_an_infection_that_stops_crs_grading(code):
    a = run(*ON_PEMBROLIZUMAB, condition(code, "Sepsis", 20))
    assert a.crs_attribution.applies is False
    assert a.crs_attribution.reason.startswith("An infection recorded 2026-11-19 (Sepsis)")
    assert [r for r in a.recommendations if r.drug == "tocilizumab"] == []


def test_non_infectious_sirs_r65_10_next_to_r65_2_does_not_stop_crs_grading():
    a = run(*ON_PEMBROLIZUMAB, condition("R65.10", "SIRS of non-infectious origin", 20))
    assert a.crs_attribution.applies is True


@pytest.mark.parametrize("code", ["E27.2", "E27.1", "E27.40"])
def test_a_recorded_adrenal_crisis_explains_fever_and_hypotension_after_a_checkpoint_inhibitor(
    code,
):
    # ASCO 2021 Table 4.2: adrenal crisis (hypotension, shock) is treated with stress-dose
    # hydrocortisone and saline; tocilizumab for "CRS" would be wrong.
    a = run(*ON_PEMBROLIZUMAB, condition(code, "Addisonian crisis", 20))
    assert a.crs_attribution.applies is False
    assert a.crs_attribution.reason.startswith(
        "An adrenal crisis (adrenal insufficiency) recorded 2026-11-19 (Addisonian crisis)"
    )
    assert "Treat the cause." in a.crs_attribution.reason
    assert [r for r in a.recommendations if r.drug == "tocilizumab"] == []


def test_an_adrenal_insufficiency_recorded_8_days_before_the_fever_does_not_stop_crs_grading():
    a = run(*ON_PEMBROLIZUMAB, condition("E27.1", "Primary adrenal insufficiency", 8 * 24 + 2))
    assert a.crs_attribution.applies is True


def test_after_car_t_cells_an_adrenal_insufficiency_does_not_stop_crs_grading():
    a = run(
        given("tisagenlecleucel", 72, by_text=True),
        temp(39.2),
        sbp(84),
        condition("E27.2", "Addisonian crisis", 20),
    )
    assert a.crs_attribution.applies is True
