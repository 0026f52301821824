"""The example plugin package of docs/plugins.md (examples/account_care), installed the way a
team installs a plugin (pip, from its own pyproject.toml, beside contactbot) and driven in fresh
processes through `contactbot`: its command, its reply addition to `show`, its store rule, its
scheduled job and its configuration table, on SQLite and PostgreSQL; and switched off, nothing
of it is left."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.registry import available_plugins
from tests.test_shell_cli import Cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "account_care"

SCRIPT = "\n".join(
    [
        'codes salespeople add SAM name="Sam Sales"',
        'new company "Acme Holding" city=Amsterdam',  # CT000001: talked to in January
        'new company "Beta BV"',  # CT000002: talked to today
        'new company "Gamma GmbH"',  # CT000003: never talked to
        'new person "Anna Berg" company=CT000001',  # CT000004: Acme's person
        'log CT000004 CALL "intro" date=2026-01-05',
        'log CT000002 CALL "catch-up"',
    ]
)


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example installed with pip into a folder of its own (put on PYTHONPATH below), built
    from a copy so the build leaves nothing in the repository, and with nothing downloaded."""
    work = tmp_path_factory.mktemp("account_care")
    source = work / "source"
    shutil.copytree(EXAMPLE, source)
    site = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(site),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert list(site.glob("contactbot_account_care-*.dist-info"))
    return site


def _cli(tmp_path: Path, database_url: str, site: Path) -> Cli:
    cli = Cli(tmp_path, database_url)
    cli.env["PYTHONPATH"] = str(site)
    return cli


def _config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_the_installed_plugin_adds_its_command_note_rule_job_and_table(
    tmp_path: Path, database_url: str, plugin_site: Path
) -> None:
    cli = _cli(tmp_path, database_url, plugin_site)
    config = _config(
        tmp_path,
        '[account_care]\nstale_days = 30\nreport_cron = "30 6 * * tue"\n'
        'report_timezone = "Europe/Amsterdam"\n',
    )
    made = cli.run("--config", config, "shell", stdin=SCRIPT + "\n")
    assert made.returncode == 0, made.stdout + made.stderr

    stale = cli.run("--config", config, "shell", "-c", "stale")
    assert stale.returncode == 0, stale.stdout + stale.stderr
    assert stale.stdout.startswith("2 companies with no interaction for 30 days:"), stale.stdout
    rows = [line.split()[0] for line in stale.stdout.splitlines() if line.startswith("CT")]
    assert rows == ["CT000003", "CT000001"]  # never, then the longest silent; Beta is current
    assert "2026-01-05" in stale.stdout and "never" in stale.stdout

    shown = cli.run("--config", config, "shell", "-c", "show CT000001")
    assert "Account care: no interaction with CT000001's account since 2026-01-05" in (
        shown.stdout
    ), shown.stdout
    current = cli.run("--config", config, "shell", "-c", "show CT000002")
    assert "Account care" not in current.stdout, current.stdout

    handed = cli.run("--config", config, "shell", "-c", "set CT000001 salesperson=SAM")
    assert handed.returncode == 0, handed.stdout + handed.stderr
    history = cli.run("--config", config, "shell", "-c", "history CT000001")
    assert "HANDOVER" in history.stdout and "Handed over to SAM" in history.stdout
    assert history.stdout.count("HANDOVER") == 1, history.stdout  # not once per person too
    again = cli.run("--config", config, "shell", "-c", "stale 30")
    assert again.stdout.startswith("2 companies"), again.stdout  # a handover is no talk

    listed = cli.run("--config", config, "jobs", "list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    line = next(row for row in listed.stdout.splitlines() if row.startswith("stale_accounts"))
    assert line.split()[1:5] == ["account_care", "30", "6", "*"], line  # [account_care]'s line
    assert "Europe/Amsterdam" in line
    ran = cli.run("--config", config, "jobs", "run", "stale_accounts")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.startswith(
        "2 companies have had no interaction for 30 days (longest: CT000003 Gamma GmbH, since ever)"
    ), ran.stdout

    helped = cli.run("--config", config, "shell", "-c", "help stale")
    assert helped.stdout.startswith("Usage: stale [days]"), helped.stdout
    wrong = cli.run("--config", config, "shell", "-c", "stale soon")
    assert "`soon` is not a number of days from 1 to 3650. Usage: stale [days]" in wrong.stdout


def test_switched_off_the_plugin_leaves_no_trace(
    tmp_path: Path, database_url: str, plugin_site: Path
) -> None:
    cli = _cli(tmp_path, database_url, plugin_site)
    enabled = [name for name in available_plugins() if name != "account_care"]
    assert "account_care" not in enabled  # this process has not installed it
    config = _config(
        tmp_path,
        "[plugins]\nenabled = [" + ", ".join(f'"{n}"' for n in enabled) + "]\n"
        "[account_care]\nstale_days = 30\n",  # its table stays: ignored while it is off
    )
    made = cli.run("--config", config, "shell", stdin=SCRIPT + "\nset CT000001 salesperson=SAM\n")
    assert made.returncode == 0, made.stdout + made.stderr
    stale = cli.run("--config", config, "shell", "-c", "stale")
    assert "Unknown command `stale`" in stale.stdout, stale.stdout
    shown = cli.run("--config", config, "shell", "-c", "show CT000001")
    assert "Account care" not in shown.stdout
    history = cli.run("--config", config, "shell", "-c", "history CT000001")
    assert "HANDOVER" not in history.stdout, history.stdout
    listed = cli.run("--config", config, "jobs", "list")
    assert "stale_accounts" not in listed.stdout
    helped = cli.run("--config", config, "shell", "-c", "help")
    assert "stale" not in helped.stdout


def test_what_it_needs_and_a_bad_table_are_refused_at_start(
    tmp_path: Path, plugin_site: Path
) -> None:
    cli = _cli(tmp_path, f"sqlite:///{tmp_path / 'data' / 'contactbot.db'}", plugin_site)
    alone = _config(tmp_path, '[plugins]\nenabled = ["help", "contacts", "account_care"]\n')
    refused = cli.run("--config", alone, "shell", "-c", "help")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.strip() == (
        "contactbot: Plugin `account_care` needs `interactions`, which is not enabled. Enable "
        "`interactions` in [plugins] enabled, or leave out `account_care`."
    )
    bad = _config(tmp_path, '[account_care]\nstale_days = "soon"\n')
    refused = cli.run("--config", bad, "shell", "-c", "help")
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "contactbot: account_care.stale_days: expected a whole number of days from 1 to 3650."
    )
    assert "Traceback" not in refused.stderr


def test_the_plugins_own_tests_pass_with_the_chat_style_driver(
    tmp_path: Path, plugin_site: Path
) -> None:
    """The example's tests (docs/plugins.md, "Testing a plugin") run as its author runs them:
    pytest in the plugin's folder, on bot.testing, with the plugin installed."""
    folder = tmp_path / "account_care"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**Cli(tmp_path).env, "PYTHONPATH": str(plugin_site)}
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "5 passed" in ran.stdout, ran.stdout
