"""The `contactbot` command: shell, database, import, export, mail, Slack and run.

Each subcommand builds the same App (settings, store, registry) and reports a bad
configuration or bad input as one line on standard error with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType

from bot.config import ConfigError, Settings, load_settings
from bot.registry import RegistryError
from bot.runtime import App, build_app, open_store, seed_from_config
from storage.database import Store
from storage.errors import UserError
from storage.files import private_dir

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contactbot",
        description="Contacts the Business Central way, in Slack, your mailbox and a shell.",
    )
    parser.add_argument(
        "--config",
        help="configuration file (default: $CONTACTBOT_CONFIG, "
        "./config.toml, then the user config directory)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    shell = commands.add_parser("shell", help="the command prompt (scriptable from stdin)")
    shell.add_argument(
        "--demo",
        action="store_true",
        help="load a small demo data set into a fresh temporary database first",
    )
    shell.add_argument("-c", dest="run", metavar="COMMAND", help="run one command and exit")

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="migrate the database to the newest schema")
    db_commands.add_parser("current", help="print the schema revision")

    importer = commands.add_parser("import", help="import records from CSV")
    importer.add_argument(
        "what", choices=["contacts", "customers", "vendors", "bank-accounts", "employees"]
    )
    importer.add_argument("file", type=Path)
    importer.add_argument("--dry-run", action="store_true", help="only validate; write nothing")

    exporter = commands.add_parser("export", help="export records")
    exporter.add_argument("what", choices=["contacts"])
    exporter.add_argument("--format", choices=["csv", "vcard"], default="csv")
    exporter.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")

    mail = commands.add_parser("mail", help="the IMAP email-logging worker")
    mail_commands = mail.add_subparsers(dest="mail_command", required=True, metavar="ACTION")
    mail_sync = mail_commands.add_parser("sync", help="read every configured mailbox once")
    mail_sync.add_argument("--once", action="store_true", help="read once and exit (default)")
    mail_commands.add_parser("run", help="keep mailboxes in sync (IMAP IDLE or polling)")
    commands.add_parser("run", help="start what is configured: Slack, mail worker, scheduler")

    from bot.slack.startup import add_arguments as add_slack_arguments

    slack = commands.add_parser(
        "slack",
        help="the Slack bot: Socket Mode (SLACK_BOT_TOKEN, SLACK_APP_TOKEN), "
        "or --http (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)",
    )
    add_slack_arguments(slack)

    for module in _subcommand_modules():
        module.add_parser(commands).set_defaults(subcommand=module.run)
    return parser


#: Subcommands that live in a module of their own, one per concern: each module has
#: `add_parser(subparsers) -> ArgumentParser` and `run(settings, args) -> int`. Add a line here
#: rather than growing this file.
SUBCOMMAND_MODULES = ("bot.cli.dupes", "bot.cli.contacts", "bot.cli.jobs")


def _subcommand_modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in SUBCOMMAND_MODULES]


def _demo_settings(settings: Settings) -> Settings:
    directory = Path(tempfile.mkdtemp(prefix="contactbot-demo-"))
    return replace(settings, data_dir=directory, database_url=f"sqlite:///{directory / 'demo.db'}")


def _cmd_shell(settings: Settings, args: argparse.Namespace) -> int:
    from bot.shell import run_shell
    from storage.demo import load_demo

    if args.demo:
        settings = _demo_settings(settings)
    app = build_app(settings)
    try:
        if args.demo:
            with app.store.transaction() as session:
                load_demo(session)
            print(
                f"Demo data loaded into {settings.database_url.removeprefix('sqlite:///')}.",
                file=sys.stderr,
            )
        return run_shell(app, args.run)
    finally:
        app.close()


def _cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    if args.db_command == "current":
        store = Store(settings.database_url)
        print(f"{store.current_revision() or 'empty'} (newest: {store.head_revision()})")
        return 0
    if settings.database_url.startswith("sqlite:///"):
        private_dir(settings.data_dir)  # the whole CRM: owner only
    store = Store(settings.database_url)
    was_empty = store.current_revision() is None
    store.migrate()
    if was_empty:
        seed_from_config(store, settings)
    print(f"Database at schema {store.current_revision()}.")
    return 0


def _cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.progress import progress_bar
    from storage.csv_import import import_contacts

    if args.what != "contacts":
        from bot.cli.contacts import import_command

        return import_command(settings, args)
    app = build_app(settings)
    try:
        with progress_bar() as progress:
            result = import_contacts(app.store, args.file, dry_run=args.dry_run, progress=progress)
        print(result.summary())
        return 0 if not result.failed else 1
    finally:
        app.close()


def _cmd_export(settings: Settings, args: argparse.Namespace) -> int:
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


def _cmd_mail(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.run import mail_command

    return mail_command(settings, args)


def _cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli.run import run_everything

    return run_everything(settings, args)


def _cmd_slack(settings: Settings, args: argparse.Namespace) -> int:
    from bot.slack.startup import slack_command

    return slack_command(settings, args)


HANDLERS = {
    "shell": _cmd_shell,
    "db": _cmd_db,
    "import": _cmd_import,
    "export": _cmd_export,
    "mail": _cmd_mail,
    "run": _cmd_run,
    "slack": _cmd_slack,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(args.config)
        handler = getattr(args, "subcommand", None) or HANDLERS[args.command]
        return handler(settings, args)
    except (ConfigError, RegistryError, UserError) as error:
        print(f"contactbot: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


__all__ = ["App", "main"]
