from __future__ import annotations

from bot.slack.escape import escape, escape_within, plain_within, truncate


def test_escape_makes_mentions_and_links_text() -> None:
    assert escape("<!channel> & <@U123> <#C1|x>") == (
        "&lt;!channel&gt; &amp; &lt;@U123&gt; &lt;#C1|x&gt;"
    )
    assert escape("&lt;") == "&amp;lt;"  # typed entities stay as typed


def test_escape_within_never_cuts_an_entity() -> None:
    text = "&" * 50
    for limit in range(1, 60):
        cut = escape_within(text, limit)
        assert len(cut) <= limit
        body = cut.removesuffix("…")
        assert body == "&amp;" * (len(body) // 5)


def test_escape_within_keeps_short_text() -> None:
    assert escape_within("Acme <b>", 100) == "Acme &lt;b&gt;"
    assert escape_within("x" * 10, 10) == "x" * 10
    assert escape_within("x" * 11, 10) == "x" * 9 + "…"


def test_plain_and_truncate() -> None:
    assert plain_within("", 10) == "-"
    assert plain_within("a\n b", 10) == "a b"
    assert truncate("abcdef", 4) == "abc…"
    assert len(plain_within("y" * 500, 150)) == 150


def test_from_slack_undoes_slacks_encoding_and_auto_links() -> None:
    from bot.slack.escape import from_slack

    assert (
        from_slack("new company &quot;A &amp; B &lt;x&gt;&quot;")
        == "new company &quot;A & B <x>&quot;"
    )
    assert (
        from_slack("email=<mailto:jan@acme.example|jan@acme.example>") == "email=jan@acme.example"
    )
    assert from_slack("home_page=<http://acme.example|acme.example>") == "home_page=acme.example"
    assert from_slack("home_page=<https://acme.example/x>") == "home_page=https://acme.example/x"
    assert from_slack("phone=<tel:+31205550100|+31 20 555 0100>") == "phone=+31 20 555 0100"
    assert from_slack('new company "<!channel> <@U1>"') == 'new company "<!channel> <@U1>"'
    assert from_slack("&amp;lt;") == "&lt;"
