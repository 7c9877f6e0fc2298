"""The store's first schema: key-value with expiry (JWT replay cache, SMART sessions, OAuth
state) and the feedback tables (cards issued, feedback received).

Tables that exist already (a store created before migrations, by `create_all`) are kept as they
are: this revision adopts them.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    if "kv" not in existing:
        op.create_table(
            "kv",
            sa.Column("namespace", sa.String(32), primary_key=True),
            sa.Column("key", sa.String(256), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
            sa.Column("expires_at", sa.Float, nullable=False),
        )
        op.create_index("ix_kv_expires_at", "kv", ["expires_at"])
    if "cds_card" not in existing:
        op.create_table(
            "cds_card",
            sa.Column("uuid", sa.String(64), primary_key=True),
            sa.Column("service_id", sa.String(64), nullable=False),
            sa.Column("kind", sa.String(64), nullable=False),
            sa.Column("indicator", sa.String(16), nullable=False),
            sa.Column("issued_at", sa.Float, nullable=False),
        )
        op.create_index("ix_cds_card_service_id", "cds_card", ["service_id"])
    if "cds_feedback" not in existing:
        op.create_table(
            "cds_feedback",
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("service_id", sa.String(64), nullable=False),
            sa.Column("card_uuid", sa.String(64), nullable=False),
            sa.Column("outcome", sa.String(16), nullable=False),
            sa.Column("accepted_suggestions", sa.Text, nullable=False),
            sa.Column("override_system", sa.String(256)),
            sa.Column("override_code", sa.String(128)),
            sa.Column("override_display", sa.String(256)),
            sa.Column("user_comment", sa.Text),
            sa.Column("outcome_timestamp", sa.String(64), nullable=False),
            sa.Column("received_at", sa.Float, nullable=False),
        )
        op.create_index("ix_cds_feedback_service_id", "cds_feedback", ["service_id"])
        op.create_index("ix_cds_feedback_card_uuid", "cds_feedback", ["card_uuid"])


def downgrade() -> None:
    op.drop_table("cds_feedback")
    op.drop_table("cds_card")
    op.drop_table("kv")
