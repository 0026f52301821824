"""The mail worker's per-mailbox state (ok / failing since / last error / last success) and
the time each folder was last read to its end, for `contactbot mail status` and the alert.

Revision ID: 0015_mail_account_states
Revises: 0014_refold_derived_text
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_mail_account_states"
down_revision = "0014_refold_derived_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_account_states",
        sa.Column("mailbox", sa.String(length=100), primary_key=True),
        sa.Column("state", sa.String(length=10), nullable=False, server_default="ok"),
        sa.Column("failing_since", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=False, server_default=""),
        sa.Column("last_error_at", sa.DateTime(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
    )
    with op.batch_alter_table("mail_folder_states") as batch:
        batch.add_column(sa.Column("synced_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mail_folder_states") as batch:
        batch.drop_column("synced_at")
    op.drop_table("mail_account_states")
