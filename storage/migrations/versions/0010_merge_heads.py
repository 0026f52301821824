"""Join the two lines of history that grew side by side (the duplicate digest, 0008, and
business relations, 0009), so that new revisions have one parent to build on.

Revision ID: 0010
Revises: 0008, 0009
"""

from __future__ import annotations

revision = "0010"
down_revision = ("0008", "0009")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: both parents' tables are already there."""


def downgrade() -> None:
    """Nothing to undo."""
