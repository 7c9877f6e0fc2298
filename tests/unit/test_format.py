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
    assert format.dose(Dose(unit="mg/d", low=78.0, high=156.0)) == "78-156 mg/d"


def test_plain_text_is_one_line_cut_at_a_word():
    assert format.plain("a\nb\x00  c") == "a b c"
    assert format.plain("one two three four", limit=10) == "one two…"
