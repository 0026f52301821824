"""Driving contactbot in tests the way an adapter does, for the project's tests and a plugin's.

`ChatBot` reads like a chat (errbot's testbot): `bot.ok('new company "Acme"')` runs the line
through the dispatcher, as the shell and Slack do (roles, confirmation, one transaction, the
store rules and reply additions of the plugins), insists that it succeeds and returns the reply
as the shell prints it. `chat_bot(tmp_path, modules=[my_plugin])` opens one on a fresh SQLite
file with the installed plugins plus a plugin module that need not be installed yet; see
docs/plugins.md, "Testing a plugin".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from bot.config import Settings
from bot.inputs import ADMIN, SALES, Actor
from bot.registry import ENTRY_POINT_GROUP, RegistryError, build_registry, depends_on
from bot.reply import Reply
from bot.runtime import SHELL_ACTOR, App, build_app
from bot.text_render import render_text

#: Someone with the `sales` role only, and an admin, as Slack users are mapped to roles.
SALES_ACTOR = Actor(user_id="U_SALES", name="sam", roles=frozenset({SALES}))
ADMIN_ACTOR = Actor(user_id="U_ADMIN", name="ada", roles=frozenset({ADMIN, SALES}))


@dataclass
class ChatBot:
    """Drives a fresh App the way an adapter does, and keeps every reply."""

    app: App
    actor: Actor = SHELL_ACTOR
    replies: list[Reply] = field(default_factory=list)

    def reply(self, line: str, actor: Actor | None = None) -> Reply:
        reply = self.app.run(line, actor or self.actor)
        self.replies.append(reply)
        return reply

    def send(self, line: str, actor: Actor | None = None) -> str:
        """Run `line` and return the reply as the shell would print it."""
        return render_text(self.reply(line, actor))

    def ok(self, line: str, actor: Actor | None = None) -> str:
        """Run `line`, insisting that it succeeds."""
        reply = self.reply(line, actor)
        assert reply.ok, f"{line!r} failed: {reply.text}"
        return render_text(reply)

    def fails(self, line: str, actor: Actor | None = None) -> str:
        """Run `line`, insisting that it is refused; returns the message."""
        reply = self.reply(line, actor)
        assert not reply.ok, f"{line!r} should have failed but said: {render_text(reply)}"
        return reply.text


@contextmanager
def chat_bot(
    directory: Path,
    *,
    modules: Iterable[ModuleType] = (),
    plugins: Iterable[str] | None = None,
    tables: Mapping[str, Mapping[str, Any]] | None = None,
    database_url: str | None = None,
) -> Iterator[ChatBot]:
    """A ChatBot on a new database in `directory` (SQLite unless `database_url` is given).

    `plugins`: the installed plugins to enable (when None, all but those `modules` are the
    code of); `modules`: plugin modules to add after them, installed or not, each refused as
    the start refuses it when what it DEPENDS_ON is not enabled; `tables`: the configuration
    file's plugin tables (`{"account_care": {"stale_days": 30}}`)."""
    data_dir = Path(directory) / "data"
    url = database_url or f"sqlite:///{data_dir / 'contactbot.db'}"
    settings = Settings(data_dir=data_dir, database_url=url, plugin_tables=dict(tables or {}))
    modules = list(modules)
    if plugins is None:
        given = {module.__name__ for module in modules}
        installed = entry_points(group=ENTRY_POINT_GROUP)
        plugins = [ep.name for ep in installed if ep.value.split(":")[0] not in given]
    registry = build_registry(plugins)
    for module in modules:
        for need in depends_on(module):
            if need not in registry.plugins:
                raise RegistryError(
                    f"Plugin `{module.__name__}` needs `{need}`, which is not enabled."
                )
        registry.add_plugin(module, module.__name__)
    app = build_app(settings, registry)
    try:
        yield ChatBot(app)
    finally:
        app.close()
