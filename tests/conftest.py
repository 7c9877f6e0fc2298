"""Shared fixtures: the app factory with a throw-away store, and a test client."""

from __future__ import annotations

import pytest


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
