"""The foundation issue's "Done when", as a conversation with the shell's registry."""

from __future__ import annotations


def test_company_person_inheritance_find_and_type_change(bot) -> None:
    created = bot.ok(
        'new company "Acme Holding B.V." city=Amsterdam phone="+31 20 555 0100" '
        'address="Keizersgracht 1"'
    )
    assert "CT000001" in created
    assert "CT000002" in bot.ok('new person "Jan de Vries" company=CT000001 email=jan@acme.example')

    card = bot.ok("show CT000002")
    assert "Amsterdam" in card
    assert "+31 20 555 0100" in card
    assert "Keizersgracht 1" in card
    assert "Acme Holding B.V." in card
    assert "Surname      Vries" in card
    assert "Middle Name  de" in card

    bot.ok("set CT000001 city=Rotterdam")
    assert "Rotterdam" in bot.ok("show CT000002")

    bot.ok("set CT000002 city=Utrecht")
    bot.ok("set CT000001 city=Haarlem")
    card = bot.ok("show CT000002")
    assert "Utrecht" in card and "Haarlem" not in card.split("Email")[0].split("City")[1]

    found = bot.reply("find acme holdng")
    assert found.table is not None
    assert found.table.rows[0][0] == "CT000001"

    refusal = bot.fails("type CT000001 person")
    assert "CT000002" in refusal
