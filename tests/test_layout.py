"""The layout issue 13 asks for, kept: one module per `contactbot` subcommand, one clock, no
import circle in the configuration, and the runtime's top level free of the Slack adapter."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import subprocess
import sys
from pathlib import Path

from bot.cli import SUBCOMMAND_MODULES, _parser
from storage.clock import utcnow, utcnow_aware

ROOT = Path(__file__).resolve().parents[1]
SUBCOMMANDS = [
    "shell",
    "db",
    "import",
    "export",
    "mail",
    "run",
    "slack",
    "dupes",
    "contacts",
    "jobs",
]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_every_subcommand_has_its_module_in_bot_cli() -> None:
    choices = next(action.choices for action in _parser()._actions if action.dest == "command")
    assert list(choices) == SUBCOMMANDS
    for name in SUBCOMMAND_MODULES:
        module = importlib.import_module(name)
        assert name.startswith("bot.cli.") and callable(module.add_parser), name
        assert callable(module.run), name
    assert [n.removeprefix("bot.cli.").rstrip("_") for n in SUBCOMMAND_MODULES] == SUBCOMMANDS


def test_the_runtime_top_level_does_not_import_the_slack_adapter() -> None:
    """bot/*.py (not bot/cli, bot/slack) names no bot.slack module: the digest's Slack message
    lives in bot/slack/digest_message.py."""
    offenders = {
        path.name: sorted(n for n in _imports(path) if n.startswith("bot.slack"))
        for path in (ROOT / "bot").glob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_config_parsers_do_not_import_bot_config() -> None:
    """`[mail]` and the digest's `[dupes]` raise ConfigError from bot.config_errors, so
    importing them does not pull in bot.config, which imports `[mail]`'s (the circle is gone,
    not just deferred)."""
    code = (
        "import sys, bot.mail.config, plugins.digest_settings; "
        "assert 'bot.config' not in sys.modules, 'bot.config imported'; "
        "from bot.config import ConfigError; from bot.config_errors import ConfigError as E; "
        "assert ConfigError is E"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_one_clock() -> None:
    """utcnow() is naive UTC (what every DateTime column stores), utcnow_aware() is the same
    instant with tzinfo=UTC; no module keeps a private copy."""
    before = dt.datetime.now(dt.UTC)
    naive, aware = utcnow(), utcnow_aware()
    after = dt.datetime.now(dt.UTC)
    assert naive.tzinfo is None and aware.tzinfo is dt.UTC
    assert before.replace(tzinfo=None) <= naive <= after.replace(tzinfo=None)
    assert before <= aware <= after
    copies = [
        str(path.relative_to(ROOT))
        for folder in ("bot", "plugins", "storage")
        for path in (ROOT / folder).rglob("*.py")
        if "def _utcnow" in path.read_text(encoding="utf-8")
    ]
    assert copies == []
