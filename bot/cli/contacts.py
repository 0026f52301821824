"""`contactbot contacts from customers|vendors|bank-accounts [--filter field=value …]`.

Listed in `bot.cli.SUBCOMMAND_MODULES`, which calls `add_parser` and `run`.
"""

from __future__ import annotations

import argparse

from bot.config import Settings
from bot.runtime import open_store

#: What `contactbot contacts from` takes (Business Central makes no contacts from employees).
FROM_CHOICES = ("customers", "vendors", "bank-accounts")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `contacts from …` to the `contactbot` parser."""
    contacts = subparsers.add_parser(
        "contacts", help="contacts from customers, vendors or bank accounts"
    )
    actions = contacts.add_subparsers(dest="contacts_command", required=True, metavar="ACTION")
    from_parser = actions.add_parser(
        "from",
        help="a linked company contact for every record that has none yet (progress bar)",
    )
    from_parser.add_argument("what", choices=FROM_CHOICES)
    from_parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="only records whose field has this value (any case; * matches any text); repeatable",
    )
    return contacts


def run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.progress import progress_bar
    from storage.relations.bulk import contacts_from_records, parse_filters
    from storage.relations.kinds import parse_kind

    kind = parse_kind(args.what, "contactbot contacts from customers|vendors|bank-accounts")
    filters = parse_filters(args.filter)
    store = open_store(settings)
    try:
        with progress_bar() as progress, store.transaction() as session:
            result = contacts_from_records(session, kind, filters, progress)
        print(result.summary())
        return 0
    finally:
        store.dispose()


def interrupted(_args: argparse.Namespace) -> str:
    """What Ctrl-C leaves (bot.cli.main prints it): all of it is one transaction."""
    return "no contact was made (all of them are written in one transaction); run it again."
