"""PostgreSQL for the tests: a throw-away server started by scripts/test-setup-postgres.sh
(Debian's package, run as the `postgres` user, data and port under a temp folder), one fresh
database per test, and `store_url`, parametrised over SQLite and PostgreSQL.

Where PostgreSQL is missing (not root, package or driver not installed) the PostgreSQL cases
skip saying why, and fail under CI=true (tests/ci.py); a server that does not start fails. `IMMUNOTOX_TEST_POSTGRES_URL` points the tests
at an existing server (a database the tests may create databases on) instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ci import require_or_skip

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "test-setup-postgres.sh"


def _unavailable(reason: str) -> None:
    """A missing PostgreSQL skips on a developer's machine and fails under CI=true
    (tests/ci.py); a server that is there but does not start fails everywhere."""
    require_or_skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """SQLAlchemy URL of the server's `postgres` database."""
    given = os.environ.get("IMMUNOTOX_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("the psycopg driver is not installed (pip install 'immunotox[postgres]')")
    if os.geteuid() != 0:
        _unavailable("starting a throw-away server needs root (runuser -u postgres)")
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        _unavailable("Debian's postgresql package is not installed: bash " + str(SCRIPT))
    from demo.runner import free_port

    workdir = tempfile.mkdtemp(prefix="immunotox-pg-", dir="/tmp")  # postgres must reach it
    started = subprocess.run(
        ["bash", str(SCRIPT), "start", workdir, str(free_port())],
        capture_output=True,
        text=True,
        timeout=180,
    )
    if started.returncode != 0:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.fail(
            f"the throw-away PostgreSQL did not start: {started.stderr.strip()[-1500:]}",
            pytrace=False,
        )
    try:
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", workdir], timeout=60, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str, monkeypatch) -> Iterator[str]:
    """A fresh, empty database for one test; dropped afterwards. Every engine the store makes
    meanwhile is disposed at the end (its pooled connections closed, not left to the garbage
    collector)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    import immunotox.store

    made = []

    def recording_create_engine(*args, **kwargs):
        engine = create_engine(*args, **kwargs)
        made.append(engine)
        return engine

    monkeypatch.setattr(immunotox.store, "create_engine", recording_create_engine)

    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    name = f"itx_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        for engine in made:
            engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """The store's URL: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return request.getfixturevalue("postgres_url")
