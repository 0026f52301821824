"""Salutations: a formula per salutation code, language and formal/informal, filled from the
contact's name parts, as Business Central's Salutation Formula does (`Dear Mr. %1 %2`)."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from storage.codes import code_table
from storage.errors import UserError
from storage.models import Contact, ContactType, Salutation, SalutationFormula
from storage.numbers import short
from storage.setup import get_setup

SALUTATION_TYPES = ("formal", "informal")
NAME_PARTS = ("job_title", "first_name", "middle_name", "surname", "initials", "company_name")


def initials(contact: Contact) -> str:
    words = f"{contact.first_name} {contact.middle_name}".split()
    return "".join(f"{word[0].upper()}." for word in words)


def _part(contact: Contact, part: str) -> str:
    if not part:
        return ""
    if part == "initials":
        return initials(contact)
    if part == "company_name" and contact.type is ContactType.COMPANY:
        return contact.name
    return getattr(contact, part) or ""


def fill(formula: SalutationFormula, contact: Contact) -> str:
    names = [formula.name_1, formula.name_2, formula.name_3, formula.name_4, formula.name_5]
    values = {str(i): _part(contact, part) for i, part in enumerate(names, start=1)}
    text = re.sub(r"%([1-5])", lambda m: values[m.group(1)], formula.formula)
    return " ".join(text.split()).replace(" ,", ",")


def check_type(kind: str) -> str:
    kind = kind.lower()
    if kind not in SALUTATION_TYPES:
        raise UserError(f"`{short(kind)}` is not formal or informal.")
    return kind


def salutation_for(session: Session, contact: Contact, kind: str = "formal") -> str:
    """The contact's salutation in its language; a missing formula names code and language."""
    kind = check_type(kind)
    setup = get_setup(session)
    code = contact.salutation or (
        setup.default_company_salutation
        if contact.type is ContactType.COMPANY
        else setup.default_person_salutation
    )
    if not code:
        raise UserError(
            f"{contact.no} has no salutation code. Set one: `set {contact.no} salutation=…` "
            "(see `codes salutations list`)."
        )
    salutation = session.get(Salutation, code)
    if salutation is None:
        raise UserError(f"Salutation code `{code}` does not exist.")
    language = contact.language or ""
    by_key = {(f.language_code, f.salutation_type): f for f in salutation.formulas}
    formula = by_key.get((language, kind)) or by_key.get(("", kind))
    if formula is None:
        raise UserError(
            f"There is no {kind} formula for salutation {code} in language "
            f"{language or '(none)'}. Add one: `salutation formula {code} {kind} "
            f'language={language} text="Dear Mr. %1 %2" 1=middle_name 2=surname`.'
        )
    return fill(formula, contact)


def set_formula(
    session: Session, code: str, kind: str, language: str, text: str, parts: dict[str, str]
) -> SalutationFormula:
    """Create or replace a formula; `parts` maps "1".."5" to a name part."""
    kind = check_type(kind)
    salutation = code_table("salutations").require(session, code)
    language = language.strip().upper()
    if language:
        code_table("languages").require(session, language, "language")
    for key, part in parts.items():
        if key not in {"1", "2", "3", "4", "5"}:
            raise UserError(f"`{key}=` is not a placeholder; use 1= to 5=.")
        if part and part not in NAME_PARTS:
            raise UserError(
                f"{key}: `{part}` is not a name part. Use one of: {', '.join(NAME_PARTS)}."
            )
    if not text.strip():
        raise UserError('A formula needs text="…", like text="Dear Mr. %1 %2".')
    formula = session.get(SalutationFormula, (salutation.code, language, kind))  # type: ignore[attr-defined]
    if formula is None:
        formula = SalutationFormula(
            salutation_code=salutation.code,
            language_code=language,
            salutation_type=kind,  # type: ignore[attr-defined]
        )
        session.add(formula)
    formula.formula = text.strip()
    for index in range(1, 6):
        setattr(formula, f"name_{index}", parts.get(str(index), ""))
    session.flush()
    return formula
