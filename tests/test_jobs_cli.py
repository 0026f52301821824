"""`contactbot jobs list` and `contactbot jobs run <job id>` through the installed `contactbot`
command, against the Slack Web API double, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.registry import build_registry
from bot.runtime import build_app
from bot.scheduler import Timing
from tests.conftest import ChatBot, sqlite_only
from tests.slack_double import SlackDouble, slack_double

__all__ = ["slack_double"]  # the double's fixture, used below

CONTACTBOT = str(Path(sys.executable).with_name("contactbot"))
CHANNEL = "C0JOBS"


def _config(
    tmp_path: Path, settings: Settings, api_url: str, dupes: str, name: str = "config.toml"
) -> Path:
    path = tmp_path / name
    path.write_text(
        f'data_dir = "{settings.data_dir}"\n'
        f'[database]\nurl = "{settings.database_url}"\n'
        f'[slack]\napi_url = "{api_url}"\n'
        f"[dupes]\n{dupes}\n",
        encoding="utf-8",
    )
    return path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONTACTBOT_", "SLACK_"))}
    env["SLACK_BOT_TOKEN"] = "xoxb-jobs"
    return env


def contactbot(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CONTACTBOT, "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )


@pytest.fixture
def config(tmp_path: Path, settings: Settings, slack_double: SlackDouble) -> Path:
    dupes = (
        f'digest_cron = "0 9 * * mon"\ndigest_timezone = "Europe/Amsterdam"\n'
        f'digest_channel = "{CHANNEL}"'
    )
    return _config(tmp_path, settings, slack_double.url, dupes)


@pytest.fixture
def chat(settings: Settings) -> Iterator[ChatBot]:
    app = build_app(settings, build_registry())
    yield ChatBot(app)
    app.close()


def test_jobs_list_shows_every_job_with_its_next_run(config: Path) -> None:
    done = contactbot(config, "jobs", "list")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["job", "plugin", "cron", "time", "zone", "next", "run"]
    expected = Timing("0 9 * * mon", "Europe/Amsterdam").next_run()
    assert expected is not None
    assert lines[1].split() == [
        "duplicate_digest",
        "duplicate_digest",
        "0",
        "9",
        "*",
        "*",
        "mon",
        "Europe/Amsterdam",
        *expected.strftime("%Y-%m-%d %H:%M %Z").split(),
    ]
    assert len(lines) == 1 + len(build_registry().schedules)


def test_jobs_run_an_unknown_id_gets_the_ids(config: Path) -> None:
    done = contactbot(config, "jobs", "run", "weekly_report")
    assert done.returncode == 2
    assert done.stderr == "contactbot: no scheduled job `weekly_report`. Jobs: duplicate_digest.\n"
    assert done.stdout == ""


def test_jobs_run_posts_the_digest_once(
    config: Path, chat: ChatBot, slack_double: SlackDouble
) -> None:
    assert contactbot(config, "jobs", "run", "duplicate_digest").stdout == (
        "No new duplicate pairs since the last digest; nothing sent.\n"
    )
    chat.ok('new company "Acme Holding B.V." city=Amsterdam address="Damrak 1"')
    chat.ok('new company "Acme Holding BV" city=Amsterdam address="Damrak 1"')
    done = contactbot(config, "jobs", "run", "duplicate_digest")
    assert (done.returncode, done.stdout) == (0, f"Posted 1 new duplicate pair to {CHANNEL}.\n")
    [call] = slack_double.calls("chat.postMessage")
    assert call.body["channel"] == CHANNEL and "CT000002" in call.text
    again = contactbot(config, "jobs", "run", "duplicate_digest")
    assert again.returncode == 0 and "nothing sent" in again.stdout
    assert len(slack_double.calls("chat.postMessage")) == 1


def test_two_processes_at_once_post_one_digest(
    config: Path, chat: ChatBot, slack_double: SlackDouble
) -> None:
    chat.ok('new company "Globex Trading B.V." city=Utrecht address="Oudegracht 5"')
    chat.ok('new company "Globex Trading" city=Utrecht address="Oudegracht 5"')
    command = [CONTACTBOT, "--config", str(config), "jobs", "run", "duplicate_digest"]
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=_env())
        for _ in range(2)
    ]  # fmt: skip
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    said = sorted(out.split()[0] for out, _ in outputs)
    assert said in (["Another", "Posted"], ["No", "Posted"]), outputs
    assert len(slack_double.calls("chat.postMessage")) == 1


def test_jobs_run_says_what_to_fix(
    tmp_path: Path, settings: Settings, chat: ChatBot, slack_double: SlackDouble, config: Path
) -> None:
    no_channel = _config(
        tmp_path, settings, slack_double.url, 'digest_cron = "0 9 * * mon"', "no-channel.toml"
    )
    done = contactbot(no_channel, "jobs", "run", "duplicate_digest")
    assert done.returncode == 2
    assert done.stderr.startswith("contactbot: dupes.digest_channel: not set;")
    chat.ok('new company "Initech B.V." city=Delft address="Markt 2"')
    chat.ok('new company "Initech" city=Delft address="Markt 2"')
    slack_double.fail("chat.postMessage", "not_in_channel")
    done = contactbot(config, "jobs", "run", "duplicate_digest")
    assert done.returncode == 1
    assert done.stderr == (
        f"contactbot: job duplicate_digest failed: Slack refused the digest in {CHANNEL}: "
        "not_in_channel.\n"
    )
    assert "Posted 1 new" in contactbot(config, "jobs", "run", "duplicate_digest").stdout


@sqlite_only
def test_contactbot_run_schedules_the_digest_from_config(tmp_path: Path, config: Path) -> None:
    """`contactbot run` starts bot.scheduler's BackgroundScheduler: the digest is added, and
    its next wake-up is Monday 09:00 in Europe/Amsterdam as the config says."""
    log = tmp_path / "run.log"
    env = {k: v for k, v in _env().items() if k != "SLACK_BOT_TOKEN"}  # no Slack: scheduler only
    with log.open("w") as err:
        run = subprocess.Popen(
            [CONTACTBOT, "--config", str(config), "-v", "run"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
        )
    try:
        deadline = time.monotonic() + 60
        while "contactbot running: scheduler" not in log.read_text():
            assert run.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        time.sleep(0.5)  # the scheduler's first look for due jobs
    finally:
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=30) == 0
    text = log.read_text()
    assert 'Added job "duplicate_digest" to job store "default"' in text
    expected = Timing("0 9 * * mon", "Europe/Amsterdam").next_run()
    assert expected is not None
    assert f"Next wakeup is due at {expected.astimezone(dt.UTC)}" in text
