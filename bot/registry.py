"""The plugin registry: decorators that attach typed specs, and one Registry that collects them.

A decorator only attaches a frozen spec to the function (as slack-machine does); nothing is
registered at import time. `Registry.add_plugin(module)` scans a module for specs, so each test
can build a fresh Registry, and plugins from other packages are found through the entry-point
group `contactbot.plugins`, the same way the built-ins are.

Besides commands, email handlers, actions and jobs a plugin may add to another plugin's reply
(`@reply_addition("new", "set")`) and to the store's rules (`@store_rules`), so that no plugin
imports another: switching one off removes all it adds. A plugin that needs another says so
in a module attribute, `DEPENDS_ON = ("duplicates",)` (as errbot's DependsOn); build_registry
loads plugins in dependency order and refuses an enabled plugin whose need is not enabled.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable
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
class ActionSpec:
    action_id: str
    handler: Callable[..., Any]
    roles: frozenset[str]
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


Spec = (
    CommandSpec | EmailHandlerSpec | ActionSpec | ScheduleSpec | ReplyAdditionSpec | StoreRulesSpec
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


def action(
    action_id: str, *, roles: Iterable[str] = (SALES,)
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a function as the handler of a button or menu action."""

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        return _attach(function, ActionSpec(action_id, function, frozenset(roles)))

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


@dataclass
class Registry:
    """Every command, email handler, action, schedule, reply addition and store rule of the
    enabled plugins."""

    commands: dict[str, CommandSpec] = field(default_factory=dict)
    email_handlers: list[EmailHandlerSpec] = field(default_factory=list)
    actions: dict[str, ActionSpec] = field(default_factory=dict)
    schedules: dict[str, ScheduleSpec] = field(default_factory=dict)
    reply_additions: list[ReplyAdditionSpec] = field(default_factory=list)
    rule_installers: list[StoreRulesSpec] = field(default_factory=list)
    plugins: list[str] = field(default_factory=list)

    def add_plugin(self, module: ModuleType, name: str | None = None) -> None:
        """Register every spec found on the module's functions. A verb, action or job that
        is registered already fails here, naming both plugins."""
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
            case ActionSpec(action_id=action_id):
                self._claim(self.actions, action_id, spec, "action")
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
