"""`contactbot shell [--demo] [-c COMMAND]`: the command prompt, scriptable from stdin."""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from bot.config import Settings
from bot.runtime import build_app


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add `shell` to the `contactbot` parser."""
    shell = subparsers.add_parser("shell", help="the command prompt (scriptable from stdin)")
    shell.add_argument(
        "--demo",
        action="store_true",
        help="load a small demo data set into a fresh temporary database first",
    )
    shell.add_argument("-c", dest="run", metavar="COMMAND", help="run one command and exit")
    return shell


def _demo_settings(settings: Settings) -> Settings:
    """The same settings on a fresh SQLite file, so the demo never touches real data."""
    directory = Path(tempfile.mkdtemp(prefix="contactbot-demo-"))
    return replace(settings, data_dir=directory, database_url=f"sqlite:///{directory / 'demo.db'}")


def run(settings: Settings, args: argparse.Namespace) -> int:
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


def interrupted(_args: argparse.Namespace) -> str:
    """What Ctrl-C leaves (bot.cli.main prints it): each command is one transaction."""
    return "a command that was running was rolled back; the ones before it are kept."
