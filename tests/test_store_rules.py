"""Store rules installed explicitly (issue 13): the rule set a store is opened with, filled by
the enabled plugins, keeps every contact's duplicate keys current on each path that writes it.

The issue's example on each path, on SQLite and PostgreSQL: a contact written by that path,
then `new company "Acme Holding BV" …` typed again, with no `dupes scan` in between, is
offered as a duplicate (note and Merge / Not a duplicate buttons).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.registry import RegistryError, build_registry
from bot.reply import Reply
from bot.runtime import build_app, default_rules
from storage.contacts import create_contact, get_by_no
from storage.database import Store
from storage.duplicates.index import data_from_contact
from storage.duplicates.matcher import Matcher
from storage.duplicates.models import DupeKey
from storage.importing.contacts import import_contacts
from storage.models import ContactType
from tests.conftest import ChatBot
from tests.test_shell_cli import Cli

ACME_FIELDS = 'address="Keizersgracht 1" city=Amsterdam phone="+31 20 555 0100"'
AGAIN = f'new company "Acme Holding BV" {ACME_FIELDS}'
CSV = (
    "type,name,address,city,phone\n"
    "company,Acme Holding B.V.,Keizersgracht 1,Amsterdam,+31 20 555 0100\n"
)


@pytest.fixture
def kbot(settings: Settings) -> Iterator[ChatBot]:
    app = build_app(settings, build_registry())
    yield ChatBot(app)
    app.close()


def warned_of(reply: Reply, no: str) -> bool:
    """The reply names `no` as a possible duplicate and offers both buttons for it."""
    noted = any(note.startswith(f"possible duplicate of {no} ") for note in reply.notes)
    commands = {button.command for button in reply.buttons}
    return noted and any(c.startswith("merge ") and c.endswith(f"into {no}") for c in commands)


def assert_typed_again_warns(bot: ChatBot, no: str = "CT000001") -> None:
    reply = bot.reply(AGAIN)
    assert reply.ok, reply.text
    assert warned_of(reply, no), (reply.notes, reply.buttons)


def keys_current(bot: ChatBot, no: str) -> bool:
    """The contact's stored keys are what its card gives now (as a rescan would write)."""
    with bot.app.store.transaction() as session:
        contact = get_by_no(session, no)
        assert contact is not None
        wanted = Matcher.from_settings(session).prepare(data_from_contact(contact)).keys
        stored = set(session.scalars(select(DupeKey.value).where(DupeKey.contact_id == contact.id)))
        return bool(wanted) and stored == set(wanted)


# --- the "done when": every path ------------------------------------------------


def test_a_row_of_the_contact_import_is_offered_as_a_duplicate(
    kbot: ChatBot, tmp_path: Path
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(CSV, encoding="utf-8")
    result = import_contacts(kbot.app.store, path)
    assert result.created == 1 and not result.failed
    assert keys_current(kbot, "CT000001")
    assert_typed_again_warns(kbot)


def test_a_row_imported_through_the_cli_is_offered_as_a_duplicate(
    database_url: str, tmp_path: Path
) -> None:
    """`contactbot import contacts FILE` in a fresh process, then `new` in another."""
    cli = Cli(tmp_path, database_url)
    path = tmp_path / "contacts.csv"
    path.write_text(CSV, encoding="utf-8")
    imported = cli.run("import", "contacts", str(path))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    again = cli.run("shell", "-c", AGAIN)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "possible duplicate of CT000001 Acme Holding B.V." in again.stdout
    assert "Merge: `merge CT000002 into CT000001`" in again.stdout


def test_an_auto_contact_of_customer_new_is_offered_as_a_duplicate(kbot: ChatBot) -> None:
    text = kbot.ok(f'customer new "Acme Holding B.V." {ACME_FIELDS}')
    assert "Contact CT000001 made and linked" in text
    assert keys_current(kbot, "CT000001")
    assert_typed_again_warns(kbot)


def test_customer_new_warns_when_its_auto_contact_is_a_duplicate(kbot: ChatBot) -> None:
    kbot.ok(f'new company "Acme Holding B.V." {ACME_FIELDS}')
    reply = kbot.reply(f'customer new "Acme Holding BV" {ACME_FIELDS}')
    assert reply.ok and warned_of(reply, "CT000001"), (reply.notes, reply.buttons)


def test_a_contact_given_a_customer_by_create_as_is_offered_as_a_duplicate(
    kbot: ChatBot,
) -> None:
    kbot.ok('new company "Acme Holding B.V."')
    kbot.ok("setup auto_contact=no")
    kbot.ok(f'customer new "Acme Holding B.V." {ACME_FIELDS}')  # C00001, no contact
    kbot.ok("link CT000001 customer C00001 master=record")  # the contact takes its address
    assert keys_current(kbot, "CT000001")
    kbot.ok("unlink CT000001 customer")
    kbot.ok("create-as CT000001 vendor")
    assert keys_current(kbot, "CT000001")
    assert_typed_again_warns(kbot)


def test_a_contact_made_by_contacts_from_customers_is_offered_as_a_duplicate(
    kbot: ChatBot,
) -> None:
    kbot.ok("setup auto_contact=no")
    kbot.ok(f'customer new "Acme Holding B.V." {ACME_FIELDS}')
    text = kbot.ok("contacts-from customers")
    assert "1 created" in text
    assert keys_current(kbot, "CT000001")
    assert_typed_again_warns(kbot)


def test_contacts_from_reports_a_duplicate_from_the_rules_pairs(kbot: ChatBot) -> None:
    kbot.ok(f'new company "Acme Holding B.V." {ACME_FIELDS}')
    kbot.ok("setup auto_contact=no")
    kbot.ok(f'customer new "Acme Holding BV" {ACME_FIELDS}')
    text = kbot.ok("contacts-from customers")
    assert "1 created" in text and "1 possible duplicates" in text
    assert "CT000002: possible duplicate of CT000001" in text


def test_contacts_from_through_the_cli_keys_the_contacts(database_url: str, tmp_path: Path) -> None:
    cli = Cli(tmp_path, database_url)
    made = cli.run(
        "shell", stdin=f'setup auto_contact=no\ncustomer new "Acme Holding B.V." {ACME_FIELDS}\n'
    )
    assert made.returncode == 0, made.stdout + made.stderr
    created = cli.run("contacts", "from", "customers")
    assert created.returncode == 0, created.stdout + created.stderr
    again = cli.run("shell", "-c", AGAIN)
    assert "possible duplicate of CT000001 Acme Holding B.V." in again.stdout, again.stdout


def test_persons_updated_by_inheritance_are_keyed_again(kbot: ChatBot) -> None:
    kbot.ok(f'new company "Acme Holding B.V." {ACME_FIELDS}')
    kbot.ok('new person "Jan de Vries" company=CT000001')
    assert keys_current(kbot, "CT000002")
    text = kbot.ok('set CT000001 address="Damrak 5" city=Amsterdam phone="+31 20 555 0199"')
    assert "CT000002" in text  # the change reached the person
    assert keys_current(kbot, "CT000002")
    kbot.ok('set CT000001 name="Acme Group B.V."')  # the person's company name follows
    assert keys_current(kbot, "CT000002")


def test_merge_and_unmerge_leave_every_contact_they_wrote_keyed(kbot: ChatBot) -> None:
    kbot.ok(f'new company "Acme Holding B.V." {ACME_FIELDS}')
    kbot.ok('new company "Acme Trading" city=Utrecht')
    kbot.ok('new person "Jan de Vries" company=CT000002')
    kbot.ok("merge CT000002 into CT000001 --yes")
    assert keys_current(kbot, "CT000001") and keys_current(kbot, "CT000003")
    kbot.ok("unmerge 1")
    for no in ("CT000001", "CT000002", "CT000003"):
        assert keys_current(kbot, no), no


def test_new_reads_the_pairs_the_rule_wrote(kbot: ChatBot) -> None:
    """`new` runs no check of its own: without the duplicates plugin's rules the same
    commands write no keys and warn of nothing."""
    kbot.ok(f'new company "Acme Holding B.V." {ACME_FIELDS}')
    kbot.app.store.rules.on_create.clear()
    reply = kbot.reply(AGAIN)
    assert reply.ok and reply.notes == () and reply.buttons == ()
    with kbot.app.store.transaction() as session:
        contact = get_by_no(session, "CT000002")
        assert contact is not None
        keys = session.scalars(select(DupeKey).where(DupeKey.contact_id == contact.id)).all()
    assert keys == []


# --- the rule set itself ---------------------------------------------------------------


def test_a_store_without_rules_keys_nothing_and_default_rules_key(database_url: str) -> None:
    for rules, keyed in ((None, False), (default_rules(), True)):
        store = Store(database_url, rules)
        try:
            with store.transaction() as session:
                contact = create_contact(session, ContactType.COMPANY, f"Acme {keyed}", {})
                stored = session.scalars(
                    select(DupeKey.value).where(DupeKey.contact_id == contact.id)
                ).all()
            assert bool(stored) is keyed
        finally:
            store.dispose()


def test_the_rules_are_those_of_the_enabled_plugins() -> None:
    names = build_registry(["contacts"]).store_rules().names()
    assert all(not rules for rules in names.values()), names
    full = build_registry().store_rules().names()
    assert full["on_create"] == ["storage.duplicates.rules.on_create"]
    assert "storage.duplicates.bulk.begin_import" in full["bulk_import"]
    store = Store("sqlite://", build_registry(["contacts"]).store_rules())
    try:  # the integrity rules hold on every store
        assert "relations" in [mover[0] for mover in store.rules.merge_movers]
        assert store.rules.on_delete and store.rules.type_change_guards
    finally:
        store.dispose()


def test_a_plugin_without_what_it_needs_is_refused_naming_both() -> None:
    with pytest.raises(RegistryError) as refused:
        build_registry(["contacts", "duplicate_digest"])
    assert str(refused.value).startswith(
        "Plugin `duplicate_digest` needs `duplicates`, which is not enabled."
    )


def test_plugins_load_after_what_they_need() -> None:
    registry = build_registry(["duplicate_digest", "contacts", "duplicates"])
    assert registry.plugins == ["duplicates", "duplicate_digest", "contacts"]
