"""SQLite keeps the duplicate keys in their primary key's B-tree only (WITHOUT ROWID).

A rowid table stores each key twice: in the table and in the primary key's index. A scan
writes every contact's keys again (some twenty per contact, twenty million at a million
contacts), so one B-tree instead of two makes that a third faster and the file smaller.
Lookups are unchanged: by contact through the primary key, by value through
ix_dupe_keys_value. PostgreSQL stores a heap and its indexes either way: nothing changes.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _rebuild(with_rowid=False)


def downgrade() -> None:
    _rebuild(with_rowid=True)


def _rebuild(*, with_rowid: bool) -> None:
    """Recreate dupe_keys on SQLite (keys, constraints and index copied by Alembic's batch)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "dupe_keys", recreate="always", table_kwargs={"sqlite_with_rowid": with_rowid}
    ):
        pass
