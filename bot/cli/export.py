"""`contactbot export contacts [--format csv|vcard] [--vcard-version 3.0|4.0] [--excel]
[--delimiter ,|;|tab] [-o FILE]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import Settings
from bot.runtime import open_store


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `export` to the `contactbot` parser."""
    exporter = subparsers.add_parser("export", help="export records")
    exporter.add_argument("what", choices=["contacts"])
    exporter.add_argument("--format", choices=["csv", "vcard"], default="csv")
    exporter.add_argument(
        "--vcard-version", choices=["4.0", "3.0"], default="4.0",
        help="vCard version (3.0 for Google Contacts, iCloud, older Outlook; default 4.0)",
    )  # fmt: skip
    exporter.add_argument(
        "--excel", action="store_true",
        help="CSV for Excel: with a byte-order mark, so accented names are not garbled",
    )  # fmt: skip
    exporter.add_argument(
        "--delimiter", choices=[",", ";", "tab"], default=",",
        help="CSV separator (`;` for Excel where the decimal separator is a comma)",
    )  # fmt: skip
    exporter.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    return exporter


def run(settings: Settings, args: argparse.Namespace) -> int:
    from storage.export import export_contacts

    options = {
        "vcard_version": args.vcard_version,
        "excel": args.excel,
        "delimiter": args.delimiter,
    }
    store = open_store(settings)
    try:
        if args.output:
            with args.output.open("w", encoding="utf-8", newline="") as out:
                count = export_contacts(store, out, args.format, **options)
            print(f"Wrote {count} contacts to {args.output}.", file=sys.stderr)
        else:
            export_contacts(store, sys.stdout, args.format, **options)
        return 0
    finally:
        store.dispose()


def interrupted(args: argparse.Namespace) -> str:
    """What Ctrl-C leaves (bot.cli.main prints it): exporting only reads."""
    where = f"{args.output} is incomplete" if args.output else "the export is incomplete"
    return f"{where}; nothing in the database changed."
