"""The CI rules of the suite itself: a missing dependency fails under CI=true, hypothesis runs
derandomised there."""

from __future__ import annotations

import pytest
from _pytest.outcomes import Failed, Skipped
from hypothesis import settings

from tests.ci import in_ci, require_or_skip


@pytest.mark.parametrize("value", ["true", "1", "TRUE", "yes"])
def test_a_missing_dependency_fails_under_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    with pytest.raises(Failed, match="nginx is not installed"):
        require_or_skip("nginx is not installed")


@pytest.mark.parametrize("value", [None, "", "false", "0"])
def test_a_missing_dependency_skips_outside_ci(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    with pytest.raises(Skipped, match="nginx is not installed"):
        require_or_skip("nginx is not installed")


def test_hypothesis_is_derandomised_in_ci():
    assert settings().derandomize is in_ci()
