"""Every ISO 3166-1 country/region and ISO 639-1 language in the code tables (from pycountry).

A fresh database had no countries, so `country=DE` and `setup default_country=US` were refused
until someone typed `codes countries add …` for each. This seeds both tables on every database
this migration reaches: a new one (every migration runs) and an existing one, where only the
missing codes are added and a code that users added or renamed is left alone. The downgrade
keeps the rows: they may be in use, and the tables were editable before.

Revision ID: 0013_seed_iso_codes
Revises: 0012
"""

from __future__ import annotations

from alembic import op

from storage.codes import seed_iso_codes

revision = "0013_seed_iso_codes"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    seed_iso_codes(op.get_bind())


def downgrade() -> None:
    """Nothing to undo safely: contacts may use the seeded codes."""
