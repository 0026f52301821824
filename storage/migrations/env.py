"""Alembic environment: runs on the connection that `Store.migrate()` hands over, or, from the
`alembic` command (`alembic -c storage/alembic.ini check`), on the database that
`sqlalchemy.url` or else CONTACTBOT_DATABASE_URL names.

Autogenerate (`alembic check`, `alembic revision --autogenerate`) compares every model, the
duplicate models included, and leaves out the hand-built search objects (storage.schema).
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from storage.schema import include_object, model_metadata

config = context.config
target_metadata = model_metadata()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("CONTACTBOT_DATABASE_URL")
    if not url:
        raise SystemExit(
            "alembic: no database; set CONTACTBOT_DATABASE_URL "
            "(like sqlite:///contactbot.db or postgresql+psycopg://user@host/db)."
        )
    return url


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(_url())
        try:
            with engine.begin() as connection:
                _migrate(connection)
        finally:
            engine.dispose()
        return
    _migrate(connection)


def _migrate(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
