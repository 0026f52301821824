"""The `contactbot` command: one module per subcommand, assembled here.

Each module in `SUBCOMMAND_MODULES` has `add_parser(subparsers) -> ArgumentParser` and
`run(settings, args) -> int`; `main` loads the settings and calls the chosen one. Nothing a
user can cause ends in a traceback:

- a bad configuration or bad input is one line on standard error with exit status 2;
- a database that cannot be opened is one line naming it (password hidden) and what to check,
  exit status 2, for every subcommand: it is probed before the subcommand runs (a module that
  needs no database says `NEEDS_DATABASE = False`), and a connection lost later gets the same;
- a reader that closes the pipe early (`contactbot export contacts | head`) ends it quietly;
- Ctrl-C ends with a line saying what was kept (the module's `interrupted(args)`, else a
  plain "interrupted"), exit status 130.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from sqlalchemy.exc import SQLAlchemyError

from bot.cli.signals import interrupt_main_process_only
from bot.config import ConfigError, load_settings
from bot.registry import RegistryError
from bot.runtime import App
from storage.connect_errors import DatabaseUnreachable, describe, probe
from storage.errors import UserError

log = logging.getLogger(__name__)

#: The subcommands, in the order `contactbot --help` lists them. Add a module (and a line here)
#: rather than growing this file.
SUBCOMMAND_MODULES = (
    "bot.cli.shell",
    "bot.cli.db",
    "bot.cli.import_",
    "bot.cli.export",
    "bot.cli.mail",
    "bot.cli.run",
    "bot.cli.slack",
    "bot.cli.dupes",
    "bot.cli.contacts",
    "bot.cli.jobs",
    "bot.cli.status",
)

#: Exit status of a run ended by Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


def _subcommand_modules() -> list[ModuleType]:
    return [importlib.import_module(name) for name in SUBCOMMAND_MODULES]


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
    for module in _subcommand_modules():
        module.add_parser(commands).set_defaults(subcommand=module.run, module=module)
    return parser


def _needs_database(module: ModuleType, args: argparse.Namespace) -> bool:
    needs = getattr(module, "NEEDS_DATABASE", True)
    return bool(needs(args) if callable(needs) else needs)


def _interrupted_line(module: ModuleType, args: argparse.Namespace) -> str:
    explain = getattr(module, "interrupted", None)
    return f"contactbot: interrupted; {explain(args)}" if explain else "contactbot: interrupted."


def _quiet_stdout() -> None:
    """The reader went away: point standard output at /dev/null so that the interpreter's
    final flush has nowhere to fail (Python's documented recipe for SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    finally:
        os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    interrupt_main_process_only()
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    url = ""
    try:
        settings = load_settings(args.config)
        url = settings.database_url
        if _needs_database(args.module, args):
            probe(url, settings.data_dir)
        return args.subcommand(settings, args)
    except (ConfigError, RegistryError, UserError, DatabaseUnreachable) as error:
        print(f"contactbot: {error}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:  # the database went away after the probe, or refused
        log.debug("database error", exc_info=True)
        print(f"contactbot: {describe(url, error)}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        print(_interrupted_line(args.module, args), file=sys.stderr)
        return EXIT_INTERRUPTED


__all__ = ["App", "main"]
