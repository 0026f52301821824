"""Wiring one running contactbot: settings -> store (migrated, seeded) -> registry -> dispatcher.

Every entry point (shell, Slack, mail worker, scheduler) builds its App here, so they all run
the same plugins against the same store with the same rules.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.inputs import ADMIN, SALES, Actor, CommandInvocation
from bot.registry import Registry, build_registry
from bot.reply import Reply
from storage.codes import code_table
from storage.database import Store
from storage.files import private_dir
from storage.rules import StoreRules
from storage.setup import update_setup

log = logging.getLogger(__name__)

#: The shell runs with the rights of whoever owns the database file.
SHELL_ACTOR = Actor(user_id="shell", name="shell", roles=frozenset({ADMIN, SALES}))


@dataclass
class App:
    settings: Settings
    store: Store
    registry: Registry
    dispatcher: Dispatcher

    def run(self, text: str, actor: Actor = SHELL_ACTOR, **kwargs: object) -> Reply:
        """Run one command line as `actor` (the shell's admin by default)."""
        return self.dispatcher.dispatch(CommandInvocation(actor=actor, text=text, **kwargs))  # type: ignore[arg-type]

    def close(self) -> None:
        self.store.dispose()


def default_rules() -> StoreRules:
    """The store rules of every installed plugin: for tests and tools that open a Store
    directly and want it to behave as the bot's (a bare `Store(url)` has none of them)."""
    return build_registry().store_rules()


def open_store(settings: Settings, rules: StoreRules | None = None) -> Store:
    """Open the configured database, migrating an embedded SQLite file by itself; a database
    that had no schema yet is seeded with the configured code tables and setup.

    `rules`: the store rules to open it with; by default those of the plugins the settings
    enable, so that a CLI subcommand (import, contacts from …) writes contacts under the same
    rules as the bot."""
    if settings.database_url.startswith("sqlite:///"):
        private_dir(settings.data_dir)  # the whole CRM: owner only
    if rules is None:
        rules = build_registry(settings.plugins).store_rules()
    store = Store(settings.database_url, rules, settings.pool)
    was_empty = store.current_revision() is None
    store.ensure_schema()
    if was_empty:
        seed_from_config(store, settings)
    return store


def seed_from_config(store: Store, settings: Settings) -> None:
    """Write `[codes.*]` and `[setup]` from config into a new database (later edits made with
    `codes` and `setup` are then the database's own and are not overwritten at start)."""
    with store.transaction() as session:
        for table_name, entries in settings.codes.items():
            table = code_table(table_name)
            for code, values in entries.items():
                row = table.get(session, code) or table.model(code=code.upper())  # type: ignore[call-arg]
                for key, value in values.items():
                    setattr(row, key, value)
                session.add(row)
        session.flush()
        if settings.setup:
            update_setup(session, settings.setup)


def plugin_registry(settings: Settings) -> Registry:
    """The registry of the plugins the settings enable, with their configuration tables read
    (a bad table raises ConfigError naming the key)."""
    return build_registry(settings.plugins).configure(settings.plugin_tables)


def build_app(settings: Settings, registry: Registry | None = None) -> App:
    """The registry first: its plugins' store rules are what the store is opened with. A
    registry given (a test's) reads the settings' plugin tables too."""
    if registry is None:
        registry = plugin_registry(settings)
    else:
        registry.configure(settings.plugin_tables)
    store = open_store(settings, registry.store_rules())
    return App(settings, store, registry, Dispatcher(registry, store, settings))
