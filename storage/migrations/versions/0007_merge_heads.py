"""Join the two lines of history that grew side by side (Slack deliveries and duplicates), so
that new revisions have one parent to build on.

Revision ID: 0007
Revises: 0004, 0006
"""

from __future__ import annotations

revision = "0007"
down_revision = ("0004", "0006")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: both parents' tables are already there."""


def downgrade() -> None:
    """Nothing to undo."""
