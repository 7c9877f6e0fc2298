"""Shared fixtures: the app factory with a throw-away store, and a test client; the hypothesis
profile (derandomised under CI=true, so a CI run is repeatable: same seed, same examples)."""

from __future__ import annotations

import pytest
from hypothesis import settings

from tests.ci import in_ci

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if in_ci() else "dev")

pytest_plugins = ["tests.postgres"]  # postgres_server, postgres_url, store_url


@pytest.fixture
def app(tmp_path):
    from immunotox.app import create_app

    return create_app(
        {
            "INSTANCE_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
            "CDS_AUTH": "off",
            "SESSION_COOKIE_SECURE": False,
            "SECRET_KEY": "test-only",
            "TESTING": True,
        }
    )


@pytest.fixture
def client(app):
    return app.test_client()
