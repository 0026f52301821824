"""Persons of one company share what they inherit from it (address, phone, city, …): that says
nothing about whether two of them are one person. Colleagues are never flagged as duplicates,
while the same person entered twice at the company still is, on `new` and on a scan."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import aliased

from bot.config import Settings
from bot.registry import build_registry
from bot.runtime import build_app
from storage.duplicates.models import DupePair
from storage.duplicates.scan import scan
from storage.models import Contact
from tests.conftest import ChatBot

ACME = (
    'new company "Acme Holding B.V." address="Keizersgracht 1" post_code="1015 AA" '
    'city=Amsterdam phone="+31 20 555 0100"'
)
COLLEAGUES = (
    "Jan de Vries",
    "Piet Jansen",
    "Kees Bakker",
    "Anna de Boer",
    "Sophie Visser",
    "Daan Smit",
    "Emma Meijer",
    "Lucas de Graaf",
    "Julia Mulder",
    "Sem Bos",
)


@pytest.fixture
def cbot(settings: Settings) -> Iterator[ChatBot]:
    app = build_app(settings, build_registry())
    bot = ChatBot(app)
    bot.ok("setup default_country=NL")
    bot.ok(ACME)
    yield bot
    app.close()


def _new_person(bot: ChatBot, line: str) -> list[str]:
    reply = bot.reply(line)
    assert reply.ok, reply.text
    return [note for note in reply.notes if "possible duplicate" in note]


def _open_pairs(bot: ChatBot) -> list[tuple[str, str]]:
    """The names of each open pair's two contacts, in number order."""
    first, second = aliased(Contact), aliased(Contact)
    query = (
        select(first.name, second.name)
        .select_from(DupePair)
        .join(first, first.id == DupePair.contact_id_1)
        .join(second, second.id == DupePair.contact_id_2)
        .where(DupePair.status == "open")
    )
    with bot.app.store.transaction() as session:
        return sorted(tuple(row) for row in session.execute(query))


def test_colleagues_are_not_duplicates_of_each_other(cbot: ChatBot) -> None:
    for name in COLLEAGUES:
        first = name.split()[0].lower()
        warnings = _new_person(cbot, f'new person "{name}" company=CT000001 email={first}@acme.nl')
        assert warnings == [], (name, warnings)
    for name in ("Noah Dekker", "Tess van Dijk"):  # no email of their own
        assert _new_person(cbot, f'new person "{name}" company=CT000001') == [], name
    with cbot.app.store.transaction() as session:
        scan(session)
    assert _open_pairs(cbot) == []


def test_one_person_entered_twice_at_the_company_still_is(cbot: ChatBot) -> None:
    for name in COLLEAGUES[:4]:
        _new_person(cbot, f'new person "{name}" company=CT000001')
    warnings = _new_person(cbot, 'new person "Jan de Vries" company=CT000001')
    assert len(warnings) == 1 and "CT000002 Jan de Vries" in warnings[0], warnings
    warnings = _new_person(cbot, 'new person "Piet Jansem" company=CT000001')  # a typo
    assert len(warnings) == 1 and "CT000003 Piet Jansen" in warnings[0], warnings
    with cbot.app.store.transaction() as session:
        scan(session)
    assert _open_pairs(cbot) == [
        ("Jan de Vries", "Jan de Vries"),
        ("Piet Jansen", "Piet Jansem"),
    ]
