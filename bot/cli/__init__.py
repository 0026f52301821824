"""The `contactbot` command: one module per subcommand, assembled here.

Each module in `SUBCOMMAND_MODULES` has `add_parser(subparsers) -> ArgumentParser` and
`run(settings, args) -> int`; `main` loads the settings and calls the chosen one. A bad
configuration or bad input is reported as one line on standard error with exit status 2, never
a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from bot.config import ConfigError, load_settings
from bot.registry import RegistryError
from bot.runtime import App
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
)


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
        module.add_parser(commands).set_defaults(subcommand=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = load_settings(args.config)
        return args.subcommand(settings, args)
    except (ConfigError, RegistryError, UserError) as error:
        print(f"contactbot: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


__all__ = ["App", "main"]
