"""`contactbot import contacts|customers|vendors|bank-accounts|employees FILE [options]`.

Named `import_` because `import` is a keyword. Contacts come from a CSV file
(storage.importing.contacts) or a vCard file (storage.importing.vcard: by the `.vcf`/`.vcard`
extension or `--format vcard`); the record kinds from CSV (storage.importing.records). Each
prints a summary and exits 1 when a row was refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import Settings
from bot.runtime import build_app, open_store

#: What `contactbot import` takes: contacts, and the records a contact can be linked to.
CHOICES = ("contacts", "customers", "vendors", "bank-accounts", "employees")
VCARD_SUFFIXES = (".vcf", ".vcard")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `import` to the `contactbot` parser."""
    importer = subparsers.add_parser(
        "import",
        help="import contacts (CSV or vCard) or records (CSV): good rows written in one "
        "transaction, what was left out to FILE.errors.csv",
        description="Import contacts from a CSV or vCard file, or business-relation records "
        "from a CSV file whose header names the fields. What is left out or refused goes to "
        "FILE.errors.csv with line, field and reason.",
    )
    importer.add_argument("what", choices=list(CHOICES))
    importer.add_argument(
        "file",
        type=Path,
        help="the CSV file (a header row names the fields) or, for contacts, a .vcf file",
    )
    importer.add_argument("--dry-run", action="store_true", help="only validate; write nothing")
    importer.add_argument(
        "--strict",
        action="store_true",
        help="refuse a row with a bad value (default: leave it out)",
    )
    importer.add_argument("--encoding", help="the file's encoding (default: detected)")
    importer.add_argument(
        "--delimiter", help="the CSV delimiter: , ; tab (default: detected from the header)"
    )
    importer.add_argument(
        "--format",
        choices=("csv", "vcard"),
        help="contacts: the file's format (default: by extension)",
    )
    return importer


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.what != "contacts":
        return _import_records(settings, args)
    from bot.cli.progress import progress_bar
    from storage.importing.contacts import import_contacts
    from storage.importing.vcard import import_vcards

    vcard = args.format == "vcard" or (
        args.format is None and args.file.suffix.lower() in VCARD_SUFFIXES
    )
    app = build_app(settings)
    try:
        try:
            with progress_bar() as progress:
                options = {"dry_run": args.dry_run, "progress": progress, "strict": args.strict}
                if vcard:
                    result = import_vcards(app.store, args.file, encoding=args.encoding, **options)
                else:
                    result = import_contacts(
                        app.store,
                        args.file,
                        encoding=args.encoding,
                        delimiter=args.delimiter,
                        **options,
                    )
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
    """`contactbot import customers|vendors|bank-accounts|employees FILE.csv [options]`."""
    from bot.cli.progress import progress_bar
    from storage.importing.records import import_records
    from storage.relations.kinds import parse_kind

    kind = parse_kind(args.what, "contactbot import customers|vendors|bank-accounts|employees")
    if args.format == "vcard":
        print(f"--format vcard imports contacts only; {args.what} come from CSV.")
        return 2
    store = open_store(settings)
    try:
        with progress_bar() as progress:
            result = import_records(
                store,
                kind,
                args.file,
                dry_run=args.dry_run,
                progress=progress,
                strict=args.strict,
                encoding=args.encoding,
                delimiter=args.delimiter,
            )
        print(result.summary())
        return 0 if not result.failed else 1
    finally:
        store.dispose()
