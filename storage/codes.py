"""The code tables (salespeople, territories, …): one catalogue that the `codes` command, the
field validation and the import all use.

Countries/regions (ISO 3166-1 alpha-2, English names) and languages (ISO 639-1) come seeded
from pycountry (`seed_iso_codes`: migration 0013 runs it on every database, new or existing),
so that `country=DE` or `setup default_country=US` works on a fresh database. Seeding only adds
codes that are missing: a code a user added or renamed is left as it is, and the tables stay
editable (`codes countries set NL name=Nederland`, `codes countries add XK …`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pycountry
from sqlalchemy import Connection, column, select, table
from sqlalchemy.orm import Session

from storage.errors import NotFound, UserError
from storage.models import (
    Base,
    BusinessRelation,
    CountryRegion,
    IndustryGroup,
    InteractionTemplate,
    JobResponsibility,
    Language,
    MailingGroup,
    OrganizationalLevel,
    Salesperson,
    Salutation,
    Territory,
)
from storage.numbers import short
from storage.text import check_column, check_text, column_length, looks_blank


@dataclass(frozen=True)
class CodeTable:
    name: str  # as typed: `codes territories …`
    model: type[Base]
    fields: tuple[str, ...]  # editable columns besides `code`
    singular: str

    def get(self, session: Session, code: str) -> Base | None:
        code = code.strip().upper()
        if len(code) > (column_length(self.model, "code") or 20):
            return None  # cannot exist; PostgreSQL would not even compare it
        return session.get(self.model, code)

    def require(self, session: Session, code: str, field: str | None = None) -> Base:
        row = self.get(session, code)
        if row is None:
            code = short(code.strip())  # echo a short part of a long value
            where = f"{field}: " if field else ""
            raise NotFound(
                f"{where}{self.singular} `{code}` does not exist. "
                f"Add it with `codes {self.name} add {code.upper()} …`, "
                f"or see `codes {self.name} list`."
            )
        return row

    def check_code(self, code: str) -> str:
        """A new code in upper case: one word of plain text that fits the code column."""
        code = code.strip().upper()
        limit = column_length(self.model, "code") or 20
        check_text("code", code)
        if not code or len(code) > limit or any(ch.isspace() for ch in code) or looks_blank(code):
            raise UserError(
                f"code: a {self.singular} code has up to {limit} characters and no spaces, "
                "like NORTH."
            )
        return code

    def assign(self, row: Base, key: str, value: str) -> None:
        """Set one editable column, checked against the column: one line of plain text,
        at most its String(n) length (PostgreSQL refuses more, SQLite would keep it)."""
        check_column(self.model, key, value)
        setattr(row, key, value)

    def all(self, session: Session) -> list[Base]:
        return list(session.scalars(select(self.model).order_by(self.model.code)))  # type: ignore[attr-defined]


CODE_TABLES: dict[str, CodeTable] = {
    t.name: t
    for t in (
        CodeTable("salespeople", Salesperson, ("name", "email", "slack_user_id"), "salesperson"),
        CodeTable("territories", Territory, ("name",), "territory"),
        CodeTable("countries", CountryRegion, ("name",), "country/region"),
        CodeTable("languages", Language, ("name",), "language"),
        CodeTable("jobs", JobResponsibility, ("description",), "job responsibility"),
        CodeTable("industries", IndustryGroup, ("description",), "industry group"),
        CodeTable("levels", OrganizationalLevel, ("description",), "organizational level"),
        CodeTable("mailing", MailingGroup, ("description",), "mailing group"),
        CodeTable("salutations", Salutation, ("description",), "salutation"),
        CodeTable("interactions", InteractionTemplate, ("description",), "interaction template"),
        CodeTable("relations", BusinessRelation, ("description",), "business relation"),
    )
}

#: Other words people use for the same tables.
ALIASES = {
    "salesperson": "salespeople",
    "territory": "territories",
    "country": "countries",
    "language": "languages",
    "job": "jobs",
    "job_responsibilities": "jobs",
    "responsibilities": "jobs",
    "industry": "industries",
    "industry_groups": "industries",
    "level": "levels",
    "organizational_levels": "levels",
    "mailing_groups": "mailing",
    "mailinggroups": "mailing",
    "salutation": "salutations",
    "interaction_templates": "interactions",
    "templates": "interactions",
    "relation": "relations",
    "business_relations": "relations",
}


def code_table(name: str) -> CodeTable:
    wanted = name.lower().replace(" ", "_").replace("-", "_")
    key = ALIASES.get(wanted, wanted)
    table = CODE_TABLES.get(key)
    if table is None:
        raise UserError(f"Unknown code table `{name}`. Tables: {', '.join(CODE_TABLES)}.")
    return table


# --- the ISO seed ------------------------------------------------------------------------


def iso_countries() -> dict[str, str]:
    """Every ISO 3166-1 country by alpha-2 code, with its common English name where it has one
    (Bolivia, South Korea, Taiwan), else its ISO short name."""
    return {
        country.alpha_2: getattr(country, "common_name", None) or country.name
        for country in pycountry.countries
    }


def iso_languages() -> dict[str, str]:
    """Every language with an ISO 639-1 code, upper case as codes are kept here (NL, EN)."""
    return {
        language.alpha_2.upper(): language.name
        for language in pycountry.languages
        if getattr(language, "alpha_2", None)
    }


def seed_iso_codes(connection: Connection) -> int:
    """Add the ISO countries and languages that the tables do not hold yet; returns how many.
    Works on a bare connection (a migration's): rows already there are not touched."""
    added = 0
    for name, entries in (("countries", iso_countries()), ("languages", iso_languages())):
        target = table(name, column("code"), column("name"))
        present = set(connection.execute(select(target.c.code)).scalars())
        rows = [{"code": code, "name": text} for code, text in entries.items()]
        rows = [row for row in rows if row["code"] not in present]
        if rows:
            connection.execute(target.insert(), rows)
        added += len(rows)
    return added
