"""The contact card's fields as people name them: snake case on the command line, in CSV
headers and in config, with the label shown on a card.

One table here is the single source for parsing `field=value`, for import/export headers and
for the card layout, so a new field is added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    code_table: str | None = None  # the code table a value must exist in


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("type", "Type"),
    FieldSpec("name", "Name"),
    FieldSpec("name_2", "Name 2"),
    FieldSpec("first_name", "First Name"),
    FieldSpec("middle_name", "Middle Name"),
    FieldSpec("surname", "Surname"),
    FieldSpec("company", "Company"),
    FieldSpec("job_title", "Job Title"),
    FieldSpec("address", "Address"),
    FieldSpec("address_2", "Address 2"),
    FieldSpec("city", "City"),
    FieldSpec("post_code", "Post Code"),
    FieldSpec("county", "County"),
    FieldSpec("country", "Country/Region", code_table="countries"),
    FieldSpec("phone", "Phone"),
    FieldSpec("mobile", "Mobile Phone"),
    FieldSpec("email", "Email"),
    FieldSpec("home_page", "Home Page"),
    FieldSpec("vat_no", "VAT Registration No."),
    FieldSpec("salesperson", "Salesperson", code_table="salespeople"),
    FieldSpec("territory", "Territory", code_table="territories"),
    FieldSpec("language", "Language", code_table="languages"),
    FieldSpec("level", "Organizational Level", code_table="levels"),
    FieldSpec("salutation", "Salutation Code", code_table="salutations"),
)

FIELD_BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in FIELDS}

#: Fields that `set` and `new` accept (type changes go through the `type` command).
EDITABLE_FIELDS: tuple[str, ...] = tuple(spec.name for spec in FIELDS if spec.name != "type")

#: Fields that hold a code from a code table; stored as NULL when blank.
CODE_FIELDS: frozenset[str] = frozenset(s.name for s in FIELDS if s.code_table)

#: Fields that only make sense on a person.
PERSON_ONLY_FIELDS: frozenset[str] = frozenset(
    {"first_name", "middle_name", "surname", "company", "job_title", "level"}
)

#: The columns written to a CSV export and accepted by the CSV import, in order.
CSV_COLUMNS: tuple[str, ...] = ("no", *(spec.name for spec in FIELDS))

ADDRESS_BLOCK: tuple[str, ...] = ("address", "address_2", "post_code", "city", "county")


def unknown_field_message(name: str) -> str:
    valid = ", ".join(EDITABLE_FIELDS)
    return f"Unknown field `{name}`. Valid fields: {valid}."
