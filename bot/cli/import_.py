"""`contactbot import contacts|customers|vendors|bank-accounts|employees FILE.csv [--dry-run]`.

Named `import_` because `import` is a keyword. Contacts go through storage.importing, the
record kinds through storage.importing.records; both print a summary and exit 1 when a row
was refused.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.config import Settings
from bot.runtime import build_app, open_store

#: What `contactbot import` takes: contacts, and the records a contact can be linked to.
CHOICES = ("contacts", "customers", "vendors", "bank-accounts", "employees")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `import` to the `contactbot` parser."""
    importer = subparsers.add_parser("import", help="import records from CSV")
    importer.add_argument("what", choices=list(CHOICES))
    importer.add_argument("file", type=Path)
    importer.add_argument("--dry-run", action="store_true", help="only validate; write nothing")
    return importer


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.what != "contacts":
        return _import_records(settings, args)
    from bot.cli.progress import progress_bar
    from storage.importing.contacts import import_contacts

    app = build_app(settings)
    try:
        with progress_bar() as progress:
            result = import_contacts(app.store, args.file, dry_run=args.dry_run, progress=progress)
        print(result.summary())
        return 0 if not result.failed else 1
    finally:
        app.close()


def _import_records(settings: Settings, args: argparse.Namespace) -> int:
    """`contactbot import customers|vendors|bank-accounts|employees FILE.csv [--dry-run]`."""
    from bot.cli.progress import progress_bar
    from storage.importing.records import import_records
    from storage.relations.kinds import parse_kind

    kind = parse_kind(args.what, "contactbot import customers|vendors|bank-accounts|employees")
    store = open_store(settings)
    try:
        with progress_bar() as progress:
            result = import_records(store, kind, args.file, dry_run=args.dry_run, progress=progress)
        print(result.summary())
        return 0 if not result.failed else 1
    finally:
        store.dispose()
