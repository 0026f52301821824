"""The duplicate digest: each digest, and the pairs each one reported, so that "new since the
last digest" is every open pair that no digest holds, and a second instance finds the pairs
that the first one claimed.

Only new tables, so SQLite needs no batch rebuild of `contacts`.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dupe_digests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=80), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("message_ts", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dupe_digests")),
    )
    op.create_index(op.f("ix_dupe_digests_status"), "dupe_digests", ["status"])
    op.create_table(
        "dupe_digest_pairs",
        sa.Column("contact_id_1", sa.Integer(), nullable=False),
        sa.Column("contact_id_2", sa.Integer(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id_1"],
            ["contacts.id"],
            name=op.f("fk_dupe_digest_pairs_contact_id_1_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id_2"],
            ["contacts.id"],
            name=op.f("fk_dupe_digest_pairs_contact_id_2_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["digest_id"],
            ["dupe_digests.id"],
            name=op.f("fk_dupe_digest_pairs_digest_id_dupe_digests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id_1", "contact_id_2", name=op.f("pk_dupe_digest_pairs")),
    )
    op.create_index(op.f("ix_dupe_digest_pairs_digest_id"), "dupe_digest_pairs", ["digest_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_dupe_digest_pairs_digest_id"), table_name="dupe_digest_pairs")
    op.drop_table("dupe_digest_pairs")
    op.drop_index(op.f("ix_dupe_digests_status"), table_name="dupe_digests")
    op.drop_table("dupe_digests")
