"""The interaction log (Business Central's Interaction Log Entries) and the mail worker's state.

Only new tables, so SQLite needs no batch rebuild of `contacts` (and its find triggers stay).
The templates EMAIL, CALL, MEETING, NOTE and SLACK are seeded because the mail worker and the
Slack shortcut log with them from the first start.

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

TEMPLATES = (
    ("EMAIL", "Email"),
    ("CALL", "Phone call"),
    ("MEETING", "Meeting"),
    ("NOTE", "Note"),
    ("SLACK", "Slack conversation"),
)


def upgrade() -> None:
    templates = op.create_table(
        "interaction_templates",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("description", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_interaction_templates")),
    )
    op.bulk_insert(templates, [{"code": c, "description": d} for c, d in TEMPLATES])
    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("initiated_by", sa.String(length=10), nullable=False),
        sa.Column("salesperson", sa.String(length=20), nullable=True),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("description", sa.String(length=250), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("cost", sa.Numeric(12, 2), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("reference", sa.String(length=500), nullable=False),
        sa.Column("message_id", sa.String(length=250), nullable=True),
        sa.Column("mailbox", sa.String(length=100), nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("snippet", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_interactions_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["template"],
            ["interaction_templates.code"],
            name=op.f("fk_interactions_template_interaction_templates"),
        ),
        sa.ForeignKeyConstraint(
            ["salesperson"],
            ["salespeople.code"],
            name=op.f("fk_interactions_salesperson_salespeople"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
        sa.UniqueConstraint("contact_id", "message_id", name=op.f("uq_interactions_contact_id")),
    )
    op.create_index(op.f("ix_interactions_contact_id"), "interactions", ["contact_id"])
    op.create_index(op.f("ix_interactions_occurred_at"), "interactions", ["occurred_at"])
    op.create_table(
        "mail_folder_states",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mailbox", sa.String(length=100), nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_folder_states")),
        sa.UniqueConstraint("mailbox", "folder", name=op.f("uq_mail_folder_states_mailbox")),
    )
    op.create_table(
        "mail_skipped",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mailbox", sa.String(length=100), nullable=False),
        sa.Column("folder", sa.String(length=200), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.String(length=250), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_skipped")),
        sa.UniqueConstraint(
            "mailbox", "folder", "uidvalidity", "uid", name=op.f("uq_mail_skipped_mailbox")
        ),
    )


def downgrade() -> None:
    op.drop_table("mail_skipped")
    op.drop_table("mail_folder_states")
    op.drop_index(op.f("ix_interactions_occurred_at"), table_name="interactions")
    op.drop_index(op.f("ix_interactions_contact_id"), table_name="interactions")
    op.drop_table("interactions")
    op.drop_table("interaction_templates")
