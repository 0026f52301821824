"""`contactbot import contacts|customers|vendors|bank-accounts|employees FILE.csv [--dry-run]`.

Named `import_` because `import` is a keyword. Contacts go through storage.importing, the
record kinds through storage.importing.records; both print a summary and exit 1 when a row
was refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import Settings
from bot.runtime import build_app, open_store

#: What `contactbot import` takes: contacts, and the records a contact can be linked to.
CHOICES = ("contacts", "customers", "vendors", "bank-accounts", "employees")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `import` to the `contactbot` parser."""
    importer = subparsers.add_parser(
        "import",
        help="import records from CSV: good rows written in one transaction, failed rows "
        "to FILE.errors.csv",
        description="Import contacts or business-relation records from a CSV file whose "
        "header names the fields. Rows that fail go to FILE.errors.csv with line and reason.",
    )
    importer.add_argument("what", choices=list(CHOICES))
    importer.add_argument("file", type=Path, help="the CSV file (a header row names the fields)")
    importer.add_argument("--dry-run", action="store_true", help="only validate; write nothing")
    return importer


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.what != "contacts":
        return _import_records(settings, args)
    from bot.cli.progress import progress_bar
    from storage.importing.contacts import import_contacts

    app = build_app(settings)
    try:
        try:
            with progress_bar() as bar:
                result = import_contacts(app.store, args.file, dry_run=args.dry_run, progress=bar)
        except KeyboardInterrupt:  # after the bar is closed, so the line stands on its own
            print(f"contactbot: interrupted; {interrupted(args)}", file=sys.stderr)
            return EXIT_INTERRUPTED
        print(result.summary())
        return 0 if not result.failed else 1
    finally:
        app.close()


#: As bot.cli.EXIT_INTERRUPTED (not imported: bot.cli imports this module).
EXIT_INTERRUPTED = 130


def interrupted(args: argparse.Namespace) -> str:
    """What Ctrl-C left: nothing, since the rows and their duplicate keys are written in one
    transaction (storage.importing.writer)."""
    if args.dry_run:
        return "dry run: nothing was written."
    return (
        f"nothing of {args.file} was imported (the rows are written in one transaction); "
        "run the import again."
    )


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
