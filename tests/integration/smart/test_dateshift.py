"""The demo's date shift: one offset for a whole Bundle, the latest data lands just before now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from demo.runner import latest_instant, shift_dates

NOW = datetime(2030, 5, 17, 9, 30, tzinfo=UTC)


def bundle():
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "meta": {"lastUpdated": "2026-01-01T00:00:00Z"},
        "entry": [
            {"resource": {"resourceType": "Patient", "id": "p", "birthDate": "1964-03-02"}},
            {
                "resource": {
                    "resourceType": "Observation",
                    "effectiveDateTime": "2026-11-20T11:40:00Z",
                    "issued": "2026-11-20T11:45:00.000+00:00",
                }
            },
            {
                "resource": {
                    "resourceType": "MedicationAdministration",
                    "effectivePeriod": {
                        "start": "2026-11-11T08:00:00+02:00",
                        "end": "2026-11-11T08:30:00+02:00",
                    },
                }
            },
            {
                "resource": {
                    "resourceType": "Condition",
                    "onsetDateTime": "2026-11-19",
                    "id": "2026-11-19",
                }
            },
        ],
    }


def test_the_latest_datetime_lands_five_minutes_before_now():
    out = shift_dates(bundle(), NOW)
    assert latest_instant(out) == NOW - timedelta(minutes=5)


def test_every_datetime_moves_by_the_same_offset_and_keeps_its_zone():
    before, after = bundle(), shift_dates(bundle(), NOW)
    delta = NOW - timedelta(minutes=5) - datetime(2026, 11, 20, 11, 45, tzinfo=UTC)
    start = after["entry"][2]["resource"]["effectivePeriod"]["start"]
    assert start.endswith("+02:00")
    assert (
        datetime.fromisoformat(start)
        == datetime.fromisoformat(before["entry"][2]["resource"]["effectivePeriod"]["start"])
        + delta
    )


def test_birth_dates_and_last_updated_do_not_move():
    out = shift_dates(bundle(), NOW)
    assert out["entry"][0]["resource"]["birthDate"] == "1964-03-02"
    assert out["meta"]["lastUpdated"] == "2026-01-01T00:00:00Z"


def test_plain_dates_move_by_whole_days():
    out = shift_dates(bundle(), NOW)
    onset = datetime.fromisoformat(out["entry"][3]["resource"]["onsetDateTime"])
    assert (onset.date() - datetime(2026, 11, 19).date()).days == (
        NOW - timedelta(minutes=5) - datetime(2026, 11, 20, 11, 45, tzinfo=UTC)
    ).days


def test_the_input_is_not_changed():
    b = bundle()
    shift_dates(b, NOW)
    assert b == bundle()
