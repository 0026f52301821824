"""The contact card commands: new, find, show, set, type, delete."""

from __future__ import annotations

from bot.dispatcher import YES_FLAG, Context
from bot.inputs import ADMIN
from bot.registry import command
from bot.reply import Confirmation, Reply, Table
from plugins.contact_card import contact_card
from plugins.replies import changes_text
from storage.contacts import (
    change_type,
    contacts_to_delete,
    create_contact,
    delete_contact,
    resolve_contact,
    update_contact,
)
from storage.errors import UserError
from storage.interactions import interaction_summary
from storage.models import Contact, ContactType
from storage.phones import notes_text
from storage.search import search_contacts, shown

NEW_USAGE = 'new company|person "<name>" [field=value …]'


def _kind(word: str, usage: str) -> ContactType:
    try:
        return ContactType(word.lower())
    except ValueError:
        raise UserError(f"`{word}` is not company or person. Usage: {usage}") from None


@command("new", usage=NEW_USAGE)
def new(ctx: Context) -> Reply:
    """Create a company or a person.

    `new company "Acme Holding B.V." city=Amsterdam phone="020 555 0100"`
    `new person "Jan de Vries" company=CT000001 email=jan@acme.example`
    A person takes its company's address, phone, salesperson, … (see `setup`); the setup's
    defaults fill what is still blank. A phone is kept as typed; it is read as an
    international number in the contact's country (else the setup's default_country), and
    read again when the country changes.
    """
    args = ctx.args
    kind = _kind(args.positional(0, "company or person", NEW_USAGE), NEW_USAGE)
    name = args.rest(1)
    contact = create_contact(
        ctx.session,
        kind,
        name,
        args.fields,
        actor_salesperson=ctx.actor.salesperson_code,
    )
    text = f"Created {kind.value} {contact.no}: {contact.name}"
    notes = notes_text(ctx.session).strip()
    text += f"\n{notes}" if notes else ""
    return Reply(text=text, cards=(contact_card(contact),))


@command("find", usage="find <text>")
def find(ctx: Context) -> Reply:
    """Search contacts by name, company, email or phone, typos forgiven: `find acme holdng`.

    At most ten rows, the nearest first; a company row says how many persons it has."""
    query = " ".join([*ctx.args.positionals, *(f"{k}={v}" for k, v in ctx.args.fields.items())])
    if not query.strip():
        raise UserError("Say what to look for: `find acme` or `find 555 0100`.")
    found = search_contacts(ctx.session, query)
    if not found.hits:
        return Reply(
            text=f"No contact matches `{shown(query)}`. Check the spelling or try fewer words."
        )
    rows = tuple(
        (
            hit.contact.no,
            hit.contact.type.value,
            hit.contact.name,
            _persons(hit.persons) if hit.contact.is_company else hit.contact.company_name,
            hit.contact.city,
        )
        for hit in found.hits
    )
    shown_rows = len(found.hits)
    if found.more_than or found.total > shown_rows:
        total = f"{found.total}+" if found.more_than else str(found.total)
        text = f"{shown_rows} of {total} contacts for `{shown(query)}` — add a word to narrow it:"
    else:
        noun = "contact" if shown_rows == 1 else "contacts"
        text = f"{shown_rows} {noun} for `{shown(query)}`:"
    return Reply(
        text=text,
        table=Table(("no", "type", "name", "company", "city"), rows),
        shareable=True,
    )


def _persons(count: int) -> str:
    """A company row's company column: how many persons it has."""
    if not count:
        return ""
    return f"{count} person" if count == 1 else f"{count} persons"


@command("show", usage="show <no|name>")
def show(ctx: Context) -> Reply:
    """Show a contact's card: `show CT000001` or `show "Acme Holding B.V."`."""
    ref = ctx.args.rest(0)
    contact = resolve_contact(ctx.session, ref)
    summary = interaction_summary(ctx.session, contact)
    card = contact_card(contact, interactions=(summary.count, summary.last_at))
    return Reply(cards=(card,), shareable=True)


@command("set", usage="set <no> field=value …")
def set_fields(ctx: Context) -> Reply:
    """Change fields of a contact: `set CT000001 city=Rotterdam phone="+31 10 555 0100"`.

    A company's change reaches each of its persons whose value was still the company's.
    An empty value (`city=`) clears a field.
    """
    ref = ctx.args.positional(0, "the contact's number", "set <no> field=value …")
    contact = resolve_contact(ctx.session, ref)
    result = update_contact(ctx.session, contact, ctx.args.fields)
    if not result.changed:
        text = f"{contact.no} already had those values; nothing changed."
    else:
        text = f"Changed {contact.no}: {', '.join(result.changed)}."
    text += changes_text(result) + notes_text(ctx.session)
    return Reply(text=text, cards=(contact_card(contact),))


@command("type", usage="type <no> person|company")
def set_type(ctx: Context) -> Reply:
    """Turn a company into a person or a person into a company, when nothing depends on it."""
    usage = "type <no> person|company"
    contact = resolve_contact(ctx.session, ctx.args.positional(0, "the contact's number", usage))
    kind = _kind(ctx.args.positional(1, "person or company", usage), usage)
    change_type(ctx.session, contact, kind)
    return Reply(text=f"{contact.no} {contact.name} is a {kind.value} now.")


#: A delete question names at most this many persons, then says how many more.
NAMED_PERSONS = 10


def delete_question(line: str, contact: Contact, persons: list[Contact]) -> Reply:
    """ "Really run `delete CT000001`?", naming the persons a company takes with it: a careful
    admin must see that Jan and Piet go too before saying yes."""
    question = f"Really run `{line}`?"
    if persons:
        named = ", ".join(f"{p.no} {p.name}" for p in persons[:NAMED_PERSONS])
        more = len(persons) - NAMED_PERSONS
        if more > 0:
            named += f" and {more} more"
        noun = "person" if len(persons) == 1 else f"{len(persons)} persons"
        question += f" It deletes {contact.no} {contact.name} with its {noun}: {named}."
    return Reply(text=question, confirm=Confirmation(question, f"{line} --{YES_FLAG}"))


@command("delete", usage="delete <no> [--yes]", roles=(ADMIN,))
def delete(ctx: Context) -> Reply:
    """Delete a contact; a company takes its persons with it. Asks for confirmation, naming
    the persons that go with it; `--yes` skips the question."""
    contact = resolve_contact(ctx.session, ctx.args.rest(0))
    doomed = contacts_to_delete(contact)
    if YES_FLAG not in ctx.args.flags:
        return delete_question(ctx.invocation.text.strip(), contact, doomed[:-1])
    deleted = delete_contact(ctx.session, contact)
    text = f"Deleted {', '.join(deleted)}."
    if len(doomed) > 1:
        text = f"Deleted {contact.no} and its persons {', '.join(deleted[:-1])}."
    return Reply(text=text)
