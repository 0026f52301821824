"""Delivery ids of commands that ran (Slack trigger ids, event ids, …), unique per source, so a
retried delivery never creates a second contact or interaction.

Only a new table, so SQLite needs no batch rebuild of `contacts`.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("source", "delivery_id", name=op.f("uq_deliveries_source")),
    )
    op.create_index(op.f("ix_deliveries_created_at"), "deliveries", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_deliveries_created_at"), table_name="deliveries")
    op.drop_table("deliveries")
