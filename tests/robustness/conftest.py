"""Robustness tests: shared fixtures, the log check for secrets, and the figures summary."""

from __future__ import annotations

import logging

import pytest

from tests.robustness import helpers

# Strings that must never appear in any log record of these tests: every bearer token the tests
# send and every patient id they put in a request. Tests add to it as they go.
TOKENS: set[str] = set()
PATIENT_IDS: set[str] = set()


def remember_token(*values: str) -> None:
    TOKENS.update(v for v in values if v)


def remember_patient_id(*values: str) -> None:
    PATIENT_IDS.update(v for v in values if v)


@pytest.fixture(autouse=True)
def _no_secrets_in_logs(caplog):
    """Capture every log record at DEBUG (root logger, third-party libraries included) and fail
    the test if a token or a patient id sent in a request appears in any of them."""
    caplog.set_level(logging.DEBUG)
    yield
    records = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
    helpers.count("log_records_checked", len(records))
    leaks = []
    for rec in records:
        try:
            text = rec.getMessage()
        except Exception:  # a malformed record is not our concern here
            text = str(rec.msg)
        if rec.exc_text:
            text += rec.exc_text
        for s in TOKENS | PATIENT_IDS:
            if s in text:
                leaks.append(f"{rec.name}:{rec.levelname}: {text[:200]!r} holds {s[:12]!r}…")
    assert not leaks, "secrets in logs:\n" + "\n".join(leaks[:10])


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    doc = helpers.write_reliability()
    if not doc:
        return
    tr = terminalreporter
    tr.section("robustness figures")
    for name, n in sorted(helpers.COUNTS.items()):
        tr.write_line(f"{name}: {n}")
    for section, values in sorted(helpers.FIGURES.items()):
        tr.write_line(f"{section}: {values}")
    tr.write_line(f"written to {helpers.RELIABILITY_JSON}")


@pytest.fixture(autouse=True)
def _count_error_cards(caplog):
    """Count the assessments that failed inside a service (answered with an error card rather
    than a 500) so the figures show them; tests that must see none assert it themselves."""
    yield
    records = [*caplog.get_records("setup"), *caplog.get_records("call")]
    failed = [r for r in records if r.levelno >= logging.ERROR and "failed ref=" in str(r.msg)]
    if failed:
        helpers.count("error_cards", len(failed))
        for r in failed:
            kind = r.args[2] if isinstance(r.args, tuple) and len(r.args) > 2 else "?"
            helpers.count(f"error_cards_{kind}")
