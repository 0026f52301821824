"""`contactbot db upgrade|current|backup|restore`: the schema, and copies of the data.

`backup FILE` copies the database while the bot runs (SQLite's online backup API, or pg_dump
on PostgreSQL; storage.backup). `restore FILE` puts a backup in place of the configured
database; it replaces what is there, so it asks first on a terminal and otherwise refuses
without `--yes`. Stop the bot while restoring.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import Settings
from bot.runtime import seed_from_config
from storage.connect_errors import shown_url
from storage.database import Store
from storage.errors import UserError
from storage.files import private_dir


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `db` with its actions to the `contactbot` parser."""
    db = subparsers.add_parser(
        "db", help="the database: migrate the schema, print its revision, back up, restore"
    )
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    actions.add_parser("upgrade", help="migrate the database to the newest schema")
    actions.add_parser("current", help="print the schema revision")
    backup = actions.add_parser(
        "backup",
        help="copy the database to FILE while the bot runs (SQLite backup API, or pg_dump)",
    )
    backup.add_argument("file", type=Path, metavar="FILE", help="where to write the copy")
    backup.add_argument("--yes", action="store_true", help="replace FILE if it exists")
    restore = actions.add_parser(
        "restore",
        help="replace the database with a backup from `db backup` (asks first; stop the bot)",
    )
    restore.add_argument("file", type=Path, metavar="FILE", help="a file `db backup` wrote")
    restore.add_argument("--yes", action="store_true", help="replace the database without asking")
    return db


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.db_command == "backup":
        return _backup(settings, args)
    if args.db_command == "restore":
        return _restore(settings, args)
    if args.db_command == "current":
        store = Store(settings.database_url, pool=settings.pool)
        print(f"{store.current_revision() or 'empty'} (newest: {store.head_revision()})")
        return 0
    if settings.database_url.startswith("sqlite:///"):
        private_dir(settings.data_dir)  # the whole CRM: owner only
    store = Store(settings.database_url, pool=settings.pool)
    was_empty = store.current_revision() is None
    store.migrate()
    if was_empty:
        seed_from_config(store, settings)
    print(f"Database at schema {store.current_revision()}.")
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from storage.backup import backup_postgres, backup_sqlite, sqlite_file

    target: Path = args.file
    if target.exists() and not args.yes:
        raise UserError(f"{target} exists: add --yes to replace it, or name another file.")
    if not target.parent.is_dir():
        raise UserError(f"The folder {target.parent} does not exist: create it first.")
    source = sqlite_file(settings.database_url)
    if source is not None:
        result = backup_sqlite(source, target)
        print(f"Backed up {result.contacts} contacts from {source} to {target}.")
        return 0
    backup_postgres(settings.database_url, target)
    print(
        f"Backed up {shown_url(settings.database_url)} to {target} with pg_dump "
        f"(restore: contactbot db restore {target})."
    )
    return 0


def _confirmed(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    answer = input(f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from storage.backup import (
        check_sqlite_backup,
        restore_postgres,
        restore_sqlite,
        sqlite_contacts,
        sqlite_file,
    )

    backup: Path = args.file
    target = sqlite_file(settings.database_url)
    shown = shown_url(settings.database_url)
    if target is not None:
        if target.parent == settings.data_dir:
            private_dir(settings.data_dir)
        incoming = check_sqlite_backup(backup)
        present = sqlite_contacts(target)
        what = f"{target} ({present} contacts)" if present is not None else None
    else:
        if not backup.is_file():
            raise UserError(f"There is no backup at {backup}.")
        incoming, what = None, shown
    if what is not None and not args.yes:
        question = f"Replace {what} with the backup {backup}?"
        if not _confirmed(question):
            raise UserError(
                f"Not restored: this would replace {what}. Add --yes to replace it "
                "(stop the bot first)."
            )
    if target is not None:
        restore_sqlite(backup, target)
        print(f"Restored {incoming} contacts from {backup} into {target}.")
        return 0
    restore_postgres(settings.database_url, backup)
    print(f"Restored {backup} into {shown} with pg_restore.")
    return 0


def interrupted(args: argparse.Namespace) -> str:
    """What Ctrl-C leaves (bot.cli.main prints it)."""
    if args.db_command == "upgrade":
        return "the migration was rolled back; the schema is as it was. Run it again."
    if args.db_command == "backup":
        return f"no backup was written to {args.file}."
    if args.db_command == "restore":
        return "the restore did not finish: run it again before starting the bot."
    return "nothing in the database changed."
