"""A person the mail worker auto-creates is keyed by the store rules at once (issue 13), so
the same person typed again with `new` is offered as a duplicate, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from storage.contacts import get_by_no
from storage.duplicates.index import data_from_contact
from storage.duplicates.matcher import Matcher
from storage.duplicates.models import DupeKey
from tests.conftest import ChatBot
from tests.mail.conftest import Dovecot, MailRig, message


def test_a_person_the_mail_worker_created_is_offered_as_a_duplicate(
    bot: ChatBot, dovecot: Dovecot, mailbox: str
) -> None:
    bot.ok('codes salespeople add SP1 name="Sam Sales" email=sales@example.com')
    bot.ok('new company "NewCo" email=info@newco.example')  # CT000001
    mail = message(
        sender="sales@example.com",
        to="Karin Jansen <karin@newco.example>",
        subject="Offer",
        message_id="<offer-1@example.com>",
    )
    dovecot.append(mailbox, "INBOX", [mail])
    rig = MailRig(bot.app, dovecot, mailbox)
    assert rig.worker(auto_create="sent").sync_once().folders[0].created == 1
    with bot.app.store.transaction() as session:
        person = get_by_no(session, "CT000002")
        assert person is not None and person.email == "karin@newco.example"
        wanted = Matcher.from_settings(session).prepare(data_from_contact(person)).keys
        stored = set(session.scalars(select(DupeKey.value).where(DupeKey.contact_id == person.id)))
    assert wanted and stored == set(wanted)
    reply = bot.reply('new person "Karin Jansen" company=CT000001 email=karin@newco.example')
    assert reply.ok, reply.text
    assert any(n.startswith("possible duplicate of CT000002 Karin Jansen") for n in reply.notes)
    assert "merge CT000003 into CT000002" in {b.command for b in reply.buttons}
