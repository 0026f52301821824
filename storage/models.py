"""SQLAlchemy 2.0 models of the contact card and its code tables.

The shape follows Business Central's relationship management: one `contacts` table holds
companies and persons (a person points at its company), code tables hold the values a card
refers to, and the relationship setup is a single row. Business rules live in the other
`storage` modules, not here: these classes only describe what is stored.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.clock import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ContactType(enum.StrEnum):
    COMPANY = "company"
    PERSON = "person"


# --- code tables -------------------------------------------------------------------------


class Salesperson(Base):
    """A salesperson (Business Central's Salesperson/Purchaser)."""

    __tablename__ = "salespeople"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    slack_user_id: Mapped[str] = mapped_column(String(30), default="")


class Territory(Base):
    __tablename__ = "territories"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")


class CountryRegion(Base):
    __tablename__ = "countries"
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")


class Language(Base):
    __tablename__ = "languages"
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), default="")


class JobResponsibility(Base):
    """Job responsibilities apply to persons only."""

    __tablename__ = "job_responsibilities"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    description: Mapped[str] = mapped_column(String(100), default="")


class IndustryGroup(Base):
    """Industry groups apply to companies only."""

    __tablename__ = "industry_groups"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    description: Mapped[str] = mapped_column(String(100), default="")


class OrganizationalLevel(Base):
    """Organizational levels apply to persons only."""

    __tablename__ = "organizational_levels"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    description: Mapped[str] = mapped_column(String(100), default="")


class MailingGroup(Base):
    __tablename__ = "mailing_groups"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    description: Mapped[str] = mapped_column(String(100), default="")


class Salutation(Base):
    __tablename__ = "salutations"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    description: Mapped[str] = mapped_column(String(100), default="")
    formulas: Mapped[list[SalutationFormula]] = relationship(
        back_populates="salutation", cascade="all, delete-orphan"
    )


class SalutationFormula(Base):
    """One formula per salutation, language and formal/informal.

    `formula` holds placeholders %1..%5 filled from `name_1`..`name_5`, each naming a part of
    the contact (job_title, first_name, middle_name, surname, initials, company_name), as in
    Business Central's Salutation Formula table. An empty language code is the fallback.
    """

    __tablename__ = "salutation_formulas"
    salutation_code: Mapped[str] = mapped_column(
        ForeignKey("salutations.code", ondelete="CASCADE"), primary_key=True
    )
    language_code: Mapped[str] = mapped_column(String(10), primary_key=True, default="")
    salutation_type: Mapped[str] = mapped_column(String(10), primary_key=True)
    formula: Mapped[str] = mapped_column(String(100), default="")
    name_1: Mapped[str] = mapped_column(String(20), default="")
    name_2: Mapped[str] = mapped_column(String(20), default="")
    name_3: Mapped[str] = mapped_column(String(20), default="")
    name_4: Mapped[str] = mapped_column(String(20), default="")
    name_5: Mapped[str] = mapped_column(String(20), default="")
    salutation: Mapped[Salutation] = relationship(back_populates="formulas")


# --- setup and numbering ----------------------------------------------------------------


class NumberSeries(Base):
    """A number series: `prefix` + `last_number + 1` zero-padded to `width` digits."""

    __tablename__ = "number_series"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    prefix: Mapped[str] = mapped_column(String(10), default="CT")
    width: Mapped[int] = mapped_column(Integer, default=6)
    start: Mapped[int] = mapped_column(Integer, default=1)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class RelationshipSetup(Base):
    """Business Central's Marketing Setup: defaults and inheritance switches. One row, id 1."""

    __tablename__ = "relationship_setup"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    default_salesperson: Mapped[str] = mapped_column(String(20), default="")
    default_territory: Mapped[str] = mapped_column(String(20), default="")
    default_country: Mapped[str] = mapped_column(String(10), default="")
    default_language: Mapped[str] = mapped_column(String(10), default="")
    default_company_salutation: Mapped[str] = mapped_column(String(20), default="")
    default_person_salutation: Mapped[str] = mapped_column(String(20), default="")
    inherit_salesperson: Mapped[bool] = mapped_column(Boolean, default=True)
    inherit_territory: Mapped[bool] = mapped_column(Boolean, default=True)
    inherit_country: Mapped[bool] = mapped_column(Boolean, default=True)
    inherit_language: Mapped[bool] = mapped_column(Boolean, default=True)
    inherit_address: Mapped[bool] = mapped_column(Boolean, default=True)
    inherit_communication: Mapped[bool] = mapped_column(Boolean, default=True)
    contact_series: Mapped[str] = mapped_column(String(20), default="CONTACT")
    # business relations (issue #6): the code each kind of linked record gives its contact,
    # and whether a new customer/vendor/bank/employee gets a contact by itself
    customer_relation: Mapped[str] = mapped_column(String(20), default="CUST")
    vendor_relation: Mapped[str] = mapped_column(String(20), default="VEND")
    bank_relation: Mapped[str] = mapped_column(String(20), default="BANK")
    employee_relation: Mapped[str] = mapped_column(String(20), default="EMPL")
    auto_contact: Mapped[bool] = mapped_column(Boolean, default=True)


# --- the contact card -------------------------------------------------------------------


class Contact(Base):
    """A company or a person. A person may belong to a company (`company_id`) or stand alone."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    no: Mapped[str] = mapped_column(String(20), unique=True)
    type: Mapped[ContactType] = mapped_column(
        Enum(ContactType, name="contact_type", values_callable=lambda e: [m.value for m in e])
    )
    name: Mapped[str] = mapped_column(String(100), default="")
    name_2: Mapped[str] = mapped_column(String(50), default="")
    first_name: Mapped[str] = mapped_column(String(30), default="")
    middle_name: Mapped[str] = mapped_column(String(30), default="")
    surname: Mapped[str] = mapped_column(String(30), default="")
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="RESTRICT"), index=True
    )
    company_name: Mapped[str] = mapped_column(String(100), default="")
    job_title: Mapped[str] = mapped_column(String(30), default="")
    address: Mapped[str] = mapped_column(String(100), default="")
    address_2: Mapped[str] = mapped_column(String(50), default="")
    city: Mapped[str] = mapped_column(String(30), default="")
    post_code: Mapped[str] = mapped_column(String(20), default="")
    county: Mapped[str] = mapped_column(String(30), default="")
    country: Mapped[str | None] = mapped_column(ForeignKey("countries.code"))
    phone: Mapped[str] = mapped_column(String(30), default="")
    phone_e164: Mapped[str] = mapped_column(String(20), default="", index=True)
    mobile: Mapped[str] = mapped_column(String(30), default="")
    mobile_e164: Mapped[str] = mapped_column(String(20), default="", index=True)
    email: Mapped[str] = mapped_column(String(120), default="")
    email_normalized: Mapped[str] = mapped_column(String(120), default="", index=True)
    home_page: Mapped[str] = mapped_column(String(120), default="")
    vat_no: Mapped[str] = mapped_column(String(30), default="")
    salesperson: Mapped[str | None] = mapped_column(ForeignKey("salespeople.code"))
    territory: Mapped[str | None] = mapped_column(ForeignKey("territories.code"))
    language: Mapped[str | None] = mapped_column(ForeignKey("languages.code"))
    level: Mapped[str | None] = mapped_column(ForeignKey("organizational_levels.code"))
    salutation: Mapped[str | None] = mapped_column(ForeignKey("salutations.code"))
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    modified_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    company: Mapped[Contact | None] = relationship(remote_side=[id], back_populates="persons")
    persons: Mapped[list[Contact]] = relationship(back_populates="company")
    alt_addresses: Mapped[list[AltAddress]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", order_by="AltAddress.code"
    )
    job_responsibilities: Mapped[list[JobResponsibility]] = relationship(
        secondary="contact_job_responsibilities", order_by="JobResponsibility.code"
    )
    industry_groups: Mapped[list[IndustryGroup]] = relationship(
        secondary="contact_industry_groups", order_by="IndustryGroup.code"
    )
    mailing_groups: Mapped[list[MailingGroup]] = relationship(
        secondary="contact_mailing_groups", order_by="MailingGroup.code"
    )

    @property
    def is_company(self) -> bool:
        return self.type is ContactType.COMPANY


class ContactJobResponsibility(Base):
    __tablename__ = "contact_job_responsibilities"
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(ForeignKey("job_responsibilities.code"), primary_key=True)


class ContactIndustryGroup(Base):
    __tablename__ = "contact_industry_groups"
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(ForeignKey("industry_groups.code"), primary_key=True)


class ContactMailingGroup(Base):
    __tablename__ = "contact_mailing_groups"
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(ForeignKey("mailing_groups.code"), primary_key=True)


class AltAddress(Base):
    """An alternate address (e.g. a branch or a summer address), optionally for a date range."""

    __tablename__ = "contact_alt_addresses"
    __table_args__ = (UniqueConstraint("contact_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(20))
    company_name: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(100), default="")
    address_2: Mapped[str] = mapped_column(String(50), default="")
    city: Mapped[str] = mapped_column(String(30), default="")
    post_code: Mapped[str] = mapped_column(String(20), default="")
    county: Mapped[str] = mapped_column(String(30), default="")
    country: Mapped[str | None] = mapped_column(ForeignKey("countries.code"))
    phone: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    email_normalized: Mapped[str] = mapped_column(String(120), default="", index=True)
    starting_date: Mapped[dt.date | None] = mapped_column(Date)
    ending_date: Mapped[dt.date | None] = mapped_column(Date)
    contact: Mapped[Contact] = relationship(back_populates="alt_addresses")

    def in_force(self, day: dt.date) -> bool:
        """Whether this address applies on `day` (an open end of the range is unbounded)."""
        if self.starting_date and day < self.starting_date:
            return False
        return not (self.ending_date and day > self.ending_date)


# --- interaction log and mail state (issue #4) ------------------------------------------


class InteractionTemplate(Base):
    """Business Central's Interaction Template, reduced to a code table (EMAIL, CALL, …)."""

    __tablename__ = "interaction_templates"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    description: Mapped[str] = mapped_column(String(100), default="")


class Interaction(Base):
    """One Interaction Log Entry. `message_id` is set for email only: with `contact_id` it is
    unique, so one email seen in several folders, mailboxes or rescans lands once per contact
    (NULLs never collide, so other sources are not constrained)."""

    __tablename__ = "interactions"
    __table_args__ = (UniqueConstraint("contact_id", "message_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    template: Mapped[str] = mapped_column(ForeignKey("interaction_templates.code"))
    direction: Mapped[str] = mapped_column(String(10))  # "inbound" | "outbound"
    initiated_by: Mapped[str] = mapped_column(String(10))  # "us" | "them"
    salesperson: Mapped[str | None] = mapped_column(ForeignKey("salespeople.code"))
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    description: Mapped[str] = mapped_column(String(250), default="")
    duration_minutes: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    source: Mapped[str] = mapped_column(String(10))  # "imap" | "slack" | "shell" | "api"
    reference: Mapped[str] = mapped_column(String(500), default="")
    message_id: Mapped[str | None] = mapped_column(String(250))
    mailbox: Mapped[str] = mapped_column(String(100), default="")
    folder: Mapped[str] = mapped_column(String(200), default="")
    snippet: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class MailFolderState(Base):
    """How far the mail worker got in one folder of one mailbox: committed with the
    interactions of each batch, so a restart continues exactly there."""

    __tablename__ = "mail_folder_states"
    __table_args__ = (UniqueConstraint("mailbox", "folder"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mailbox: Mapped[str] = mapped_column(String(100))
    folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    #: the last time the folder was read to its end (None: never)
    synced_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class MailAccountState(Base):
    """Whether a mailbox is being logged: `ok`, or `failing` since when and why. Each state
    change is one conditional UPDATE, so of several workers exactly one sees (and alerts on)
    the change from ok to failing and back."""

    __tablename__ = "mail_account_states"
    mailbox: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[str] = mapped_column(String(10), default="ok")  # "ok" | "failing"
    failing_since: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    last_error_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class MailSkipped(Base):
    """A message the worker could not use, with the reason; recorded once, never retried."""

    __tablename__ = "mail_skipped"
    __table_args__ = (UniqueConstraint("mailbox", "folder", "uidvalidity", "uid"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    mailbox: Mapped[str] = mapped_column(String(100))
    folder: Mapped[str] = mapped_column(String(200))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(250), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# --- delivery de-duplication (issue #3) -------------------------------------------------


class Delivery(Base):
    """An adapter's delivery id (a Slack trigger_id, event_id, …) of a command that ran:
    recorded in the same transaction as the command's writes, under a unique key, so a
    retried delivery never runs twice."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("source", "delivery_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(10))
    delivery_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)


# --- business relations (issue #6) -----------------------------------------------------


class RecordKind(enum.StrEnum):
    """The kinds of record a contact can be linked to (Business Central's Link to Table)."""

    CUSTOMER = "customer"
    VENDOR = "vendor"
    BANK = "bank"
    EMPLOYEE = "employee"


class BusinessRelation(Base):
    """A business relation code (CUST, VEND, BANK, EMPL, LAWYER, PROSP, …)."""

    __tablename__ = "business_relations"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    description: Mapped[str] = mapped_column(String(100), default="")


class ContactBusinessRelation(Base):
    """A relation code on a contact: with a link (the setup's code of its kind) or bare (a
    prospect, a lawyer). A code in use cannot be removed from the code table."""

    __tablename__ = "contact_business_relations"
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(ForeignKey("business_relations.code"), primary_key=True)


class BusinessRecord(Base):
    """A customer, vendor, bank account or employee: its own number per kind and the fields
    it shares with a contact (currency for customers and vendors only)."""

    __tablename__ = "business_records"
    __table_args__ = (UniqueConstraint("kind", "no"), UniqueConstraint("id", "kind"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))
    no: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100), default="")
    name_2: Mapped[str] = mapped_column(String(50), default="")
    address: Mapped[str] = mapped_column(String(100), default="")
    address_2: Mapped[str] = mapped_column(String(50), default="")
    city: Mapped[str] = mapped_column(String(30), default="")
    post_code: Mapped[str] = mapped_column(String(20), default="")
    county: Mapped[str] = mapped_column(String(30), default="")
    country: Mapped[str | None] = mapped_column(ForeignKey("countries.code"))
    phone: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    home_page: Mapped[str] = mapped_column(String(120), default="")
    vat_no: Mapped[str] = mapped_column(String(30), default="")
    salesperson: Mapped[str | None] = mapped_column(ForeignKey("salespeople.code"))
    language: Mapped[str | None] = mapped_column(ForeignKey("languages.code"))
    currency: Mapped[str] = mapped_column(String(10), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    modified_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class BusinessLink(Base):
    """A contact linked to one record. Unique per contact and kind, and per record; the kind
    is part of the key to the record, so a link's kind is always its record's."""

    __tablename__ = "business_links"
    __table_args__ = (
        UniqueConstraint("contact_id", "kind"),
        UniqueConstraint("record_id"),
        ForeignKeyConstraint(
            ["record_id", "kind"],
            ["business_records.id", "business_records.kind"],
            ondelete="CASCADE",
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    record_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    contact: Mapped[Contact] = relationship()
    record: Mapped[BusinessRecord] = relationship()


class RecordTemplate(Base):
    """Defaults for a record made from a contact (`create-as … template=…`): they fill what
    the contact leaves blank."""

    __tablename__ = "record_templates"
    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    description: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str | None] = mapped_column(ForeignKey("countries.code"))
    salesperson: Mapped[str | None] = mapped_column(ForeignKey("salespeople.code"))
    language: Mapped[str | None] = mapped_column(ForeignKey("languages.code"))
    currency: Mapped[str] = mapped_column(String(10), default="")


class BusinessRelationLog(Base):
    """What was removed around a link (a linked contact or record deleted, a link undone), by
    number and name, so it outlives both sides."""

    __tablename__ = "business_relation_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    event: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10))
    record_no: Mapped[str] = mapped_column(String(20))
    record_name: Mapped[str] = mapped_column(String(100), default="")
    contact_no: Mapped[str] = mapped_column(String(20))
    contact_name: Mapped[str] = mapped_column(String(100), default="")
    by: Mapped[str] = mapped_column(String(100), default="", server_default="")


__all__ = [
    "AltAddress",
    "Base",
    "BusinessLink",
    "BusinessRecord",
    "BusinessRelation",
    "BusinessRelationLog",
    "Contact",
    "ContactBusinessRelation",
    "ContactIndustryGroup",
    "ContactJobResponsibility",
    "ContactMailingGroup",
    "ContactType",
    "CountryRegion",
    "Delivery",
    "IndustryGroup",
    "Interaction",
    "InteractionTemplate",
    "JobResponsibility",
    "Language",
    "MailFolderState",
    "MailSkipped",
    "MailingGroup",
    "NumberSeries",
    "OrganizationalLevel",
    "RecordKind",
    "RecordTemplate",
    "RelationshipSetup",
    "Salesperson",
    "Salutation",
    "SalutationFormula",
]
