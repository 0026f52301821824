"""The contact card as a transport-neutral Card: the one layout `show`, `new` and `set` use."""

from __future__ import annotations

import datetime as dt

from bot.reply import Button, Card, Field
from storage.fields import FIELDS
from storage.models import Contact, ContactType

_HIDDEN = {"type", "name", "company"}
_ADDRESS_FIELDS = ("address", "address_2", "post_code", "city", "county", "country")


def contact_card(
    contact: Contact,
    today: dt.date | None = None,
    interactions: tuple[int, dt.datetime | None] | None = None,
) -> Card:
    """All non-blank fields of the card, with groups, alternate address in force and actions.

    `interactions`: (number, time of the last) from the interaction log, for `show`."""
    today = today or dt.date.today()
    fields: list[Field] = [Field("Type", contact.type.value.capitalize())]
    if contact.type is ContactType.PERSON:
        company = (
            f"{contact.company.no} {contact.company_name}" if contact.company else "(independent)"
        )
        fields.append(Field("Company", company))
    for spec in FIELDS:
        if spec.name in _HIDDEN:
            continue
        value = getattr(contact, spec.name)
        if value:
            fields.append(Field(spec.label, str(value)))
    if interactions is not None and interactions[0]:
        count, last = interactions
        when = f", last {last:%Y-%m-%d %H:%M} UTC" if last else ""
        fields.append(Field("Interactions", f"{count}{when} (`history {contact.no}`)"))
    sections: list[tuple[str, tuple[str, ...]]] = []
    groups = (
        ("Job responsibilities", contact.job_responsibilities),
        ("Industry groups", contact.industry_groups),
        ("Mailing groups", contact.mailing_groups),
    )
    for heading, rows in groups:
        if rows:
            sections.append((heading, tuple(f"{r.code} {r.description}".strip() for r in rows)))
    if contact.type is ContactType.COMPANY and contact.persons:
        persons = sorted(contact.persons, key=lambda p: p.no)
        sections.append(
            ("Persons", tuple(f"{p.no} {p.name} {p.job_title}".strip() for p in persons))
        )
    # (the relations plugin adds its "Business relations" section here: plugins.relations)
    current = next((a for a in contact.alt_addresses if a.in_force(today)), None)
    if current is not None:
        parts = [current.address, current.address_2, current.post_code, current.city]
        line = ", ".join(p for p in parts if p)
        extra = ", ".join(p for p in (current.phone, current.email) if p)
        sections.append((f"Alternate address in force ({current.code})", (line, extra)))
    context_parts = [contact.no]
    if contact.salesperson:
        context_parts.append(f"salesperson {contact.salesperson}")
    context_parts.append(f"changed {contact.modified_at:%Y-%m-%d %H:%M} UTC")
    actions = (
        Button("Edit", f"set {contact.no}"),
        Button("Salutation", f"salutation {contact.no} formal"),
        Button("Delete", f"delete {contact.no}", style="danger"),
    )
    return Card(
        title=contact.name,
        subtitle=contact.no,
        fields=tuple(f for f in fields if f.value),
        context=" · ".join(context_parts),
        actions=actions,
        sections=tuple((h, tuple(line for line in lines if line)) for h, lines in sections),
    )
