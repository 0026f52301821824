"""The relationship setup (Business Central's Marketing Setup): defaults for new contacts,
inheritance switches and the contact number series, readable and editable as `key=value`."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.orm import Session

from storage.codes import code_table
from storage.errors import UserError
from storage.models import RelationshipSetup
from storage.numbering import get_series
from storage.numbers import INT32_MAX, is_ascii_number, short

#: setup key -> the code table its value must exist in
DEFAULT_KEYS: dict[str, str] = {
    "default_salesperson": "salespeople",
    "default_territory": "territories",
    "default_country": "countries",
    "default_language": "languages",
    "default_company_salutation": "salutations",
    "default_person_salutation": "salutations",
    # business relations: the code a link of each kind gives its contact (Marketing Setup's
    # Bus. Rel. Code for Customers, Vendors, Bank Accounts, Employees)
    "customer_relation": "relations",
    "vendor_relation": "relations",
    "bank_relation": "relations",
    "employee_relation": "relations",
}
INHERIT_KEYS: tuple[str, ...] = (
    "inherit_salesperson",
    "inherit_territory",
    "inherit_country",
    "inherit_language",
    "inherit_address",
    "inherit_communication",
)
NUMBER_KEYS: tuple[str, ...] = ("number_prefix", "number_width", "number_start")
#: Other yes/no switches: `auto_contact` gives a new customer, vendor, … a contact by itself.
SWITCH_KEYS: tuple[str, ...] = ("auto_contact",)
SETUP_KEYS: tuple[str, ...] = (*DEFAULT_KEYS, *INHERIT_KEYS, *NUMBER_KEYS, *SWITCH_KEYS)
_BOOL_KEYS = (*INHERIT_KEYS, *SWITCH_KEYS)

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


#: session.info key holding the setup row, so that one command reads it once.
_HELD = "contactbot.relationship_setup"


def get_setup(session: Session) -> RelationshipSetup:
    """The one setup row. The session holds it strongly: its identity map holds objects weakly,
    so without this a `new` read the row three times. A command has a session of its own
    (Store.transaction), so the next command still sees a change made elsewhere."""
    held = session.info.get(_HELD)
    if held is not None and held in session:
        return held
    setup = session.get(RelationshipSetup, 1)
    if setup is None:  # a database made by hand; the migration seeds this row
        setup = RelationshipSetup(id=1)
        session.add(setup)
        session.flush()
    session.info[_HELD] = setup
    return setup


def setup_values(session: Session) -> dict[str, str]:
    """Every setup key with its current value, as text."""
    setup = get_setup(session)
    series = get_series(session, setup.contact_series)
    values: dict[str, str] = {key: getattr(setup, key) for key in DEFAULT_KEYS}
    values.update({key: "yes" if getattr(setup, key) else "no" for key in INHERIT_KEYS})
    values.update(
        number_prefix=series.prefix, number_width=str(series.width), number_start=str(series.start)
    )
    values.update({key: "yes" if getattr(setup, key) else "no" for key in SWITCH_KEYS})
    return values


def _parse_bool(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UserError(f"{key}: `{value}` is not yes or no. Type {key}=yes or {key}=no.")


def _parse_int(key: str, value: object, low: int, high: int) -> int:
    word = str(value).strip()  # an int from config.toml, or digits typed
    if isinstance(value, bool) or not is_ascii_number(word):  # `²` passes str.isdigit
        raise UserError(f"{key}: `{short(word)}` is not a whole number; type digits 0-9.")
    if len(word.lstrip("0")) > len(str(high)) or not low <= int(word) <= high:
        raise UserError(f"{key}: {short(word)} is out of range; use {low} to {high}.")
    return int(word)


def defaults_using(session: Session, table: str, code: str) -> list[str]:
    """The setup's default keys that hold `code` of code table `table` (the setup keeps codes
    as text, so the database cannot refuse their removal by itself)."""
    setup = get_setup(session)
    return [
        key
        for key, key_table in DEFAULT_KEYS.items()
        if key_table == table and getattr(setup, key) == code
    ]


def update_setup(session: Session, changes: Mapping[str, object]) -> dict[str, str]:
    """Apply `changes` (all or nothing) and return the keys that changed with their new value."""
    unknown = [key for key in changes if key not in SETUP_KEYS]
    if unknown:
        raise UserError(f"Unknown setup key `{unknown[0]}`. Keys: {', '.join(SETUP_KEYS)}.")
    setup = get_setup(session)
    series = get_series(session, setup.contact_series)
    before = setup_values(session)
    for key, value in changes.items():
        if key in DEFAULT_KEYS:
            text = str(value).strip()
            if text:
                text = code_table(DEFAULT_KEYS[key]).require(session, text, key).code  # type: ignore[attr-defined]
            setattr(setup, key, text)
        elif key in _BOOL_KEYS:
            setattr(setup, key, _parse_bool(key, value))
        elif key == "number_prefix":
            prefix = str(value).strip().upper()  # numbers are looked up in upper case
            if len(prefix) > 10 or not prefix.isprintable() or " " in prefix:  # no ZWSP either
                raise UserError("number_prefix: use up to 10 characters without spaces.")
            series.prefix = prefix
        elif key == "number_width":
            series.width = _parse_int(key, value, 1, 12)
        elif key == "number_start":
            series.start = _parse_int(key, value, 0, INT32_MAX)  # an INTEGER column
    session.flush()
    after = setup_values(session)
    return {key: after[key] for key in after if after[key] != before[key]}
