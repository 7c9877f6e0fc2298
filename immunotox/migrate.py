"""Schema migrations of the shared store (Alembic, `immunotox/migrations/versions/`).

`upgrade(engine)` brings a database to the newest revision; it is what `immunotox db upgrade`
runs, and what the service runs at start-up (in the gunicorn master before workers fork, and
in each worker, where it finds nothing to do). On PostgreSQL an advisory lock makes hosts that
start together take turns; on SQLite the file lock does.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x1A3C_0D0C  # any constant: one migration at a time per database


def _config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def head() -> str:
    heads = ScriptDirectory.from_config(_config()).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads; merge them")
    return heads[0]


def current(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration not yet applied (nothing to do: one query)."""
    if revision == "head" and current(engine) == head():
        return
    from alembic import command

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        if revision == "head" and MigrationContext.configure(conn).get_current_revision() == head():
            return  # another host did it while we waited
        command.upgrade(_config(conn), revision)
