"""The business relation log says who removed a link, a linked contact or a linked record.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Rows written before this revision keep an empty `by`: who it was is not known."""
    with op.batch_alter_table("business_relation_log") as batch:
        batch.add_column(sa.Column("by", sa.String(length=100), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("business_relation_log") as batch:
        batch.drop_column("by")
