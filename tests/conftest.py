"""Fixtures: a fresh migrated store per test on SQLite and on PostgreSQL, and a `bot` that
reads like a chat (errbot's testbot): `bot.send("new company Acme")` returns the reply text.

PostgreSQL: each test gets its own database copied from a template migrated once per run, so
tests see the real schema (Alembic, triggers, pg_trgm) without paying for a migration each.
Where no PostgreSQL answers, those tests skip with the reason, unless
CONTACTBOT_REQUIRE_POSTGRES=1 (set by CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import MetaData, Table, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bot.config import Settings
from bot.inputs import SALES, Actor
from bot.registry import build_registry
from bot.runtime import build_app
from bot.testing import ADMIN_ACTOR, SALES_ACTOR, ChatBot
from storage.database import Store

POSTGRES_URL = os.environ.get(
    "CONTACTBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("CONTACTBOT_REQUIRE_POSTGRES") == "1"
BACKENDS = ("sqlite", "postgres")

#: The chat-style driver and its actors live in bot.testing (plugin authors use them too);
#: the project's tests import them from here as they always have.
__all__ = ["ADMIN_ACTOR", "SALES_ACTOR", "ChatBot"]


def _admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


#: What a test must leave as it found it for its database to be reused: the schema's shape.
_FINGERPRINT = text(
    "SELECT (SELECT string_agg(version_num, ',' ORDER BY version_num) FROM alembic_version),"
    " (SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public'),"
    " (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'),"
    " (SELECT count(*) FROM information_schema.triggers WHERE trigger_schema = 'public'),"
    " (SELECT count(*) FROM pg_extension)"
)


class PostgresServer:
    """Creates databases from a migrated template, and reuses them.

    Creating and dropping a database costs a second or more on a busy disk, so a database a
    test is done with is emptied instead (every row deleted, sequences restarted, then the
    rows the migrations seeded put back as the template has them) and handed to the next
    test. A database whose schema a test changed is dropped rather than reused.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = create_engine(_admin_url(url), isolation_level="AUTOCOMMIT")
        self.template = f"contactbot_tmpl_{uuid.uuid4().hex[:8]}"
        self.databases: list[str] = []
        self.free: list[str] = []
        self.seeds: list[tuple[Table, list[dict[str, object]]]] = []
        self.tables: list[str] = []
        self.fingerprint: tuple[object, ...] = ()
        self.sequences: list[str] = []

    def start(self) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.template}"'))
        store = Store(_with_database(self.url, self.template))
        store.migrate()
        metadata = MetaData()
        metadata.reflect(store.engine)
        with store.engine.connect() as connection:
            self.fingerprint = tuple(connection.execute(_FINGERPRINT).one())
            self.sequences = list(
                connection.execute(
                    text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
                ).scalars()
            )
            for table in metadata.sorted_tables:
                if table.name == "alembic_version":
                    continue
                self.tables.append(table.name)
                rows = [dict(row._mapping) for row in connection.execute(table.select())]
                if rows:
                    self.seeds.append((table, rows))
        store.dispose()

    def new_database(self, *, empty: bool = False) -> str:
        """A database copied from the migrated template, or (`empty`) one with no schema."""
        name = f"contactbot_t_{uuid.uuid4().hex[:10]}"
        template = "template0" if empty else self.template
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        self.databases.append(name)
        return _with_database(self.url, name)

    def acquire(self) -> str:
        """A migrated database with nothing but the seeded rows: a reused one when possible."""
        if self.free:
            return _with_database(self.url, self.free.pop())
        return self.new_database()

    def release(self, url: str) -> None:
        """Empty the database for the next test, or drop it when that is not safe."""
        name = make_url(url).database
        try:
            reusable = self._reset(url)
        except Exception:
            reusable = False
        if reusable:
            self.free.append(name)  # type: ignore[arg-type]
        else:
            self.drop(url)

    def _reset(self, url: str) -> bool:
        name = make_url(url).database
        with self.admin.connect() as connection:  # connections the test left open
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.begin() as connection:
                if tuple(connection.execute(_FINGERPRINT).one()) != self.fingerprint:
                    return False
                # DELETE, not TRUNCATE: on small tables it is far cheaper (no new files to
                # sync). Replica mode skips the foreign-key triggers, so the order is free.
                connection.execute(text("SET LOCAL synchronous_commit = off"))
                connection.execute(text("SET LOCAL session_replication_role = replica"))
                for table in reversed(self.tables):
                    connection.execute(text(f'DELETE FROM "{table}"'))
                for sequence in self.sequences:
                    connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
                for table, rows in self.seeds:
                    connection.execute(table.insert(), rows)
                    for column in table.primary_key.columns:
                        if column.autoincrement is True or (
                            column.autoincrement == "auto" and column.type.python_type is int
                        ):
                            connection.execute(
                                text(
                                    "SELECT setval(pg_get_serial_sequence(:t, :c), "
                                    f'(SELECT max("{column.name}") FROM "{table.name}"))'
                                ),
                                {"t": f'"{table.name}"', "c": column.name},
                            )
            return True
        finally:
            engine.dispose()

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if name in self.free:
            self.free.remove(name)

    def stop(self) -> None:
        with self.admin.connect() as connection:
            for name in [*self.free, self.template]:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | None]:
    server = PostgresServer(POSTGRES_URL)
    try:
        server.start()
    except Exception:  # no server here: tests that need it skip (or fail in CI)
        server.admin.dispose()
        yield None
        return
    yield server
    server.stop()


def _postgres_unavailable(server: PostgresServer | None) -> None:
    if server is None:
        reason = f"no PostgreSQL at {POSTGRES_URL} (set CONTACTBOT_TEST_POSTGRES_URL)"
        if REQUIRE_POSTGRES:
            pytest.fail(f"CONTACTBOT_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    store = Store(f"sqlite:///{path}")
    store.migrate()
    with store.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgres_server: PostgresServer | None,
) -> Iterator[str]:
    """A fresh, migrated, empty database: one test on SQLite, once more on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "contactbot.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    _postgres_unavailable(postgres_server)
    assert postgres_server is not None
    url = postgres_server.acquire()
    yield url
    postgres_server.release(url)


@pytest.fixture(params=BACKENDS)
def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: PostgresServer | None
) -> Iterator[str]:
    """A database without any schema (no Alembic revision): SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    _postgres_unavailable(postgres_server)
    assert postgres_server is not None
    url = postgres_server.new_database(empty=True)
    yield url
    postgres_server.drop(url)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer | None) -> Iterator[str]:
    """A fresh PostgreSQL database, for tests that are about PostgreSQL itself."""
    _postgres_unavailable(postgres_server)
    assert postgres_server is not None
    url = postgres_server.acquire()
    yield url
    postgres_server.release(url)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    yield store
    store.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url)


SAM_WITH_SALESPERSON = Actor(
    user_id="U_SAM", name="sam", roles=frozenset({SALES}), salesperson_code="SAM"
)


@pytest.fixture
def bot(settings: Settings) -> Iterator[ChatBot]:
    app = build_app(settings, build_registry())
    yield ChatBot(app)
    app.close()


#: The code tables most conversations need, added the way an admin adds them.
STANDARD_CODES = (
    'codes salespeople add ADA name="Ada Admin" email=ada@example.com',
    'codes salespeople add BOB name="Bob Builder"',
    'codes salespeople add SAM name="Sam Sales"',
    "codes territories add NORTH name=North",
    "codes territories add SOUTH name=South",
    "codes countries add NL name=Netherlands",
    "codes countries add BE name=Belgium",
    "codes languages add NL name=Dutch",
    "codes languages add EN name=English",
)


@pytest.fixture
def coded_bot(bot: ChatBot) -> ChatBot:
    """`bot` with STANDARD_CODES in its code tables."""
    for line in STANDARD_CODES:
        bot.ok(line)
    return bot


#: For tests about the bot rather than the store: run them on SQLite only.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
