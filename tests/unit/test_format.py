"""One formatter for numbers and doses (`services.format`)."""

from __future__ import annotations

import pytest

from services import format
from services.model import Dose


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (624.0, "624"),
        (0.5, "0.5"),
        (79.8323, "79.83"),
        (1234.4, "1234"),
        (12000.0, "12000"),
        (0.00012, "0.00012"),
        (None, "?"),
    ],
)
def test_numbers_read_as_clinicians_write_them(value, text):
    assert format.num(value) == text


def test_a_dose_is_an_amount_or_a_range_with_its_unit():
    assert format.dose(Dose(unit="mg", value=624.0)) == "624 mg"
    assert format.dose(Dose(unit="mg/d", low=78.0, high=156.0)) == "78-156 mg/day"


def test_plain_text_is_one_line_cut_at_a_word():
    assert format.plain("a\nb\x00  c") == "a b c"
    assert format.plain("one two three four", limit=10) == "one two…"


@pytest.mark.parametrize(
    ("ucum", "text"),
    [
        ("Temperature 39.1 Cel", "Temperature 39.1 °C"),
        ("norepinephrine 5 ug/min", "norepinephrine 5 µg/min"),
        ("systolic 82 mm[Hg]", "systolic 82 mmHg"),
        ("vasopressin 0.03 [iU]/min", "vasopressin 0.03 units/min"),
        ("insulin 0.3-0.4 [iU]/kg/d", "insulin 0.3-0.4 units/kg/day"),
        ("1-2 mg/kg/d × 78 kg", "1-2 mg/kg/day × 78 kg"),
        ("oxygen 3 L/min", "oxygen 3 L/min"),
        ("creatinine 1.2 mg/dL", "creatinine 1.2 mg/dL"),  # not mg/d
        ("Celsius scale", "Celsius scale"),  # a word, not the code
    ],
)
def test_ucum_codes_are_written_as_clinicians_write_them(ucum, text):
    assert format.plain(ucum) == text


def test_a_dose_unit_reads_per_day():
    assert format.dose(Dose(unit="[iU]/d", value=20.0)) == "20 units/day"
    assert format.dose(Dose(unit="g", value=156.0)) == "156 g"


def test_sources_are_named_not_ided():
    assert format.plain("capped at 10 mg (lee2014: maximum 10 mg/dose)") == (
        "capped at 10 mg (Lee 2014: maximum 10 mg/dose)"
    )
    assert (
        format.plain("astct2019 grade 3; ctcae5 grade 3")
        == "ASTCT 2019 grade 3; CTCAE v5.0 grade 3"
    )
    assert format.plain("https://example.org/lee2014") == "https://example.org/lee2014"


def test_refs_are_split_where_a_new_source_starts():
    assert format.refs(
        ["asco2021: Table 7.7, myelitis; pembro_crs_qa", "lee2014: Table 2; text"]
    ) == [
        "asco2021: Table 7.7, myelitis",
        "pembro_crs_qa",
        "lee2014: Table 2; text",
    ]


# -- local time ----------------------------------------------------------------------------------


def test_times_are_shown_in_the_site_zone_with_the_zone_named():
    from datetime import UTC, datetime

    t = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert format.when(t) == "2026-11-20 12:00 UTC"  # the default
    with format.display_zone("Europe/Berlin"):
        assert format.when(t) == "2026-11-20 13:00 CET"
        assert format.when(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == "2026-07-01 14:00 CEST"
        assert format.zone_name() == "Europe/Berlin"
    with format.display_zone("America/New_York"):
        assert format.when(t, "%d %b %H:%M") == "20 Nov 07:00 EST"
    assert format.when(t) == "2026-11-20 12:00 UTC"  # the zone ends with the block
    assert format.when(None) == "time not recorded"


def test_an_unknown_zone_is_refused():
    with pytest.raises(ValueError, match="IANA"):
        format.zone("Mars/Olympus_Mons")


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(0, "0 min ago"), (59, "59 min ago"), (60, "1 h ago"), (47 * 60 + 59, "47 h ago"),
     (48 * 60, "2 days ago"), (-5, "")],
)  # fmt: skip
def test_how_long_ago(minutes, text):
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert format.ago(now - timedelta(minutes=minutes), now) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (38.9, "38.9"),
        (37.5, "37.5"),
        (5.0, "5"),
        (5, "5"),
        (38.96, "39"),
        (120.0, "120"),
        (1234.56, "1234.6"),
        (0.03, "0.03"),
        (0.08, "0.08"),
        (0.125, "0.125"),
        (0, "0"),
        (None, "?"),
    ],
)
def test_charted_values_keep_one_decimal_and_small_rates_their_digits(value, text):
    assert format.charted(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.5, "0.5"),
        (12.0, "12"),
        (20, "20"),
        (79.8323, "79.8323"),
        (1250.0, "1250"),
        (2.25, "2.25"),
        (1234567.0, "1234567"),
        (0.00001, "0.00001"),
    ],
)
def test_exact_numbers_are_quoted_as_given_without_trailing_zeros_or_exponents(value, text):
    assert format.exact(value) == text
