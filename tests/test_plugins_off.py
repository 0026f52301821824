"""A plugin switched off leaves no trace (issue 13), in fresh processes: `contactbot shell`
with a config file whose `[plugins] enabled` leaves one out."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.registry import available_plugins, build_registry
from bot.runtime import build_app
from tests.test_shell_cli import Cli

ACME = 'new company "Acme Holding B.V." address="Keizersgracht 1" city=Amsterdam'
AGAIN = 'new company "Acme Holding BV" address="Keizersgracht 1" city=Amsterdam'


def config_without(tmp_path: Path, *left_out: str) -> Path:
    enabled = [name for name in available_plugins() if name not in left_out]
    path = tmp_path / f"without-{'-'.join(left_out)}.toml"
    path.write_text(
        "[plugins]\nenabled = [" + ", ".join(f'"{name}"' for name in enabled) + "]\n",
        encoding="utf-8",
    )
    return path


def test_without_duplicates_new_says_nothing_of_duplicates_and_help_lists_none(
    tmp_path: Path,
) -> None:
    cli = Cli(tmp_path)
    config = config_without(tmp_path, "duplicates", "duplicate_digest")
    full = cli.run("shell", stdin=f"{ACME}\n")
    assert full.returncode == 0, full.stdout + full.stderr
    again = cli.run("--config", str(config), "shell", "-c", AGAIN)
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.startswith("Created company CT000002: Acme Holding BV")
    assert "duplicate" not in again.stdout.lower()
    assert "Merge" not in again.stdout and "separate" not in again.stdout
    helped = cli.run("--config", str(config), "shell", "-c", "help")
    assert helped.returncode == 0, helped.stdout + helped.stderr
    listed = {line.split()[0].strip("`") for line in helped.stdout.splitlines() if line.strip()}
    assert "new" in listed
    assert not {"merge", "unmerge", "separate", "dupes"} & listed, helped.stdout
    # with every plugin on, the warning and its buttons are there (CT000002, made while the
    # plugin was off, has no keys until `dupes scan`: only CT000001 is named)
    warned = cli.run("shell", "-c", AGAIN.replace("BV", "B V"))
    assert "possible duplicate of CT000001" in warned.stdout, warned.stdout
    assert "Merge: `merge CT000003 into CT000001`" in warned.stdout, warned.stdout


def test_without_duplicates_the_digest_cannot_be_enabled_alone(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    config = config_without(tmp_path, "duplicates")
    refused = cli.run("--config", str(config), "shell", "-c", "help")
    assert refused.returncode != 0
    assert "Plugin `duplicate_digest` needs `duplicates`, which is not enabled." in (
        refused.stdout + refused.stderr
    )
    assert "Traceback" not in refused.stderr


def test_without_relations_show_has_no_relations_and_create_as_is_unknown(
    tmp_path: Path,
) -> None:
    cli = Cli(tmp_path)
    made = cli.run("shell", stdin=f"{ACME}\ncreate-as CT000001 customer\nshow CT000001\n")
    assert made.returncode == 0, made.stdout + made.stderr
    assert "Business relations" in made.stdout  # with the plugin on, the card lists them
    config = config_without(tmp_path, "relations")
    shown = cli.run("--config", str(config), "shell", "-c", "show CT000001")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "Acme Holding B.V." in shown.stdout
    assert "Business relations" not in shown.stdout and "C00001" not in shown.stdout
    unknown = cli.run("--config", str(config), "shell", "-c", "create-as CT000001 vendor")
    assert unknown.returncode == 1
    assert "Unknown command `create-as`" in unknown.stdout


def test_a_card_offers_no_button_of_a_plugin_that_is_off(settings: Settings) -> None:
    """The contact card's Salutation button belongs to the salutations plugin."""
    names = [name for name in available_plugins() if name != "salutations"]
    app = build_app(settings, build_registry(names))
    try:
        reply = app.run('new company "Acme Holding B.V."')
        commands = [action.command for action in reply.cards[0].actions]
        assert commands == ["set CT000001", "delete CT000001"]
    finally:
        app.close()
    app = build_app(settings, build_registry())
    try:
        commands = [action.command for action in app.run("show CT000001").cards[0].actions]
        assert "salutation CT000001 formal" in commands
    finally:
        app.close()
