"""A small demo data set for `contactbot shell --demo`: code tables, salutations and a few
companies with their persons, built through the same rules as typed commands."""

from __future__ import annotations

from sqlalchemy.orm import Session

from storage.contacts import create_contact
from storage.duplicates.scan import scan
from storage.models import ContactType as T
from storage.models import (
    IndustryGroup,
    JobResponsibility,
    MailingGroup,
    OrganizationalLevel,
    Salesperson,
    Salutation,
    SalutationFormula,
    Territory,
)
from storage.setup import update_setup

SALUTATIONS = [
    # code, description, [(language, type, formula, name_1, name_2)]
    (
        "M",
        "Male",
        [
            ("", "formal", "Dear Mr. %1 %2", "middle_name", "surname"),
            ("", "informal", "Dear %1", "first_name", ""),
            ("EN", "formal", "Dear Mr. %1 %2", "middle_name", "surname"),
            ("EN", "informal", "Dear %1", "first_name", ""),
            ("NL", "formal", "Geachte heer %1 %2", "middle_name", "surname"),
            ("NL", "informal", "Beste %1", "first_name", ""),
            ("NB", "formal", "Kjære herr %1", "surname", ""),
            ("NB", "informal", "Hei %1", "first_name", ""),
        ],
    ),
    (
        "F",
        "Female",
        [
            ("", "formal", "Dear Ms. %1 %2", "middle_name", "surname"),
            ("", "informal", "Dear %1", "first_name", ""),
            ("EN", "formal", "Dear Ms. %1 %2", "middle_name", "surname"),
            ("EN", "informal", "Dear %1", "first_name", ""),
            ("NL", "formal", "Geachte mevrouw %1 %2", "middle_name", "surname"),
            ("NL", "informal", "Beste %1", "first_name", ""),
        ],
    ),
    (
        "COMPANY",
        "Company",
        [
            ("", "formal", "Dear Sir or Madam", "", ""),
            ("", "informal", "Hello %1", "company_name", ""),
            ("NL", "formal", "Geachte heer, mevrouw", "", ""),
            ("NL", "informal", "Beste collega's van %1", "company_name", ""),
        ],
    ),
]


def load_codes(session: Session) -> None:
    session.add_all(
        [
            Salesperson(code="SP1", name="Sam Sales", email="sales@example.com"),
            Salesperson(code="SP2", name="Ingrid Nordmann", email="ingrid@example.com"),
            Territory(code="NORTH", name="North"),
            Territory(code="SOUTH", name="South"),
            # countries (NL, NO, GB) and languages (EN, NL, NB) are seeded (ISO codes)
            JobResponsibility(code="PURCH", description="Purchasing"),
            JobResponsibility(code="IT", description="IT"),
            JobResponsibility(code="MGMT", description="Management"),
            IndustryGroup(code="RETAIL", description="Retail"),
            IndustryGroup(code="MFG", description="Manufacturing"),
            OrganizationalLevel(code="EXEC", description="Executive"),
            OrganizationalLevel(code="MGR", description="Manager"),
            MailingGroup(code="NEWS", description="Newsletter"),
            MailingGroup(code="XMAS", description="Christmas card"),
        ]
    )
    for code, description, formulas in SALUTATIONS:
        salutation = Salutation(code=code, description=description)
        for language, kind, formula, name_1, name_2 in formulas:
            salutation.formulas.append(
                SalutationFormula(
                    language_code=language,
                    salutation_type=kind,
                    formula=formula,
                    name_1=name_1,
                    name_2=name_2,
                )
            )
        session.add(salutation)
    session.flush()


def load_demo(session: Session) -> None:
    """Load the demo set into an empty store."""
    load_codes(session)
    update_setup(
        session,
        {
            "default_country": "NL",
            "default_company_salutation": "COMPANY",
            "default_salesperson": "SP1",
        },
    )
    acme = create_contact(
        session,
        T.COMPANY,
        "Acme Holding B.V.",
        {
            "address": "Keizersgracht 1",
            "post_code": "1015 CJ",
            "city": "Amsterdam",
            "phone": "+31 20 555 0100",
            "email": "info@acme.example",
            "home_page": "https://acme.example",
            "territory": "NORTH",
            "language": "NL",
        },
    )
    create_contact(
        session,
        T.PERSON,
        "Jan de Vries",
        {"company": acme.no, "email": "jan@acme.example", "job_title": "Buyer", "salutation": "M"},
    )
    create_contact(
        session,
        T.PERSON,
        "Anna Jansen",
        {"company": acme.no, "email": "anna@acme.example", "job_title": "CFO", "salutation": "F"},
    )
    fjord = create_contact(
        session,
        T.COMPANY,
        "Fjord Fisk AS",
        {
            "country": "NO",
            "address": "Bryggen 5",
            "post_code": "5003",
            "city": "Bergen",
            "phone": "+47 55 55 01 00",
            "language": "NB",
            "salesperson": "SP2",
        },
    )
    create_contact(
        session,
        T.PERSON,
        "Ola Nordmann",
        {"company": fjord.no, "email": "ola@fjordfisk.example", "salutation": "M"},
    )
    create_contact(
        session,
        T.PERSON,
        "Pieter Bakker",
        {"email": "pieter@bakker.example", "mobile": "06 12345678", "city": "Utrecht"},
    )
    # create_contact leaves duplicate keys to the `new` command: key the demo set here, so
    # that `new` warns about a demo contact typed again, as it would about one made by hand.
    scan(session)
