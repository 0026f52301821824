"""normalize_email's short way for plain addresses (the domain checked once per domain) gives
exactly what email-validator alone gives: the same address, or the same refusal."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.errors import UserError
from storage.normalize import email_by_validator, normalize_email

#: Characters an address is made of, and the ones that break it.
PIECES = st.sampled_from(
    [*"abcXYZ019", ".", "-", "_", "+", "'", "@", " ", '"', "é", "ß", "[", "]", "..", "xn--"]
)
DOMAINS = st.sampled_from(
    [
        "acme.example",
        "ACME.Example",
        "mail.co.uk",
        "acme",
        "localhost",
        "x.test",
        "-acme.com",
        "acme-.com",
        "acme..com",
        "123.456",
        "acme.example.",
        "[192.0.2.1]",
        "münchen.de",
        "a" * 64 + ".com",
        "b" * 250 + ".com",
        "xn--mnchen-3ya.de",
        "",
    ]
)


def outcome(normalize: object, value: str) -> tuple[bool, str]:
    try:
        return True, normalize(value)  # type: ignore[operator]
    except UserError as error:
        return False, error.message


def validators_answer(value: str) -> tuple[bool, str]:
    """What email-validator alone makes of a typed value (blank is no address: "")."""
    return outcome(email_by_validator, value.strip()) if value.strip() else (True, "")


@settings(max_examples=600, deadline=None)
@given(local=st.lists(PIECES, min_size=0, max_size=12).map("".join), domain=DOMAINS)
def test_the_short_way_answers_as_email_validator_does(local: str, domain: str) -> None:
    value = f"{local}@{domain}"
    assert outcome(normalize_email, value) == validators_answer(value)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_text_is_answered_as_email_validator_does(value: str) -> None:
    assert outcome(normalize_email, value) == validators_answer(value)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Jan.De.Vries@ACME.Example", "jan.de.vries@acme.example"),
        ("o'brien+sales@mail.co.uk", "o'brien+sales@mail.co.uk"),
        ("jürgen@münchen.de", "jürgen@xn--mnchen-3ya.de"),
    ],
)
def test_addresses_are_stored_lower_case_with_an_ascii_domain(typed: str, stored: str) -> None:
    assert normalize_email(typed) == stored


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("jan@acme", "It should have a period"),
        ("jan@x.test", "special-use or reserved name"),
        ("a..b@acme.example", "two periods in a row"),
        ("jan at acme.example", "must have an @-sign"),
    ],
)
def test_a_bad_address_is_refused_with_the_reason(typed: str, reason: str) -> None:
    with pytest.raises(UserError) as refused:
        normalize_email(typed)
    assert (
        reason in refused.value.message and "Type it like jan@acme.example" in refused.value.message
    )
