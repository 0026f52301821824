"""`contactbot db upgrade|current`: migrate the schema, or print its revision."""

from __future__ import annotations

import argparse

from bot.config import Settings
from bot.runtime import seed_from_config
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
    store = Store(settings.database_url)
    was_empty = store.current_revision() is None
    store.migrate()
    if was_empty:
        seed_from_config(store, settings)
    print(f"Database at schema {store.current_revision()}.")
    return 0


def interrupted(args: argparse.Namespace) -> str:
    """What Ctrl-C leaves (bot.cli.main prints it)."""
    if args.db_command == "upgrade":
        return "the migration was rolled back; the schema is as it was. Run it again."
    return "nothing in the database changed."
