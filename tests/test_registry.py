"""The registry: decorators only attach specs, a fresh Registry collects them, plugins come
through the `contactbot.plugins` entry-point group and config's enabled list, and `help` is
written from what was registered."""

from __future__ import annotations

import sys
import textwrap
import types
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

import bot.registry as registry_module
from bot.config import Settings, load_settings
from bot.dispatcher import Context
from bot.registry import (
    SPEC_ATTRIBUTE,
    CommandSpec,
    Registry,
    RegistryError,
    build_registry,
    command,
    config_table,
    schedule,
)
from bot.reply import Reply
from bot.runtime import build_app
from tests.conftest import ChatBot, sqlite_only

BUILT_INS = {"help", "contacts", "codes", "setup", "assignments", "addresses", "salutations"}


def _plugin(name: str, source: str) -> types.ModuleType:
    """A single-file plugin, as a third party would write it."""
    module = types.ModuleType(name)
    exec(textwrap.dedent(source), module.__dict__)
    return module


GREETER = """
from bot.registry import command
from bot.reply import Reply

@command("greet", usage="greet <name>")
def greet(ctx):
    '''Say hello to someone.

    `greet Ada` answers "Hello, Ada!".
    '''
    return Reply(text=f"Hello, {ctx.args.rest(0)}!")
"""


def test_decorators_only_attach_specs_and_register_nothing() -> None:
    before = {verb: spec.plugin for verb, spec in build_registry().commands.items()}

    @command("zap", usage="zap <no>", roles=("admin",), confirm=True)
    def zap(ctx: Context) -> Reply:
        """Zap a contact."""
        return Reply(text="zapped")

    (spec,) = getattr(zap, SPEC_ATTRIBUTE)
    assert isinstance(spec, CommandSpec)
    assert (spec.verb, spec.usage, spec.roles, spec.confirm) == (
        "zap",
        "zap <no>",
        frozenset({"admin"}),
        True,
    )
    assert spec.handler is zap and spec.plugin == ""
    assert zap(None).text == "zapped"  # still the plain function
    after = {verb: spec.plugin for verb, spec in build_registry().commands.items()}
    assert after == before and "zap" not in after


def test_a_fresh_registry_collects_commands_schedules_and_tables_of_one_module() -> None:
    module = types.ModuleType("tiny")

    @command("ping")
    def ping(ctx: Context) -> Reply:
        """Answer pong."""
        return Reply(text="pong")

    @config_table("tiny")
    def tiny_settings(table: dict[str, str] | None) -> str:
        return (table or {}).get("greeting", "hi")

    @schedule("tiny.nightly", cron="0 3 * * *")
    def nightly() -> None:
        return None

    module.ping, module.tiny_settings, module.nightly = ping, tiny_settings, nightly
    registry = Registry()
    assert registry.commands == {} and registry.plugins == []
    registry.add_plugin(module, "tiny")
    assert registry.verbs() == ["ping"]
    assert registry.commands["ping"].plugin == "tiny"
    assert registry.config_tables["tiny"].parse is tiny_settings
    assert registry.config("tiny") == "hi"  # no [tiny] table: the parser's defaults
    assert registry.configure({"tiny": {"greeting": "hello"}}).config("tiny") == "hello"
    assert registry.schedules["tiny.nightly"].cron == "0 3 * * *"
    assert registry.plugins == ["tiny"]
    assert Registry().commands == {}  # nothing leaks into the next one


def test_a_duplicate_verb_from_two_plugins_fails_naming_both() -> None:
    registry = Registry()
    registry.add_plugin(_plugin("first", GREETER), "first")
    with pytest.raises(RegistryError) as error:
        registry.add_plugin(_plugin("second", GREETER), "second")
    message = str(error.value)
    assert "`greet`" in message
    assert "second" in message and "first" in message


def test_a_built_in_verb_cannot_be_taken_by_another_plugin() -> None:
    registry = build_registry(["contacts"])
    thief = _plugin("thief", GREETER.replace('"greet"', '"show"'))
    with pytest.raises(RegistryError, match=r"`show`.*thief.*contacts"):
        registry.add_plugin(thief, "thief")


def test_built_ins_are_found_through_the_entry_point_group() -> None:
    installed = registry_module.available_plugins()
    assert set(installed) >= BUILT_INS
    assert installed["contacts"]().__name__ == "plugins.contacts"
    registry = build_registry()
    assert {"help", "new", "show", "set", "type", "delete", "codes", "setup"} <= set(
        registry.verbs()
    )
    assert registry.commands["new"].plugin == "contacts"
    assert registry.commands["setup"].plugin == "setup"


def test_a_third_party_plugin_installed_under_the_group_is_loaded(monkeypatch) -> None:
    module = _plugin("contactbot_greeter", GREETER)
    monkeypatch.setitem(sys.modules, "contactbot_greeter", module)
    real = registry_module.entry_points

    def with_greeter(*, group: str) -> list[EntryPoint]:
        found = list(real(group=group))
        if group == registry_module.ENTRY_POINT_GROUP:
            found.append(EntryPoint("greeter", "contactbot_greeter", group))
        return found

    monkeypatch.setattr(registry_module, "entry_points", with_greeter)
    registry = build_registry(["help", "greeter"])
    assert registry.verbs() == ["greet", "help"]
    assert registry.commands["greet"].plugin == "greeter"


def test_only_the_plugins_enabled_in_config_are_registered(
    tmp_path: Path, database_url: str
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[plugins]\nenabled = ["help", "codes"]\n', encoding="utf-8")
    settings = load_settings(
        config, env={"CONTACTBOT_DATA_DIR": str(tmp_path), "CONTACTBOT_DATABASE_URL": database_url}
    )
    assert settings.plugins == ("help", "codes")
    app = build_app(settings)
    try:
        chat = ChatBot(app)
        assert app.registry.verbs() == ["codes", "help"]
        refusal = chat.fails('new company "Acme"')
        assert "Unknown command `new`" in refusal
        assert "codes" in chat.ok("help")
    finally:
        app.close()


def test_a_plugin_enabled_but_not_installed_is_refused_naming_it() -> None:
    with pytest.raises(RegistryError) as error:
        build_registry(["help", "crm_magic"])
    assert "crm_magic" in str(error.value)
    assert "contacts" in str(error.value)  # the installed ones are listed


@sqlite_only
def test_help_lists_every_registered_verb_with_its_docstring_summary(bot: ChatBot) -> None:
    reply = bot.reply("help")
    assert reply.ok and reply.table is not None
    usages = [row[0] for row in reply.table.rows]
    verbs = sorted(usage.split()[0] for usage in usages)
    assert verbs == bot.app.registry.verbs()
    summaries = dict(reply.table.rows)
    assert summaries['new company|person "<name>" [field=value …]'] == (
        "Create a company or a person."
    )


@sqlite_only
def test_help_verb_shows_usage_docstring_and_roles(bot: ChatBot) -> None:
    text = bot.ok("help delete")
    assert "Usage: delete <no> [--yes]" in text
    assert "a company takes its persons with it" in text
    assert "Roles: admin" in text
    assert "Did you mean `show`?" in bot.fails("help shwo")


def test_help_comes_from_the_registry_of_this_app(tmp_path: Path, database_url: str) -> None:
    registry = build_registry(["help"])
    registry.add_plugin(_plugin("greeter", GREETER), "greeter")
    app = build_app(Settings(data_dir=tmp_path, database_url=database_url), registry)
    try:
        chat = ChatBot(app)
        listing = chat.ok("help")
        assert "greet <name>" in listing and "Say hello to someone." in listing
        assert "new company" not in listing
        assert '`greet Ada` answers "Hello, Ada!".' in chat.ok("help greet")
        assert chat.ok("greet Ada") == "Hello, Ada!"
    finally:
        app.close()


def test_every_installed_command_has_usage_and_a_summary_for_help() -> None:
    registry = build_registry()
    undocumented = [verb for verb, spec in registry.commands.items() if not spec.summary]
    assert undocumented == []
    for verb, spec in registry.commands.items():
        assert spec.usage.split()[0] == verb, spec.usage
        assert spec.roles, verb
