"""`contactbot db upgrade|current`: migrate the schema, or print its revision."""

from __future__ import annotations

import argparse

from bot.config import Settings
from bot.runtime import new_sqlite_file, prepare_schema
from storage.database import Store
from storage.files import private_dir


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `db` with its actions `upgrade` and `current` to the `contactbot` parser."""
    db = subparsers.add_parser("db", help="database schema")
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    actions.add_parser("upgrade", help="migrate the database to the newest schema")
    actions.add_parser("current", help="print the schema revision")
    return db


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.db_command == "current":
        store = Store(settings.database_url)
        print(f"{store.current_revision() or 'empty'} (newest: {store.head_revision()})")
        return 0
    if settings.database_url.startswith("sqlite:///"):
        private_dir(settings.data_dir)  # the whole CRM: owner only
    new_file = new_sqlite_file(settings.database_url)
    store = Store(settings.database_url)
    prepare_schema(store, settings, store.migrate, new_file=new_file)
    print(f"Database at schema {store.current_revision()}.")
    return 0
