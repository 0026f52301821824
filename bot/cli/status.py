"""`contactbot status`: is every part working? Database, Slack, each mailbox, the jobs.

Prints one line per part (bot.health) and exits 0 when every configured part works, 1 when
one is failing, 2 when the database is (as every subcommand does), so a cron job or a deploy
script can act on it; `--json` prints what /healthz serves. It opens the database itself and
reports it as failing rather than stopping at it.
"""

from __future__ import annotations

import argparse
import json

from bot.config import Settings

#: The database is one of the parts reported, not a precondition (bot.cli.main).
NEEDS_DATABASE = False

#: Every part works; a part is failing; the database is (exit 2, as for every subcommand).
EXIT_OK, EXIT_FAILING, EXIT_NO_DATABASE = 0, 1, 2


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `status` to the `contactbot` parser."""
    status = subparsers.add_parser(
        "status",
        help="check the database, Slack, each mailbox and the scheduled jobs; "
        "exit 1 when one is failing",
    )
    status.add_argument("--json", action="store_true", help="print the /healthz JSON instead")
    return status


def run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.health import health_report

    report = health_report(settings)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        for line in report.lines():
            print(line)
    if report.ok:
        return EXIT_OK
    return EXIT_NO_DATABASE if report.check("database").state == "failing" else EXIT_FAILING
