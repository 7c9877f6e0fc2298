"""Alembic migrations of the shared store's schema (`immunotox db upgrade`; also at start-up).

A new revision: `alembic -c immunotox/migrations/alembic.ini revision -m "what"` from the
repository root, then edit the new file in `versions/`.
"""
