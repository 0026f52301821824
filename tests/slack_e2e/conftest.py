"""Fixtures of the Slack end-to-end tests: the Web API double (tests/slack_double.py), and the
app running as `contactbot slack --http` against it, started once per module (a start costs
a couple of seconds) on a database of the module's choosing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PostgresServer, _postgres_unavailable
from tests.slack_double import SlackDouble, slack_double
from tests.slack_e2e.harness import SlackProcess, SlackSender

__all__ = ["module_double", "running_app", "slack_double"]


@pytest.fixture(scope="module")
def module_double() -> Iterator[SlackDouble]:
    """One double for a module's app; tests tell their calls apart by response_url or text."""
    double = SlackDouble().start()
    yield double
    double.stop()


@contextmanager
def database(backend: str, work: Path, postgres_server: PostgresServer | None) -> Iterator[str]:
    """A migrated-or-empty database URL: a new SQLite file, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{work / 'contactbot.db'}"
        return
    _postgres_unavailable(postgres_server)
    assert postgres_server is not None
    url = postgres_server.acquire()
    try:
        yield url
    finally:
        postgres_server.release(url)


@contextmanager
def running_app(
    work: Path, double: SlackDouble, database_url: str, **options: Any
) -> Iterator[SlackProcess]:
    """SlackProcess(work, double, database_url, **options), started, stopped afterwards."""
    process = SlackProcess(work, double, database_url, **options)
    try:
        yield process.start()
    finally:
        process.stop()


@pytest.fixture
def sender(request: pytest.FixtureRequest) -> SlackSender:
    """A SlackSender for the module's `app` and `module_double` fixtures."""
    app: SlackProcess = request.getfixturevalue("app")
    return SlackSender(app.port, app.double)
