"""`contactbot mail sync [--once]`, `contactbot mail run` and `contactbot mail status`: the IMAP
email-logging worker, and where each mailbox stands (exit 1 when one is failing)."""

from __future__ import annotations

import argparse
import sys

from bot.cli.signals import stop_on_signals
from bot.config import Settings
from bot.mail.worker import MailWorker, SyncReport
from bot.runtime import App, build_app


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `mail` with its actions `sync` and `run` to the `contactbot` parser."""
    mail = subparsers.add_parser("mail", help="the IMAP email-logging worker")
    actions = mail.add_subparsers(dest="mail_command", required=True, metavar="ACTION")
    sync = actions.add_parser("sync", help="read every configured mailbox once")
    sync.add_argument("--once", action="store_true", help="read once and exit (default)")
    actions.add_parser("run", help="keep mailboxes in sync (IMAP IDLE or polling)")
    actions.add_parser(
        "status", help="each mailbox's state, last sync and mail logged (exit 1 if failing)"
    )
    return mail


def make_worker(app: App) -> MailWorker:
    """The worker for every configured mailbox, refusing a bad account before any is read."""
    worker = MailWorker(app.store, app.registry, app.settings, dispatcher=app.dispatcher)
    worker.check_accounts()
    return worker


#: `mail sync` exit codes: every folder read; a mailbox could not be read (connection,
#: login, database); every mailbox read, but a configured folder would not open.
EXIT_OK, EXIT_ERROR, EXIT_FOLDER_WARNING = 0, 1, 3


def sync_exit_code(report: SyncReport) -> int:
    """Errors win over warnings: a cron job sees 1 for a mailbox not read at all and 3 for a
    folder missing from an otherwise read mailbox (the report names it)."""
    if report.errors:
        return EXIT_ERROR
    return EXIT_FOLDER_WARNING if report.warnings else EXIT_OK


def run(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.mail.accounts:
        print(
            "contactbot: no mailboxes configured; add [[mail.accounts]] tables to the config "
            "(see config.example.toml).",
            file=sys.stderr,
        )
        return 2
    app = build_app(settings)
    try:
        if args.mail_command == "status":
            return show_status(app)
        worker = make_worker(app)
        if args.mail_command == "sync":
            report = worker.sync_once()
            for line in report.lines():
                print(line)
            return sync_exit_code(report)
        stop_on_signals(worker.stop)
        worker.run()
        return 0
    finally:
        app.close()


def show_status(app: App) -> int:
    """Print each mailbox's state; 1 when one is failing, else 0."""
    from bot.mail.status import any_failing, mailbox_states, status_lines

    states = mailbox_states(app)
    for line in status_lines(states):
        print(line)
    return EXIT_ERROR if any_failing(states) else EXIT_OK


def interrupted(_args: argparse.Namespace) -> str:
    """What Ctrl-C leaves during `mail sync` (`mail run` stops on the signal by itself)."""
    return "the mail logged so far is kept; the next sync goes on after the last batch written."
