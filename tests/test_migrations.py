"""Migrations on both backends: an empty database goes to the newest schema, back to nothing
and up again, and the migrated schema is the models' schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select

import storage.duplicates.models  # noqa: F401  (its tables belong to the models' schema)
from bot.config import Settings
from bot.registry import build_registry
from bot.runtime import build_app
from storage.database import Store
from storage.errors import UserError
from storage.models import Base, Contact
from tests.conftest import ChatBot

#: Full-text and trigram search objects live outside the models on purpose.
SEARCH_OBJECTS = {"ix_contacts_search_trgm"}
SEARCH_TABLE_PREFIX = "contact_search"


def _downgrade(store: Store, revision: str) -> None:
    config = store._alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _tables(store: Store) -> set[str]:
    return set(inspect(store.engine).get_table_names()) - {"alembic_version"}


def _include(obj, name, type_, reflected, compare_to) -> bool:  # type: ignore[no-untyped-def]
    if type_ == "table" and name and name.startswith(SEARCH_TABLE_PREFIX):
        return False
    return not (type_ == "index" and name in SEARCH_OBJECTS)


def _differences(store: Store) -> list[object]:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"include_object": _include, "compare_type": True},
        )
        return compare_metadata(context, Base.metadata)


def test_upgrade_downgrade_and_upgrade_again(empty_database_url: str) -> None:
    store = Store(empty_database_url)
    try:
        assert store.current_revision() is None and _tables(store) == set()
        store.migrate()
        assert store.current_revisions() == store.head_revisions()
        assert {"contacts", "number_series", "relationship_setup"} <= _tables(store)
        _downgrade(store, "base")
        assert store.current_revision() is None
        assert _tables(store) == set()
        store.migrate()
        assert store.current_revisions() == store.head_revisions()
        assert _differences(store) == []
    finally:
        store.dispose()


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    store = Store(database_url)
    try:
        assert _differences(store) == []
        tables = _tables(store)
        assert set(Base.metadata.tables) <= tables
        # The comparison does see a schema that drifted from the models.
        with store.engine.begin() as connection:
            connection.exec_driver_sql("DROP INDEX ix_contacts_company_id")
        assert [d[0] for d in _differences(store)] == ["add_index"]  # type: ignore[index]
    finally:
        store.dispose()


def test_the_migrations_seed_the_setup_and_the_number_series(empty_database_url: str) -> None:
    store = Store(empty_database_url)
    try:
        store.migrate()
        with store.engine.connect() as connection:
            series = connection.exec_driver_sql(
                "SELECT code, prefix, width, start, last_number FROM number_series"
            ).all()
            setup = connection.exec_driver_sql("SELECT id FROM relationship_setup").all()
        assert [tuple(row) for row in series] == [("CONTACT", "CT", 6, 1, 0)]
        assert [tuple(row) for row in setup] == [(1,)]
    finally:
        store.dispose()


def test_any_command_migrates_an_empty_sqlite_file_by_itself(tmp_path: Path) -> None:
    path = tmp_path / "data" / "contactbot.db"
    settings = Settings(data_dir=tmp_path / "data", database_url=f"sqlite:///{path}")
    assert not path.exists()
    app = build_app(settings, build_registry())
    try:
        assert app.store.current_revisions() == app.store.head_revisions()
        assert "CT000001" in ChatBot(app).ok('new company "Acme"')
        with app.store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        app.close()


def test_an_outdated_sqlite_file_is_brought_up_to_date_with_its_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store(url)
    old.migrate("0001")
    with old.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO contacts (no, type, name, name_2, first_name, middle_name, surname, "
            "company_name, job_title, address, address_2, city, post_code, county, phone, "
            "phone_e164, mobile, mobile_e164, email, email_normalized, home_page, vat_no, "
            "search_text, created_at, modified_at) VALUES ('CT000007', 'company', 'Old B.V.', "
            "'', '', '', '', '', '', '', '', 'Leiden', '', '', '', '', '', '', '', '', '', '', "
            "'old b.v.', '2020-01-01 00:00:00', '2020-01-01 00:00:00')"
        )
    old.dispose()
    app = build_app(Settings(data_dir=tmp_path, database_url=url), build_registry())
    try:
        assert app.store.current_revisions() == app.store.head_revisions()
        assert "Leiden" in ChatBot(app).ok("show CT000007")
    finally:
        app.close()


def test_postgresql_is_not_migrated_without_being_asked(postgres_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import _postgres_unavailable

    _postgres_unavailable(postgres_server)
    url = postgres_server.new_database(empty=True)
    try:
        store = Store(url)
        with pytest.raises(UserError, match=r"run `contactbot db upgrade` first"):
            store.ensure_schema()
        assert store.current_revision() is None
        store.dispose()
    finally:
        postgres_server.drop(url)


def test_a_reused_postgresql_test_database_is_as_fresh_as_a_new_one(postgres_server) -> None:  # type: ignore[no-untyped-def]
    """The fixtures hand a PostgreSQL database to the next test after emptying it."""
    from storage.contacts import create_contact
    from storage.models import ContactType
    from storage.setup import setup_values, update_setup
    from tests.conftest import _postgres_unavailable

    _postgres_unavailable(postgres_server)
    url = postgres_server.acquire()
    store = Store(url)
    with store.transaction() as session:
        fresh = setup_values(session)
        first = create_contact(session, ContactType.COMPANY, "Acme")
        update_setup(session, {"number_prefix": "ZZ", "inherit_address": "no"})
        first_id = first.id
    store.dispose()  # a connection left open is closed by the reset
    postgres_server.release(url)
    assert postgres_server.acquire() == url  # the same database, reused
    store = Store(url)
    try:
        with store.transaction() as session:
            assert session.scalars(select(Contact)).all() == []
            assert setup_values(session) == fresh
            again = create_contact(session, ContactType.COMPANY, "Acme")
            assert (again.no, again.id) == ("CT000001", first_id)
    finally:
        store.dispose()
        postgres_server.release(url)


def test_the_history_has_one_head() -> None:
    """Revisions that grew side by side are joined by a merge revision when they land, so the
    next migration has one parent and `alembic upgrade head` means what it says."""
    heads = Store("sqlite://").head_revisions()
    assert len(heads) == 1, f"join the heads {sorted(heads)} with a merge revision"
