"""The IEC-HS screen (Hines 2023; HLH-2004 thresholds): ferritin above 2 × ULN (or 2 × the value
before the therapy) or doubling within 48 hours is required, with one supporting finding
(ALT or AST above 5 × ULN, fibrinogen <150 mg/dL, triglycerides >265 mg/dL, platelets
<100 × 10⁹/L, neutrophils <1.0 × 10⁹/L, haemoglobin <9 g/dL). A flag, never a diagnosis."""

from __future__ import annotations

import pytest

from services.assess import assess
from tests.fhir_factory import AT, given, lab, patient


def ferritin(v, h=2, high=400.0):
    return lab("2276-4", v, "ng/mL", high, hours_before=h)


def screen(*resources, therapy=None):
    t = therapy or given("axicabtagene ciloleucel", 24 * 6, by_text=True)
    return assess([patient(), t, *resources], at=AT).icans.iec_hs


@pytest.mark.parametrize(("value", "key"), [(800, False), (801, True)])
def test_ferritin_above_twice_the_upper_limit(value, key):
    s = screen(ferritin(value), lab("3255-7", 120, "mg/dL", None))
    assert s["flag"] is key
    assert s["status"] == ("positive" if key else "negative")


@pytest.mark.parametrize(("fib", "flag"), [(150, False), (149, True)])
def test_fibrinogen_below_150(fib, flag):
    assert screen(ferritin(5000), lab("3255-7", fib, "mg/dL", None))["flag"] is flag


@pytest.mark.parametrize(("tg", "flag"), [(265, False), (266, True)])
def test_triglycerides_above_265(tg, flag):
    assert screen(ferritin(5000), lab("2571-8", tg, "mg/dL", None))["flag"] is flag


@pytest.mark.parametrize(("plt", "flag"), [(100, False), (99, True)])
def test_platelets_below_100(plt, flag):
    assert screen(ferritin(5000), lab("777-3", plt, "10*9/L", None))["flag"] is flag


@pytest.mark.parametrize(("anc", "flag"), [(1.0, False), (0.9, True)])
def test_neutrophils_below_1(anc, flag):
    assert screen(ferritin(5000), lab("751-8", anc, "10*9/L", None))["flag"] is flag


@pytest.mark.parametrize(("hb", "flag"), [(9.0, False), (8.9, True)])
def test_haemoglobin_below_9(hb, flag):
    assert screen(ferritin(5000), lab("718-7", hb, "g/dL", None))["flag"] is flag


@pytest.mark.parametrize(("alt", "flag"), [(200, False), (201, True)])
def test_alt_above_5_times_uln(alt, flag):
    assert screen(ferritin(5000), lab("1742-6", alt, "U/L", 40))["flag"] is flag


def test_ferritin_alone_is_not_a_positive_screen():
    s = screen(ferritin(5000))
    assert s["status"] == "ferritin_only" and not s["flag"]
    assert s["pathway"] is None


def test_ferritin_doubling_within_48_hours_counts_without_a_reference_range():
    s = screen(ferritin(300, h=40, high=None), ferritin(600, h=2, high=None))
    assert any(c["id"] == "iec_hs.ferritin_rising" for c in s["criteria"])
    s = screen(ferritin(300, h=40, high=None), ferritin(599, h=2, high=None))
    assert not any(c["kind"] == "key" for c in s["criteria"])


def test_ferritin_baseline_before_the_therapy_raises_the_bar():
    # 2000 before the infusion: 3000 now is not twice the baseline even above 2 × ULN.
    base = ferritin(2000, h=24 * 7)
    s = screen(base, ferritin(3000), lab("3255-7", 100, "mg/dL", None))
    assert not s["flag"]
    s = screen(base, ferritin(4001), lab("3255-7", 100, "mg/dL", None))
    assert s["flag"] and s["pathway"]


def test_no_labs_is_no_data_with_what_is_missing():
    s = screen()
    assert s["status"] == "no_data"
    assert any(m["data"] == "Ferritin" for m in s["missing"])


def test_not_screened_without_an_immune_effector_cell_therapy():
    assert screen(ferritin(5000), therapy=given("pembrolizumab", 240)) is None
