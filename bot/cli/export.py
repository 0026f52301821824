"""`contactbot export contacts [--format csv|vcard] [-o FILE]`."""

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
    exporter.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    return exporter


def run(settings: Settings, args: argparse.Namespace) -> int:
    from storage.export import export_contacts

    store = open_store(settings)
    try:
        if args.output:
            with args.output.open("w", encoding="utf-8", newline="") as out:
                count = export_contacts(store, out, args.format)
            print(f"Wrote {count} contacts to {args.output}.", file=sys.stderr)
        else:
            export_contacts(store, sys.stdout, args.format)
        return 0
    finally:
        store.dispose()


def interrupted(args: argparse.Namespace) -> str:
    """What Ctrl-C leaves (bot.cli.main prints it): exporting only reads."""
    where = f"{args.output} is incomplete" if args.output else "the export is incomplete"
    return f"{where}; nothing in the database changed."
