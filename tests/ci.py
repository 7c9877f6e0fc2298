"""Skips that cannot hide a failure in CI.

A test that needs something outside Python (headless Chromium, the sekmet FHIR server,
PostgreSQL, nginx, npm for the FHIR example corpus) calls `require_or_skip(reason)` when it is
missing. On a developer's machine that is a skip, saying what to install; in CI (`CI=true`,
set by `.ci/run`) it is a failure, because CI installs all of them and a skip there would hide a
broken set-up. A service of ours that fails to start is never a skip: use `pytest.fail` with its
log (`demo.runner.subprocess_server` puts the log's last lines in the error).
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_or_skip(reason: str) -> NoReturn:
    """Skip with `reason`, or fail under CI=true."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a missing dependency fails the run)", pytrace=False)
    pytest.skip(reason)
