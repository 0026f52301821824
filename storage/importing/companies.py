"""The companies the persons of an import file may name: good company rows of the file,
then the database's companies, resolved once per distinct reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.contacts import NUMBER_PATTERN, get_by_no, resolve_contact
from storage.errors import UserError
from storage.importing.rows import BATCH, TABLE, Draft
from storage.inheritance import INHERITABLE_FIELDS
from storage.models import Contact, ContactType

# --- companies a person may name --------------------------------------------------------

_DB_COMPANY_COLUMNS = ("id", "no", "name", "type", *INHERITABLE_FIELDS)


@dataclass
class CompanyFinder:
    """The companies the persons of the file may name: good company rows, then the database."""

    by_no: dict[str, Draft] = field(default_factory=dict)
    by_name: dict[str, list[Any]] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)  # name/no of a failed row -> line
    cache: dict[str, Any] = field(default_factory=dict)
    loaded: bool = False

    def add(self, company: Any, in_file: bool) -> None:
        if in_file and company.no:
            self.by_no[company.no] = company
        self.by_name.setdefault(company.name.lower(), []).append(company)

    def load_database(self, session: Session) -> None:
        """Index the database's companies by name once, instead of a query per person."""
        columns = [TABLE.c[name] for name in _DB_COMPANY_COLUMNS]
        query = select(*columns).where(TABLE.c.type == ContactType.COMPANY)
        for row in session.execute(query.execution_options(yield_per=BATCH)):
            self.add(row, in_file=False)
        self.loaded = True

    def find(self, session: Session, ref: str) -> Contact:
        """The company_finder for build_contact: resolved once per distinct reference."""
        key = ref.strip()
        hit = self.cache.get(key)
        if hit is None:
            try:
                hit = self._resolve(session, key)
            except UserError as error:
                hit = error
            self.cache[key] = hit
        if isinstance(hit, UserError):
            raise hit
        return hit  # type: ignore[no-any-return]

    def _resolve(self, session: Session, ref: str) -> Any:
        """As resolve_contact: a number first (the file's, then the database's), then an
        exact name (any case) that only one company has, in the file and the database."""
        if NUMBER_PATTERN.match(ref):
            if ref.upper() in self.by_no:
                return self.by_no[ref.upper()]
            if get_by_no(session, ref) is not None:  # a company, or `new`'s refusal
                return resolve_contact(session, ref, kind=ContactType.COMPANY)
        if not self.loaded:
            self.load_database(session)
        matches = self.by_name.get(ref.lower(), [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            places = ", ".join(_place(match) for match in matches[:10])
            raise UserError(f"company: `{ref}` names several companies: {places}. Use the number.")
        line = self.failed.get(ref.upper()) or self.failed.get(ref.lower())
        if line:
            raise UserError(f"company: `{ref}` is on line {line}, which failed.")
        raise UserError(
            f"company: no company `{ref}` in the file or the database. "
            "Give its number or its exact name."
        )

    def note_failed(self, line: int, no: str | None, name: str) -> None:
        """Remember a failed company row, so that its persons are told why."""
        if no:
            self.failed[no] = line
        if name.strip():
            self.failed.setdefault(name.strip().lower(), line)


def _place(company: Any) -> str:
    return f"line {company.line}" if isinstance(company, Draft) else company.no
