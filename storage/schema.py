"""The schema the migrations must produce, as Alembic's autogenerate compares it.

Two things make a plain `Base.metadata` comparison wrong. The duplicate models live in their own
module (storage.duplicates.models) and are in the metadata only once it is imported; without
them, `alembic check` would ask to DROP their six tables. And the search objects are built by
hand in migration 0001, outside the models on purpose (SQLite's FTS5 table `contact_search`
with its shadow tables and triggers, PostgreSQL's pg_trgm GIN index): autogenerate would ask to
drop those too. `storage/migrations/env.py` and tests/test_migrations.py both use this module.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData

#: Hand-built search indexes (PostgreSQL, pg_trgm) that the models do not declare.
SEARCH_INDEXES = frozenset({"ix_contacts_search_trgm"})
#: SQLite's FTS5 table and its shadow tables (contact_search_data, _idx, _config, …).
SEARCH_TABLE_PREFIX = "contact_search"


def model_metadata() -> MetaData:
    """The metadata of every model, the duplicate models included."""
    import storage.duplicates.models  # noqa: F401  (registers its tables on Base.metadata)
    from storage.models import Base

    return Base.metadata


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's `include_object` hook: leave the search objects out of the comparison."""
    if type_ == "table" and name and name.startswith(SEARCH_TABLE_PREFIX):
        return False
    return not (type_ == "index" and name in SEARCH_INDEXES)
