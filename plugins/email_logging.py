"""Email logging: each email between a salesperson and a contact becomes an interaction.

As Business Central's email logging: one side must be a salesperson (by the salesperson's
email, or the owner of the mailbox it was found in) and the other side must hold contacts.
A salesperson's mail is outbound (initiated by us) to the contacts among To and Cc; a
contact's mail is inbound (initiated by them). Contacts match on the normalised address of
the card and of every alternate address; several contacts on one address each get it.
Optionally unknown correspondents become persons (never for free mail, bulk mail or our own
domain). The rules of storage apply: once per (contact, Message-ID).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select

from bot.contexts import EmailContext, EmailOutcome
from bot.inputs import EmailAddress, ReceivedEmail
from bot.mail.parse import normalize_address
from bot.registry import on_email
from storage.clock import utcnow
from storage.contacts import create_contact
from storage.errors import UserError
from storage.interactions import (
    INBOUND,
    OUTBOUND,
    EmailInteraction,
    contacts_with_email,
    record_email_interactions,
)
from storage.models import Contact, ContactType, Salesperson

log = logging.getLogger(__name__)

_CACHE_KEY = "email_logging"


@dataclass
class _BatchLookup:
    """Salespeople and contacts of every address in the batch, looked up once."""

    salespeople: dict[str, str]  # normalised email -> salesperson code
    salesperson_emails: dict[str, set[str]]  # code -> normalised emails
    own_domains: set[str]
    contacts: dict[str, list[tuple[int, str | None]]]


def _lookup(ctx: EmailContext) -> _BatchLookup:
    cached = ctx.cache.get(_CACHE_KEY)
    if cached is not None:
        return cached
    salespeople: dict[str, str] = {}
    by_code: dict[str, set[str]] = {}
    for code, address in ctx.session.execute(select(Salesperson.code, Salesperson.email)):
        normalized = normalize_address(address or "")
        if normalized:
            salespeople[normalized] = code
            by_code.setdefault(code, set()).add(normalized)
    emails = ctx.batch or (ctx.email,)
    addresses = set()
    for email in emails:
        if email.sender:
            addresses.add(email.sender.normalized)
        addresses.update(a.normalized for a in email.recipients)
    contacts = dict(contacts_with_email(ctx.session, addresses))
    own_domains = {a.rpartition("@")[2] for a in salespeople}
    own_domains.update(a.rpartition("@")[2] for e in emails if (a := e.owner_address))
    lookup = _BatchLookup(salespeople, by_code, own_domains, contacts)
    ctx.cache[_CACHE_KEY] = lookup
    return lookup


def _owner_addresses(email: ReceivedEmail, lookup: _BatchLookup) -> set[str]:
    owned = {email.owner_address} if email.owner_address else set()
    if email.owner_salesperson:
        owned |= lookup.salesperson_emails.get(email.owner_salesperson, set())
    return owned


def _is_ours(address: str, lookup: _BatchLookup, owned: set[str]) -> bool:
    return address in lookup.salespeople or address in owned


@on_email("email_logging")
def log_email(ctx: EmailContext) -> EmailOutcome:
    """Log the email on every contact it concerns."""
    email = ctx.email
    lookup = _lookup(ctx)
    owned = _owner_addresses(email, lookup)
    sender = email.sender.normalized if email.sender else ""
    auto_create = ctx.account.auto_create if ctx.account else "none"
    created: list[str] = []
    if sender and _is_ours(sender, lookup, owned):
        direction = OUTBOUND
        salesperson = lookup.salespeople.get(sender) or email.owner_salesperson
        others = [
            a
            for a in email.recipients
            if a.normalized and not _is_ours(a.normalized, lookup, owned)
        ]
        if auto_create in ("sent", "sent_and_received"):
            created = _auto_create(
                ctx, lookup, [a for a in others if a.normalized not in lookup.contacts]
            )
        addresses = [a.normalized for a in others]
    elif sender:
        direction = INBOUND
        salesperson = email.owner_salesperson or next(
            (
                lookup.salespeople[a.normalized]
                for a in email.recipients
                if a.normalized in lookup.salespeople
            ),
            None,
        )
        if sender not in lookup.contacts and auto_create == "sent_and_received" and email.sender:
            created = _auto_create(ctx, lookup, [email.sender])
        addresses = [sender]
    else:
        return EmailOutcome()
    contact_ids: dict[int, str | None] = {}
    for address in addresses:
        for contact_id, own_salesperson in lookup.contacts.get(address, ()):
            contact_ids.setdefault(contact_id, own_salesperson)
    if not contact_ids:
        return EmailOutcome(created=tuple(created))
    rows = [
        EmailInteraction(
            contact_id=contact_id,
            message_id=email.message_id,
            direction=direction,
            salesperson=salesperson or own_salesperson,
            occurred_at=email.date or utcnow(),
            subject=email.subject or "(no subject)",
            mailbox=email.mailbox,
            folder=email.folder,
            snippet=email.snippet,
        )
        for contact_id, own_salesperson in contact_ids.items()
    ]
    logged = record_email_interactions(ctx.session, rows)
    return EmailOutcome(matched=True, logged=logged, created=tuple(created))


def _auto_create(
    ctx: EmailContext, lookup: _BatchLookup, candidates: list[EmailAddress]
) -> list[str]:
    """Unknown correspondents become persons, under the company whose domain matches (the
    company's email or home page, else the company of a known person at that domain), or
    independent when none does.

    Never for bulk mail, free-mail domains or our own domain: those are not customers.
    """
    email = ctx.email
    if email.bulk:
        return []
    free = ctx.settings.mail.free_mail_domains
    created: list[str] = []
    for candidate in candidates:
        address = candidate.normalized
        if not address or address in lookup.contacts:
            continue
        domain = address.rpartition("@")[2]
        if domain in free or domain in lookup.own_domains:
            continue
        company = _company_for_domain(ctx, domain)
        fields: Mapping[str, str] = {"email": candidate.address}
        if company is not None:
            fields = {**fields, "company": company.no}
        name = candidate.name or address.partition("@")[0]
        try:
            with ctx.session.begin_nested():
                person = create_contact(
                    ctx.session,
                    ContactType.PERSON,
                    name[:100],
                    fields,
                    actor_salesperson=email.owner_salesperson,
                )
        except UserError as error:
            log.info("not creating a contact for %s: %s", address, error.message)
            continue
        lookup.contacts[address] = [(person.id, person.salesperson)]
        created.append(person.no)
        log.info("created %s for %s from %s", person.no, address, email.message_id)
    return created


def _company_for_domain(ctx: EmailContext, domain: str) -> Contact | None:
    cache: dict[str, Contact | None] = ctx.cache.setdefault("email_logging_companies", {})
    if domain in cache:
        return cache[domain]
    company = ctx.session.scalars(
        select(Contact)
        .where(
            Contact.type == ContactType.COMPANY,
            or_(
                Contact.email_normalized.like(f"%@{domain}"),
                Contact.home_page.ilike(f"%{domain}%"),
            ),
        )
        .order_by(Contact.no)
        .limit(1)
    ).first()
    if company is None:  # else the company of a person already known at that domain
        person = ctx.session.scalars(
            select(Contact)
            .where(
                Contact.type == ContactType.PERSON,
                Contact.company_id.is_not(None),
                Contact.email_normalized.like(f"%@{domain}"),
            )
            .order_by(Contact.no)
            .limit(1)
        ).first()
        company = person.company if person is not None else None
    cache[domain] = company
    return company
