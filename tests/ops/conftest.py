"""Fixtures of the operations tests: `contactbot` run as a subprocess, the way a team's
deployment runs it, with the mail tests' Dovecot and the Slack Web API double at hand."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.mail.conftest import dovecot, dovecot_server, mailbox
from tests.slack_double import slack_double

__all__ = ["CliResult", "contactbot", "dovecot", "dovecot_server", "mailbox", "slack_double"]

#: The installed console script, as a team runs it.
SCRIPT = shutil.which("contactbot", path=str(Path(sys.executable).parent)) or "contactbot"

#: Variables of the test runner's environment a subcommand must not see (it would find a
#: developer's config, tokens or database instead of the test's).
_SCRUBBED = (
    "CONTACTBOT_CONFIG",
    "CONTACTBOT_DATABASE_URL",
    "CONTACTBOT_DATA_DIR",
    "CONTACTBOT_SLACK_API_URL",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
)


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def cli_env(work: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env["CONTACTBOT_DATA_DIR"] = str(work / "data")
    env["HOME"] = str(work)  # no user config directory of the developer's
    env.update(extra or {})
    return env


def contactbot(
    work: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> CliResult:
    """`contactbot ARGS` in a fresh process, in `work`, with `env` on top of a clean one."""
    done = subprocess.run(
        [SCRIPT, *args],
        cwd=work,
        env=cli_env(work, env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)
