"""Duplicate detection: blocking keys, scored pairs, merges with both cards' content, settings.

Only new tables, so SQLite needs no batch rebuild of `contacts` (and its find triggers stay).
The settings row is seeded with the defaults (method "default", threshold 80, Business
Central's search hit 60 %).

Revision ID: 0006
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dupe_keys",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_dupe_keys_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "value", name=op.f("pk_dupe_keys")),
    )
    op.create_index("ix_dupe_keys_value", "dupe_keys", ["value", "contact_id"])
    op.create_table(
        "dupe_pairs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contact_id_1", sa.Integer(), nullable=False),
        sa.Column("contact_id_2", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id_1"],
            ["contacts.id"],
            name=op.f("fk_dupe_pairs_contact_id_1_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id_2"],
            ["contacts.id"],
            name=op.f("fk_dupe_pairs_contact_id_2_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dupe_pairs")),
        sa.UniqueConstraint(
            "contact_id_1", "contact_id_2", name=op.f("uq_dupe_pairs_contact_id_1")
        ),
    )
    op.create_index(op.f("ix_dupe_pairs_contact_id_2"), "dupe_pairs", ["contact_id_2"])
    op.create_index(op.f("ix_dupe_pairs_status"), "dupe_pairs", ["status"])
    op.create_index(op.f("ix_dupe_pairs_created_at"), "dupe_pairs", ["created_at"])
    op.create_table(
        "dupe_merges",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kept_no", sa.String(length=20), nullable=False),
        sa.Column("duplicate_no", sa.String(length=20), nullable=False),
        sa.Column("kept_before", sa.Text(), nullable=False),
        sa.Column("duplicate_before", sa.Text(), nullable=False),
        sa.Column("moved", sa.Text(), nullable=False),
        sa.Column("choices", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("merged_at", sa.DateTime(), nullable=False),
        sa.Column("undone_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dupe_merges")),
    )
    op.create_index(op.f("ix_dupe_merges_kept_no"), "dupe_merges", ["kept_no"])
    op.create_index(op.f("ix_dupe_merges_duplicate_no"), "dupe_merges", ["duplicate_no"])
    settings = op.create_table(
        "dupe_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("search_hit_percent", sa.Integer(), nullable=False),
        sa.Column("search_strings", sa.Text(), nullable=False),
        sa.Column("autosearch", sa.Boolean(), nullable=False),
        sa.Column("maintain_keys", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dupe_settings")),
    )
    op.bulk_insert(
        settings,
        [
            {
                "id": 1,
                "method": "default",
                "threshold": 80.0,
                "search_hit_percent": 60,
                "search_strings": "",
                "autosearch": True,
                "maintain_keys": True,
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("dupe_settings")
    op.drop_index(op.f("ix_dupe_merges_duplicate_no"), table_name="dupe_merges")
    op.drop_index(op.f("ix_dupe_merges_kept_no"), table_name="dupe_merges")
    op.drop_table("dupe_merges")
    op.drop_index(op.f("ix_dupe_pairs_created_at"), table_name="dupe_pairs")
    op.drop_index(op.f("ix_dupe_pairs_status"), table_name="dupe_pairs")
    op.drop_index(op.f("ix_dupe_pairs_contact_id_2"), table_name="dupe_pairs")
    op.drop_table("dupe_pairs")
    op.drop_index("ix_dupe_keys_value", table_name="dupe_keys")
    op.drop_table("dupe_keys")
