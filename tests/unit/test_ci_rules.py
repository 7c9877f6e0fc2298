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


def test_every_explained_mutation_survivor_still_names_a_line_of_the_code():
    """docs/mutation-testing.md explains survivors by the text of their line; when the code
    changes under an explanation, the explanation must be revisited, not silently kept."""
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "scripts"))
    try:
        import mutation
    finally:
        sys.path.remove(str(root / "scripts"))
    explained = mutation._explained()
    assert len(explained) >= 5
    for scope, path, operator, fragment in explained:
        assert scope in mutation.SCOPES, scope
        assert operator.startswith("core/")
        text = (root / path).read_text(encoding="utf-8")
        assert text.count(fragment) == 1, (path, fragment)


def test_every_listed_mutation_still_finds_its_code_exactly_once():
    """A change to a table row or check must carry its listed mutation along (else the
    mutation run in CI fails as stale, long after the unit tests passed)."""
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "scripts"))
    try:
        import mutation_listed
    finally:
        sys.path.remove(str(root / "scripts"))
    stale = [
        m.id
        for m in mutation_listed.MUTATIONS
        if (root / m.path).read_text(encoding="utf-8").count(m.old) != 1
    ]
    assert stale == []
