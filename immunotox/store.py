"""The shared store: state every worker process (and every host) must see.

A key-value table with expiry serves the JWT replay cache (`jti`), SMART sessions and OAuth
state; other modules add their own tables to `METADATA` (feedback). Backed by any SQLAlchemy
URL: a SQLite file by default (safe across the worker processes of one host, WAL mode), or
PostgreSQL when several hosts share it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    make_url,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import (
    ArgumentError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
    SQLAlchemyError,
)

METADATA = MetaData()

KV = Table(
    "kv",
    METADATA,
    Column("namespace", String(32), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("value", Text, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
)


class StoreError(Exception):
    """The configured store cannot be used: one line for the operator, no traceback."""


class StoreUnavailable(StoreError):
    """The store cannot be written (full, read-only, unreachable)."""


def describe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: say nothing of its content
        return "(unparsable URL)"


def make_engine(url: str) -> Engine:
    """An engine for `url`, or StoreError saying in one line why not."""
    # hide_parameters: an error's message never carries the statement's values (tokens,
    # session records) into a log
    kwargs: dict[str, Any] = {"future": True, "hide_parameters": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 10, "check_same_thread": False}
    elif url.startswith("postgresql"):
        kwargs["pool_pre_ping"] = True  # a restarted server's dead connections are replaced
    try:
        engine = create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            _private_sqlite_file(url)
    except OSError as e:
        raise StoreError(
            f"the store at {describe_url(url)} cannot be used: {e.strerror or e}"
        ) from None
    except (NoSuchModuleError, ImportError) as e:  # NoSuchModuleError is an ArgumentError
        raise StoreError(
            f"no driver for the database URL {describe_url(url)} ({e}); PostgreSQL needs "
            "pip install 'immunotox[postgres]'"
        ) from None
    except ArgumentError:
        raise StoreError(
            "the database URL (IMMUNOTOX_DATABASE_URL) is not a database URL (e.g. "
            "sqlite:///var/immunotox.sqlite3 or postgresql+psycopg://user:password@host/db)"
        ) from None
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def open_engine(url: str) -> Engine:
    """`make_engine`, then the schema brought up to date; StoreError (one line) when the
    database cannot be reached or written."""
    engine = make_engine(url)
    try:
        create_tables(engine)
    except (OperationalError, ProgrammingError, IntegrityError) as e:
        engine.dispose()
        reason = str(e.orig if getattr(e, "orig", None) is not None else e).strip()
        raise StoreError(
            f"the store at {describe_url(url)} cannot be used: {reason.splitlines()[0]}"
        ) from None
    return engine


class Store:
    def __init__(self, url: str):
        self.engine: Engine = open_engine(url)
        self._last_purge = 0.0
        self._lock = threading.Lock()

    def check_writable(self) -> None:
        """Write and delete a probe row: a full, read-only or unreachable store stops the
        service at start-up (StoreUnavailable) instead of failing every request later."""
        try:
            self.put("_probe", f"{os.getpid()}", 1, 60)
            self.delete("_probe", f"{os.getpid()}")
        except SQLAlchemyError as e:
            raise StoreUnavailable(
                f"the store cannot be written ({type(e).__name__}: {_first_line(e)})"
            ) from None

    # -- key-value with expiry -------------------------------------------------------------
    def put_if_absent(self, namespace: str, key: str, value: Any, ttl_s: float) -> bool:
        """Insert unless a live entry exists. True if inserted: the replay-cache primitive."""
        now = time.time()
        self._maybe_purge(now)
        with self.engine.begin() as conn:
            conn.execute(
                delete(KV).where(
                    KV.c.namespace == namespace, KV.c.key == key, KV.c.expires_at < now
                )
            )
            try:
                conn.execute(
                    insert(KV).values(
                        namespace=namespace,
                        key=key,
                        value=json.dumps(value),
                        expires_at=now + ttl_s,
                    )
                )
            except IntegrityError:
                return False
        return True

    def put(self, namespace: str, key: str, value: Any, ttl_s: float) -> None:
        now = time.time()
        self._maybe_purge(now)
        with self.engine.begin() as conn:
            conn.execute(delete(KV).where(KV.c.namespace == namespace, KV.c.key == key))
            conn.execute(
                insert(KV).values(
                    namespace=namespace, key=key, value=json.dumps(value), expires_at=now + ttl_s
                )
            )

    def get(self, namespace: str, key: str) -> Any | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(KV.c.value, KV.c.expires_at).where(
                    KV.c.namespace == namespace, KV.c.key == key
                )
            ).first()
        if row is None or row.expires_at < time.time():
            return None
        return json.loads(row.value)

    def pop(self, namespace: str, key: str) -> Any | None:
        """Get and delete in one step (one-time values such as OAuth `state`)."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(KV.c.value, KV.c.expires_at).where(
                    KV.c.namespace == namespace, KV.c.key == key
                )
            ).first()
            if row is None:
                return None
            deleted = conn.execute(
                delete(KV).where(KV.c.namespace == namespace, KV.c.key == key)
            ).rowcount
        if not deleted or row.expires_at < time.time():
            return None
        return json.loads(row.value)

    def delete(self, namespace: str, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(KV).where(KV.c.namespace == namespace, KV.c.key == key))

    def _maybe_purge(self, now: float) -> None:
        if now - self._last_purge < 60:
            return
        with self._lock:
            if now - self._last_purge < 60:
                return
            self._last_purge = now
        with self.engine.begin() as conn:
            conn.execute(delete(KV).where(KV.c.expires_at < now))


EXTENSION = "immunotox.store"


def init_app(app: Any, url: str) -> Store:
    """Open the store for a Flask app (as the Flask tutorial's `db.init_app`)."""
    st = app.extensions[EXTENSION] = Store(url)
    return st


def get_store(app: Any = None) -> Store:
    """The app's store (as the Flask tutorial's `get_db`): `app`, or the current app."""
    if app is None:
        from flask import current_app

        app = current_app
    return app.extensions[EXTENSION]


def create_tables(engine: Engine, tables: list[Table] | None = None, attempts: int = 8) -> None:
    """Bring the schema to the newest migration (`immunotox.migrate`; `tables` is accepted for
    callers that name theirs, all of them are migrated). Several worker processes start at once
    on a fresh database: one may create a table or record the revision between another's check
    and its own step, which then fails with "already exists" or a duplicate revision, or hold
    the new file's lock while switching it to WAL ("database is locked"). Checking again
    settles each: the first migration adopts tables that exist."""
    from immunotox import migrate

    for attempt in range(attempts):
        try:
            migrate.upgrade(engine)
            return
        except (OperationalError, ProgrammingError, IntegrityError) as e:
            message = str(e).lower()
            transient = (
                "already exists" in message
                or "database is locked" in message
                or "unique" in message
                or "duplicate" in message
            )
            if not transient or attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def _first_line(e: BaseException) -> str:
    orig = getattr(e, "orig", None)
    return str(orig if orig is not None else e).splitlines()[0][:200]


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite file readable by its owner only (0600; SQLite gives its -wal and -shm
    files the same mode): it holds sessions and the replay cache. An existing file is made 0600."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        if p.stat().st_mode & 0o077:
            os.chmod(p, 0o600)
    for extra in ("-wal", "-shm", "-journal"):
        side = Path(f"{p}{extra}")
        if side.exists() and side.stat().st_mode & 0o077:
            os.chmod(side, 0o600)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=10000")  # first, so the pragmas below wait for a lock
    if cur.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        cur.execute("PRAGMA journal_mode=WAL")  # once per file: needs the write lock
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
