"""The plugin registry: decorators that attach typed specs, and one Registry that collects them.

A decorator only attaches a frozen spec to the function (as slack-machine does); nothing is
registered at import time. `Registry.add_plugin(module)` scans a module for specs, so each test
can build a fresh Registry, and plugins from other packages are found through the entry-point
group `contactbot.plugins`, the same way the built-ins are.

Besides commands, email handlers and jobs a plugin may add to another plugin's reply
(`@reply_addition("new", "set")`) and to the store's rules (`@store_rules`), so that no plugin
imports another: switching one off removes all it adds; and it may own a table of the
configuration file (`@config_table("dupes")`), which it parses itself, so that the runtime
knows nothing of any one plugin's settings.

Buttons, menus, shortcuts and form submissions carry a command line (bot.reply.Button): the
adapter turns the click into a CommandInvocation, so an action goes through the same verb, roles,
confirmation and delivery id as the command typed; there is no separate action handler.

A plugin that needs another says so in a module attribute, `DEPENDS_ON = ("duplicates",)` (as
errbot's DependsOn); build_registry loads plugins in dependency order and refuses an enabled
plugin whose need is not enabled.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from bot.inputs import SALES
from storage.rules import StoreRules

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "contactbot.plugins"
SPEC_ATTRIBUTE = "__contactbot_specs__"
#: The module attribute naming the plugins (entry-point names) a plugin needs.
DEPENDS_ON_ATTRIBUTE = "DEPENDS_ON"


class RegistryError(Exception):
    """A plugin that cannot be registered (a duplicate verb, a missing plugin)."""


@dataclass(frozen=True)
class CommandSpec:
    verb: str
    handler: Callable[..., Any]
    usage: str
    roles: frozenset[str]
    confirm: bool = False
    plugin: str = ""

    @property
    def help(self) -> str:
        return inspect.cleandoc(self.handler.__doc__ or "").strip()

    @property
    def summary(self) -> str:
        """The docstring's first paragraph, on one line."""
        return " ".join(self.help.split("\n\n")[0].split())


@dataclass(frozen=True)
class EmailHandlerSpec:
    name: str
    handler: Callable[..., Any]
    plugin: str = ""


@dataclass(frozen=True)
class ScheduleSpec:
    job_id: str
    handler: Callable[..., Any]
    cron: str  # a crontab expression; config may override it by job id
    plugin: str = ""


@dataclass(frozen=True)
class ReplyAdditionSpec:
    """`handler(ctx, reply) -> Reply | None` runs after any command of `verbs` (of whichever
    plugin) returned a successful reply, in the same transaction; it returns the reply with
    its additions (notes, buttons), or None to leave it as it is."""

    verbs: frozenset[str]
    handler: Callable[..., Any]
    plugin: str = ""


@dataclass(frozen=True)
class StoreRulesSpec:
    """`handler(rules: StoreRules) -> None` adds the plugin's rules to the store's."""

    handler: Callable[..., Any]
    plugin: str = ""


@dataclass(frozen=True)
class ConfigTableSpec:
    """`parse(table: Mapping | None) -> settings` reads the plugin's own top-level table of the
    configuration file (None when the file has none: return the defaults). It raises
    bot.config_errors.ConfigError naming the key, which stops the start. What it returns is
    `registry.config(table)`; when it has a `job_timings()` method (job id -> (cron, time
    zone)), those override the `@schedule` lines of the same ids."""

    table: str
    parse: Callable[[Mapping[str, Any] | None], Any]
    plugin: str = ""


Spec = (
    CommandSpec
    | EmailHandlerSpec
    | ScheduleSpec
    | ReplyAdditionSpec
    | StoreRulesSpec
    | ConfigTableSpec
)


def _attach(function: Callable[..., Any], spec: Spec) -> Callable[..., Any]:
    specs = list(getattr(function, SPEC_ATTRIBUTE, ()))
    specs.append(spec)
    setattr(function, SPEC_ATTRIBUTE, tuple(specs))
    return function


def command(
    verb: str, *, usage: str = "", roles: Iterable[str] = (SALES,), confirm: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a function as the handler of `verb`. Its docstring is the `help` text: the first
    line is the summary. `roles`: any one of them lets a user run it. `confirm`: ask first."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        spec = CommandSpec(verb, function, usage or verb, frozenset(roles), confirm)
        return _attach(function, spec)

    return decorate


def on_email(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a function as a handler of every parsed email."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        return _attach(function, EmailHandlerSpec(name, function))

    return decorate


def schedule(job_id: str, *, cron: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a function as a scheduled job."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        return _attach(function, ScheduleSpec(job_id, function, cron))

    return decorate


def reply_addition(*verbs: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a function as an addition to the replies of `verbs` (see ReplyAdditionSpec)."""
    if not verbs:
        raise ValueError("reply_addition needs at least one verb")

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        return _attach(function, ReplyAdditionSpec(frozenset(v.lower() for v in verbs), function))

    return decorate


def store_rules(function: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a function as the installer of the plugin's store rules (see StoreRulesSpec)."""
    return _attach(function, StoreRulesSpec(function))


def config_table(table: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a function as the parser of the configuration file's `[table]` (see
    ConfigTableSpec)."""
    if not table or not table.replace("_", "").isalnum():
        raise ValueError(f"config_table: {table!r} is not a TOML bare key")

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        return _attach(function, ConfigTableSpec(table, function))

    return decorate


@dataclass
class Registry:
    """Every command, email handler, schedule, reply addition, store rule and configuration
    table of the enabled plugins."""

    commands: dict[str, CommandSpec] = field(default_factory=dict)
    email_handlers: list[EmailHandlerSpec] = field(default_factory=list)
    schedules: dict[str, ScheduleSpec] = field(default_factory=dict)
    reply_additions: list[ReplyAdditionSpec] = field(default_factory=list)
    rule_installers: list[StoreRulesSpec] = field(default_factory=list)
    config_tables: dict[str, ConfigTableSpec] = field(default_factory=dict)
    plugins: list[str] = field(default_factory=list)
    #: table -> what its plugin's parser made of it (see `configure`).
    configs: dict[str, Any] = field(default_factory=dict)

    def add_plugin(self, module: ModuleType, name: str | None = None) -> None:
        """Register every spec found on the module's functions. A verb, job or configuration
        table that is registered already fails here, naming both plugins."""
        plugin = name or module.__name__
        for _, function in inspect.getmembers(module, callable):
            for spec in getattr(function, SPEC_ATTRIBUTE, ()):
                self._add(spec, plugin)
        self.plugins.append(plugin)

    def _add(self, spec: Spec, plugin: str) -> None:
        spec = _with_plugin(spec, plugin)
        match spec:
            case CommandSpec(verb=verb):
                self._claim(self.commands, verb, spec, "command")
            case ConfigTableSpec(table=table):
                self._claim(self.config_tables, table, spec, "configuration table")
            case ScheduleSpec(job_id=job_id):
                self._claim(self.schedules, job_id, spec, "scheduled job")
            case EmailHandlerSpec():
                self.email_handlers.append(spec)
            case ReplyAdditionSpec():
                self.reply_additions.append(spec)
            case StoreRulesSpec():
                self.rule_installers.append(spec)

    @staticmethod
    def _claim(table: dict[str, Any], key: str, spec: Spec, what: str) -> None:
        if key in table:
            raise RegistryError(
                f"The {what} `{key}` of plugin {spec.plugin} is registered already "
                f"by plugin {table[key].plugin}."
            )
        table[key] = spec

    def verbs(self) -> list[str]:
        return sorted(self.commands)

    def add_to_reply(self, ctx: Any, reply: Any) -> Any:
        """`reply` with the additions of every plugin that adds to the command's verb (in
        plugin order); a failed reply or a question before running gets none."""
        if not reply.ok or reply.confirm is not None:
            return reply
        verb = ctx.spec.verb
        for addition in self.reply_additions:
            if verb in addition.verbs:
                added = addition.handler(ctx, reply)
                if added is not None:
                    reply = added
        return self.without_unknown_buttons(reply)

    def without_unknown_buttons(self, reply: Any) -> Any:
        """`reply` without the buttons (its own and its cards') whose command no enabled
        plugin registers: a switched-off plugin's button would only answer "Unknown command"."""

        def known(buttons: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(
                b for b in buttons if (b.command.split() or [""])[0].lower() in self.commands
            )

        cards = tuple(replace(card, actions=known(card.actions)) for card in reply.cards)
        return replace(reply, buttons=known(reply.buttons), cards=cards)

    def configure(self, tables: Mapping[str, Any]) -> Registry:
        """Parse each enabled plugin's table of the configuration file (`tables`: the file's
        tables that the runtime does not own) with that plugin's parser; returns self.

        A table no enabled plugin owns is refused when no installed plugin owns it either (a
        misspelt `[dupse]` stops the start, naming it), and ignored when it belongs to a plugin
        switched off, so that switching one off needs no edit of its settings."""
        unclaimed = [name for name in tables if name not in self.config_tables]
        if unclaimed:
            owners = _installed_table_owners()
            for name in unclaimed:
                if name not in owners:
                    from bot.config_errors import ConfigError

                    known = ", ".join(sorted(owners)) or "none"
                    raise ConfigError(
                        f"{name}: unknown table. Tables of the installed plugins: {known} "
                        "(see config.example.toml)."
                    )
                log.info("[%s] ignored: plugin %s is not enabled", name, owners[name])
        self.configs = {
            name: spec.parse(tables.get(name)) for name, spec in self.config_tables.items()
        }
        return self

    def config(self, table: str) -> Any:
        """The parsed `[table]` (its defaults when the file has none)."""
        if table not in self.configs:
            spec = self.config_tables.get(table)
            if spec is None:
                raise RegistryError(f"No enabled plugin owns the configuration table [{table}].")
            self.configs[table] = spec.parse(None)
        return self.configs[table]

    def job_timings(self) -> dict[str, tuple[str, str]]:
        """Job id -> (cron, time zone) as the plugins' configuration tables set them."""
        timings: dict[str, tuple[str, str]] = {}
        for table in self.config_tables:
            parsed = self.config(table)
            if callable(getattr(parsed, "job_timings", None)):
                timings.update(parsed.job_timings())
        return timings

    def store_rules(self) -> StoreRules:
        """The store rules the enabled plugins install, in plugin order."""
        rules = StoreRules()
        for installer in self.rule_installers:
            installer.handler(rules)
        return rules


def _verb(command_line: str) -> str:
    words = command_line.split()
    return words[0].lower() if words else ""


def _with_plugin(spec: Spec, plugin: str) -> Spec:
    return replace(spec, plugin=plugin)


def available_plugins() -> dict[str, Callable[[], ModuleType]]:
    """Plugins installed in this environment: entry-point name -> loader."""
    return {ep.name: ep.load for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _installed_table_owners() -> dict[str, str]:
    """Configuration table -> the installed plugin (enabled or not) whose parser owns it."""
    owners: dict[str, str] = {}
    for name, load in available_plugins().items():
        for _, function in inspect.getmembers(load(), callable):
            for spec in getattr(function, SPEC_ATTRIBUTE, ()):
                if isinstance(spec, ConfigTableSpec):
                    owners.setdefault(spec.table, name)
    return owners


def depends_on(module: ModuleType) -> tuple[str, ...]:
    """The plugins `module` declares it needs (its DEPENDS_ON), as entry-point names."""
    needs = getattr(module, DEPENDS_ON_ATTRIBUTE, ())
    if isinstance(needs, str):
        needs = (needs,)
    return tuple(needs)


def dependency_order(modules: dict[str, ModuleType]) -> list[str]:
    """The plugin names with each after what it needs (otherwise in the given order).

    Refuses a plugin that needs one not among `modules`, naming both, and a circle."""
    for name, module in modules.items():
        for need in depends_on(module):
            if need not in modules:
                raise RegistryError(
                    f"Plugin `{name}` needs `{need}`, which is not enabled. Enable `{need}` "
                    f"in [plugins] enabled, or leave out `{name}`."
                )
    ordered: list[str] = []
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in ordered:
            return
        if name in visiting:
            circle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise RegistryError(f"Plugins need each other in a circle: {circle}.")
        visiting.append(name)
        for need in depends_on(modules[name]):
            visit(need)
        visiting.pop()
        ordered.append(name)

    for name in modules:
        visit(name)
    return ordered


def build_registry(enabled: Iterable[str] | None = None) -> Registry:
    """A Registry of the named plugins (all installed ones when `enabled` is None), loaded in
    dependency order; a plugin enabled without one it needs is refused (RegistryError)."""
    installed = available_plugins()
    names = list(installed) if enabled is None else list(dict.fromkeys(enabled))
    modules: dict[str, ModuleType] = {}
    for name in names:
        loader = installed.get(name)
        if loader is None:
            raise RegistryError(
                f"Plugin `{name}` is enabled in config but not installed. "
                f"Installed plugins: {', '.join(sorted(installed)) or 'none'}."
            )
        modules[name] = loader()
    registry = Registry()
    for name in dependency_order(modules):
        registry.add_plugin(modules[name], name)
    return registry
