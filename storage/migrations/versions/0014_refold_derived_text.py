"""Read again what is derived from typed text: phones' E.164 forms, the search text, the
duplicate keys.

The fold now transliterates the letters that decomposition cannot split (Ø, Ł, Æ, Đ, Þ, Œ, ß;
storage.normalize.fold) instead of dropping them, and a phone's E.164 form is kept only when
it is a valid number in the contact's country, else the setup's default (storage.phones).
Values stored under the old rules would not meet values typed under the new ones, so every
contact's search text and phones are rebuilt here, in batches, and when duplicate keys were
kept, `dupes scan`'s code rewrites them and the open pairs.

Revision ID: 0014_refold_derived_text
Revises: 0013_seed_iso_codes
"""

from __future__ import annotations

from alembic import op

from storage.rebuild import rebuild_derived_text

revision = "0014_refold_derived_text"
down_revision = "0013_seed_iso_codes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    rebuild_derived_text(op.get_bind())


def downgrade() -> None:
    """The old fold dropped letters; there is nothing worth going back to."""
