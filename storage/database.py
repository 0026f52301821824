"""Engine, sessions and migrations for the store.

SQLite is the default (one file in the data directory, WAL and foreign keys on); any URL that
SQLAlchemy understands can be given instead, PostgreSQL included. The schema is owned by
Alembic: `Store.migrate()` upgrades to the newest revision, and `Store.ensure_schema()` does so
by itself for an empty or outdated SQLite file so that a new user never has to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.connect_errors import connect_options, normalize_url
from storage.errors import UserError
from storage.files import private_sqlite
from storage.pool import PoolSettings
from storage.rules import RULES_KEY, StoreRules, integrity_rules

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _on_sqlite_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, pool: PoolSettings | None = None) -> Engine:
    """Create an engine with the settings each backend needs. A SQLite file is made
    readable by its owner only before SQLite opens it (storage.files). `pool` sizes the
    connection pool of a server database; SQLite ignores it (noted in the log)."""
    pool = pool or PoolSettings()
    if url.startswith("sqlite"):
        if pool.customised:
            log.warning(
                "[database] pool_size, max_overflow and pool_recycle apply to PostgreSQL; "
                "ignored for SQLite"
            )
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            private_sqlite(Path(database))
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    return create_engine(url, pool_pre_ping=True, **pool.engine_arguments(), **connect_options(url))


class Store:
    """The database behind contactbot: an engine, a session factory and the schema version."""

    def __init__(
        self, url: str, rules: StoreRules | None = None, pool: PoolSettings | None = None
    ) -> None:
        """`rules`: what the enabled plugins add to the contact card's own rules (the
        registry's `store_rules()`); the integrity rules hold either way (storage.rules).
        Every session of this store carries them in `session.info`. `url` may be a hosting
        provider's `postgres://…` (storage.connect_errors.normalize_url)."""
        from storage.text import install_flush_checks

        install_flush_checks()  # a value the database would refuse is a message, not a crash

        self.url = normalize_url(url)
        self.rules = integrity_rules().extend(rules or StoreRules())
        self.engine = make_engine(self.url, pool)
        self._sessions = sessionmaker(
            self.engine, expire_on_commit=False, info={RULES_KEY: self.rules}
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config

    def current_revisions(self) -> frozenset[str]:
        with self.engine.connect() as connection:
            return frozenset(MigrationContext.configure(connection).get_current_heads())

    def head_revisions(self) -> frozenset[str]:
        return frozenset(ScriptDirectory.from_config(self._alembic_config()).get_heads())

    def current_revision(self) -> str | None:
        """The schema revision(s) as one line, or None for an empty database."""
        return ", ".join(sorted(self.current_revisions())) or None

    def head_revision(self) -> str:
        return ", ".join(sorted(self.head_revisions()))

    def migrate(self, revision: str = "heads") -> None:
        """Upgrade the schema (Alembic) to `revision` (every head by default)."""
        config = self._alembic_config()
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def ensure_schema(self) -> None:
        """Bring SQLite up to date by itself; elsewhere, ask for `contactbot db upgrade`.

        An operator of a shared PostgreSQL wants to decide when its schema changes, so only
        the embedded store migrates without being asked.
        """
        current, heads = self.current_revisions(), self.head_revisions()
        if current == heads:
            return
        if self.dialect == "sqlite":
            log.info("migrating %s from %s to %s", self.url, sorted(current), sorted(heads))
            self.migrate()
            return
        raise UserError(
            f"The database is at schema {self.current_revision() or 'none'}, contactbot needs "
            f"{self.head_revision()}: run `contactbot db upgrade` first."
        )

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits as one transaction, or rolls back on any error."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
