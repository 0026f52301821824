"""`contactbot dupes scan` and `contactbot dupes export --format csv [-o FILE]`.

Listed in `bot.cli.SUBCOMMAND_MODULES`, which calls `add_parser` and `run`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import Settings
from bot.runtime import open_store


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `dupes` with its actions `scan` and `export` to the `contactbot` parser."""
    dupes = subparsers.add_parser("dupes", help="duplicate contacts: scan, export")
    actions = dupes.add_subparsers(dest="dupes_command", required=True, metavar="ACTION")
    actions.add_parser(
        "scan", help="rebuild every contact's duplicate keys and all open pairs (progress bar)"
    )
    export = actions.add_parser(
        "export", help="write the open pairs as contact_no_1,contact_no_2,score"
    )
    export.add_argument("--format", choices=["csv"], default="csv")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    return dupes


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.dupes_command == "scan":
        return _scan(settings)
    return _export(settings, args)


def _scan(settings: Settings) -> int:
    from bot.cli.progress import progress_bar
    from storage.duplicates.scan import scan

    store = open_store(settings)
    try:
        with progress_bar() as progress, store.transaction() as session:
            result = scan(session, progress)
        print(result.summary())
        return 0
    finally:
        store.dispose()


def _export(settings: Settings, args: argparse.Namespace) -> int:
    from storage.duplicates.export import export_pairs

    store = open_store(settings)
    try:
        with store.transaction() as session:
            if args.output:
                with args.output.open("w", encoding="utf-8", newline="") as out:
                    count = export_pairs(session, out, args.format)
                print(f"Wrote {count} pairs to {args.output}.", file=sys.stderr)
            else:
                export_pairs(session, sys.stdout, args.format)
        return 0
    finally:
        store.dispose()


def interrupted(args: argparse.Namespace) -> str:
    """What Ctrl-C leaves (bot.cli.main prints it): each action is one transaction."""
    if args.dupes_command == "scan":
        return (
            "the scan was rolled back: the duplicate keys and pairs are as they were before "
            "it; run `contactbot dupes scan` again."
        )
    where = f"{args.output} is incomplete" if args.output else "the list is incomplete"
    return f"{where}; nothing in the database changed."
