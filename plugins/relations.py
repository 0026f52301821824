"""Business relations: records (customer, vendor, bank, employee), links to contacts, relation
codes, templates, "Create Contacts from …" and the removal log. The rules are in
storage.relations; these handlers parse words and build replies.

The sync to linked records and the merge mover are integrity rules of every store
(storage.rules), so linked records stay right from an instance without this plugin. The plugin
adds a "Business relations" section to the contact card of `show`, `new` and `set`; switched
off, the section, the commands and their help are gone."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select

from bot.dispatcher import YES_FLAG, Context
from bot.inputs import ADMIN
from bot.registry import command, reply_addition
from bot.reply import Card, Confirmation, Field, Reply, Table
from plugins.replies import changes_text
from storage.contacts import ChangeResult, get_by_no, resolve_contact
from storage.errors import NotFound, UserError
from storage.fields import FIELD_BY_NAME
from storage.models import BusinessRecord, BusinessRelationLog, Contact, RecordKind
from storage.numbers import parse_whole, short
from storage.relations.bulk import FROM_KINDS, contacts_from_records
from storage.relations.kinds import KIND_CHOICES, describe, parse_kind, spec
from storage.relations.links import (
    add_code,
    check_linkable,
    codes_of,
    contact_for_record,
    create_as,
    forget_record,
    link,
    link_of_record,
    links_of,
    relation_lines,
    remove_code,
    require_relation,
    unlink,
    update_record,
)
from storage.relations.records import (
    RECORD_FIELDS,
    create_record,
    field_value,
    list_records,
    records_with_no,
    resolve_record,
)
from storage.relations.templates import (
    TEMPLATE_FIELDS,
    add_template,
    change_template,
    list_templates,
    remove_template,
)
from storage.setup import get_setup

RELATIONS_HEADING = "Business relations"


@reply_addition("show", "new", "set")
def relations_section(ctx: Context, reply: Reply) -> Reply | None:
    """The card of a contact with business relations gets a section listing them (before the
    alternate address in force, where the card has always shown them)."""
    cards = []
    for card in reply.cards:
        contact = get_by_no(ctx.session, card.subtitle) if card.subtitle else None
        lines = tuple(relation_lines(ctx.session, contact)) if contact is not None else ()
        if lines:
            sections = list(card.sections)
            at = next(
                (i for i, (heading, _) in enumerate(sections) if heading.startswith("Alternate")),
                len(sections),
            )
            sections.insert(at, (RELATIONS_HEADING, lines))
            card = replace(card, sections=tuple(sections))
        cards.append(card)
    return replace(reply, cards=tuple(cards))


CREATE_AS_USAGE = f"create-as <no> {KIND_CHOICES} [template=<code>]"
LINK_USAGE = f"link <no> {KIND_CHOICES} <record no> [master=contact|record]"
UNLINK_USAGE = f"unlink <no> {KIND_CHOICES}"
RELATED_USAGE = f"related <no> | related {KIND_CHOICES} <record no>"
RELATION_USAGE = "relation <no> [list | add <code> | remove <code>]"
CONTACTS_FROM_USAGE = "contacts-from customers|vendors|bank-accounts [field=value …]"
TEMPLATE_USAGE = (
    f"template {KIND_CHOICES} [list | add <code> field=value … | set <code> field=value … | "
    "remove <code>]"
)


def _record_usage(kind: str) -> str:
    return (
        f'{kind} new "<name>" [no=…] [field=value …] | {kind} set <no> field=value … | '
        f"{kind} show <no> | {kind} list | {kind} delete <no>"
    )


def _sentence(text: str) -> str:
    """End with one full stop, also after a name like `Acme B.V.`."""
    return text if text.endswith(".") else text + "."


def _fields_text(names: list[str]) -> str:
    return ", ".join(names)


def _changes_text(change: ChangeResult | None) -> str:
    return changes_text(change) if change is not None else ""


# --- record cards ------------------------------------------------------------------------


def record_card(ctx: Context, record: BusinessRecord) -> Card:
    label = spec(record.kind).label
    fields = [Field("No.", record.no)]
    for name in RECORD_FIELDS:
        value = field_value(record, name)
        if value and name != "name":
            title = FIELD_BY_NAME[name].label if name in FIELD_BY_NAME else "Currency Code"
            fields.append(Field(title, value))
    existing = link_of_record(ctx.session, record)
    contact = f"{existing.contact.no} {existing.contact.name}" if existing else "(none: `link` one)"
    return Card(
        title=record.name,
        subtitle=f"{label.capitalize()} {record.no}",
        fields=tuple(fields),
        sections=(("Contact", (contact,)),),
        context=f"{label} · changed {record.modified_at:%Y-%m-%d %H:%M} UTC",
    )


# --- customer, vendor, bank, employee ----------------------------------------------------


def _record_command(ctx: Context, kind: RecordKind) -> Reply:
    usage = _record_usage(kind.value)
    args = ctx.args
    action = args.positional(0, "what to do", usage).lower()
    if action == "list":
        records = list_records(ctx.session, kind)
        if not records:
            return Reply(text=f'No {spec(kind).plural} yet. `{kind.value} new "Name" …`.')
        rows = []
        for record in records:
            existing = link_of_record(ctx.session, record)
            rows.append(
                (record.no, record.name, record.city, existing.contact.no if existing else "")
            )
        return Reply(
            text=f"{len(rows)} {spec(kind).plural.replace('-', ' ')}:",
            table=Table(("no", "name", "city", "contact"), tuple(rows)),
        )
    if action == "new":
        return _new_record(ctx, kind, usage)
    if action not in ("show", "set", "delete"):
        raise UserError(f"Unknown action `{action}`. Usage: {usage}")
    record = resolve_record(ctx.session, kind, args.positional(1, f"the {spec(kind).label}", usage))
    if action == "show":
        return Reply(cards=(record_card(ctx, record),), shareable=True)
    if action == "set":
        changed, contact_change = update_record(ctx.session, record, dict(args.fields))
        if not changed:
            text = f"{record.no} already had those values; nothing changed."
        else:
            text = f"Changed {describe(kind, record.no)}: {_fields_text(changed)}."
        if contact_change is not None and contact_change.changed:
            contact = contact_change.contact
            text += f" Contact {contact.no} updated too: {_fields_text(contact_change.changed)}."
            contact_change.synced.pop(describe(kind, record.no), None)
        text += _changes_text(contact_change)
        return Reply(text=text, cards=(record_card(ctx, record),))
    ctx.require_role(ADMIN, f"{kind.value} delete")
    if YES_FLAG not in args.flags:
        line = ctx.invocation.text.strip()
        question = f"Really run `{line}`?"
        return Reply(text=question, confirm=Confirmation(question, f"{line} --{YES_FLAG}"))
    contact = forget_record(ctx.session, record)
    text = _sentence(f"Deleted {describe(kind, record.no)} {record.name}")
    if contact is not None:
        text += f" Its contact {contact.no} {contact.name} stays; the link is in `relations-log`."
    return Reply(text=text)


def _new_record(ctx: Context, kind: RecordKind, usage: str) -> Reply:
    fields = dict(ctx.args.fields)
    no = fields.pop("no", None)
    name = ctx.args.rest(1)
    if name.strip():
        fields["name"] = name
    record = create_record(ctx.session, kind, fields, no=no)
    text = _sentence(f"Created {describe(kind, record.no)}: {record.name}")
    setup = get_setup(ctx.session)
    if not (setup.auto_contact and setup.contact_series):
        return Reply(text=text, cards=(record_card(ctx, record),))
    contact = contact_for_record(ctx.session, record)
    text += f" Contact {contact.no} made and linked (`setup auto_contact=no` turns this off)."
    return Reply(text=text, cards=(record_card(ctx, record),))


@command("customer", usage=_record_usage("customer"))
def customer(ctx: Context) -> Reply:
    """Customers: `customer new "Acme" city=Amsterdam currency=EUR`, `customer set C00001
    phone=…` (a linked customer's change goes to its contact), `show`, `list`, `delete`.

    A new customer gets a company contact linked to it while the setup's auto_contact is on.
    """
    return _record_command(ctx, RecordKind.CUSTOMER)


@command("vendor", usage=_record_usage("vendor"))
def vendor(ctx: Context) -> Reply:
    """Vendors: `vendor new "Supplies B.V."`, `vendor set V00001 city=…`, `show`, `list`,
    `delete`. A linked vendor's change goes to its contact, and the contact's to it."""
    return _record_command(ctx, RecordKind.VENDOR)


@command("bank", usage=_record_usage("bank"))
def bank(ctx: Context) -> Reply:
    """Bank accounts: `bank new "ING Amsterdam"`, `bank set B00001 phone=…`, `show`, `list`,
    `delete`. A linked bank account's change goes to its contact, and the contact's to it."""
    return _record_command(ctx, RecordKind.BANK)


@command("employee", usage=_record_usage("employee"))
def employee(ctx: Context) -> Reply:
    """Employees: `employee new "Eva Jansen"`, `employee set E00001 email=…`, `show`, `list`,
    `delete`. A linked employee's change goes to its contact, and the contact's to it."""
    return _record_command(ctx, RecordKind.EMPLOYEE)


# --- links -------------------------------------------------------------------------------


@command("create-as", usage=CREATE_AS_USAGE)
def create_as_command(ctx: Context) -> Reply:
    """Make a customer, vendor, bank account or employee from a contact, linked to it.

    `create-as CT000001 customer` takes the contact's name, address, phone, … ;
    `template=DOMESTIC` fills what the contact leaves blank (see `template`).
    """
    args = ctx.args
    contact = resolve_contact(ctx.session, args.positional(0, "the contact", CREATE_AS_USAGE))
    kind = parse_kind(args.positional(1, KIND_CHOICES, CREATE_AS_USAGE), CREATE_AS_USAGE)
    unknown = [name for name in args.fields if name != "template"]
    if unknown or len(args.positionals) > 2:
        raise UserError(f"create-as takes only template=…. Usage: {CREATE_AS_USAGE}")
    record, result = create_as(ctx.session, contact, kind, args.fields.get("template"))
    text = f"Created {describe(kind, record.no)} from {contact.no}: {record.name}, linked."
    if result.to_contact:
        text += f" {contact.no} took from the template: {_fields_text(result.to_contact)}."
    text += _changes_text(result.contact_change)
    return Reply(text=text, cards=(record_card(ctx, record),))


@command("link", usage=LINK_USAGE)
def link_command(ctx: Context) -> Reply:
    """Link a contact to an existing record: `link CT000001 customer C00001 master=record`.

    Where their shared fields differ, the master's values (contact by default) are copied to
    the other side; the reply lists them. From then on a change on either side reaches the other.
    """
    args = ctx.args
    contact = resolve_contact(ctx.session, args.positional(0, "the contact", LINK_USAGE))
    kind = parse_kind(args.positional(1, KIND_CHOICES, LINK_USAGE), LINK_USAGE)
    record = resolve_record(
        ctx.session, kind, args.positional(2, "the record's number", LINK_USAGE)
    )
    unknown = [name for name in args.fields if name != "master"]
    if unknown:
        raise UserError(f"Unknown option `{unknown[0]}`. Usage: {LINK_USAGE}")
    master = args.fields.get("master", "contact")
    result = link(ctx.session, contact, record, master)
    text = f"Linked {contact.no} {contact.name} to {describe(kind, record.no)}."
    if result.to_contact:
        text += f" Copied from {record.no} to {contact.no}: {_fields_text(result.to_contact)}."
    if result.to_record:
        text += f" Copied from {contact.no} to {record.no}: {_fields_text(result.to_record)}."
    if not result.to_contact and not result.to_record:
        text += " Their shared fields were the same already."
    text += _changes_text(result.contact_change)
    return Reply(text=text)


@command("unlink", usage=UNLINK_USAGE)
def unlink_command(ctx: Context) -> Reply:
    """Remove a contact's link to its customer, vendor, bank account or employee: `unlink
    CT000001 customer`. Both keep their data; they are no longer kept in sync."""
    args = ctx.args
    contact = resolve_contact(ctx.session, args.positional(0, "the contact", UNLINK_USAGE))
    kind = parse_kind(args.positional(1, KIND_CHOICES, UNLINK_USAGE), UNLINK_USAGE)
    record = unlink(ctx.session, contact, kind)
    return Reply(
        text=f"Unlinked {contact.no} {contact.name} from {describe(kind, record.no)}; "
        "both keep their data."
    )


def _contact_relations(ctx: Context, contact: Contact) -> Reply:
    rows = [
        (existing.kind, existing.record.no, existing.record.name)
        for existing in links_of(ctx.session, contact)
    ]
    codes = codes_of(ctx.session, contact)
    if not rows and not codes:
        return Reply(
            text=f"{contact.no} {contact.name} has no business relations. "
            f"`create-as {contact.no} customer` or `link {contact.no} customer <no>`."
        )
    text = f"{contact.no} {contact.name}: business relations {', '.join(codes) or '(none)'}."
    if not rows:
        return Reply(text=text + " No linked records.")
    return Reply(text=text, table=Table(("kind", "no", "name"), tuple(rows)))


def _record_relation(ctx: Context, record: BusinessRecord) -> Reply:
    existing = link_of_record(ctx.session, record)
    what = f"{describe(record.kind, record.no)} {record.name}"
    if existing is None:
        return Reply(text=f"{what} has no contact. `link <contact no> {record.kind} {record.no}`.")
    return Reply(
        text=_sentence(f"{what} is linked to {existing.contact.no} {existing.contact.name}")
    )


@command("related", usage=RELATED_USAGE)
def related(ctx: Context) -> Reply:
    """The records a contact is linked to (`related CT000001`), or a record's contact
    (`related C00001`, or `related customer C00001` when numbers of two kinds are alike)."""
    args = ctx.args
    first = args.positional(0, "a contact or record number", RELATED_USAGE)
    if len(args.positionals) > 1:
        kind = parse_kind(first, RELATED_USAGE)
        return _record_relation(ctx, resolve_record(ctx.session, kind, args.rest(1)))
    contact = get_by_no(ctx.session, first)
    if contact is not None:
        return _contact_relations(ctx, contact)
    records = records_with_no(ctx.session, first)
    if len(records) == 1:
        return _record_relation(ctx, records[0])
    if records:
        kinds = " or ".join(f"`related {r.kind} {r.no}`" for r in records)
        raise UserError(f"{first.upper()} is the number of several records; type {kinds}.")
    try:
        return _contact_relations(ctx, resolve_contact(ctx.session, args.rest(0)))
    except NotFound:
        raise NotFound(
            f"No contact or record `{short(args.rest(0))}`. Try `find …` or `customer list`."
        ) from None


@command("relation", usage=RELATION_USAGE)
def relation(ctx: Context) -> Reply:
    """Business relation codes on a contact without a record: `relation CT000001 add PROSP`,
    `relation CT000001 remove PROSP`. Codes are kept with `codes relations …`."""
    args = ctx.args
    contact = resolve_contact(ctx.session, args.positional(0, "the contact", RELATION_USAGE))
    action = args.positionals[1].lower() if len(args.positionals) > 1 else "list"
    if action == "list":
        lines = relation_lines(ctx.session, contact)
        listed = "; ".join(lines) if lines else "none"
        return Reply(text=f"{contact.no} {contact.name}: {listed}.")
    if action not in ("add", "remove"):
        raise UserError(f"Unknown action `{action}`. Usage: {RELATION_USAGE}")
    code = args.positional(2, "the relation code", RELATION_USAGE)
    if action == "remove":
        remove_code(ctx.session, contact, code)
        return Reply(text=f"Removed business relation {code.upper()} from {contact.no}.")
    check_linkable(contact)
    code = require_relation(ctx.session, code)
    if not add_code(ctx.session, contact, code):
        return Reply(text=f"{contact.no} has business relation {code} already; nothing changed.")
    return Reply(text=_sentence(f"Added business relation {code} to {contact.no} {contact.name}"))


@command("contacts-from", usage=CONTACTS_FROM_USAGE, roles=(ADMIN,))
def contacts_from(ctx: Context) -> Reply:
    """Make a company contact for every customer, vendor or bank account that has none (admin).

    `contacts-from customers city=Amsterdam` (`*` matches any text: `name=A*`). Each contact is
    numbered from the contact series, gets the setup's relation code, is linked and is checked
    for duplicates. The same as `contactbot contacts from …`.
    """
    args = ctx.args
    kind = parse_kind(
        args.positional(0, "customers, vendors or bank-accounts", CONTACTS_FROM_USAGE),
        CONTACTS_FROM_USAGE,
    )
    if kind not in FROM_KINDS or len(args.positionals) > 1:
        raise UserError(f"Usage: {CONTACTS_FROM_USAGE}")
    result = contacts_from_records(ctx.session, kind, args.fields)
    lines = result.summary().splitlines()
    return Reply(text=lines[0], notes=tuple(line.strip() for line in lines[1:]))


@command("relations-log", usage="relations-log [count]", roles=(ADMIN,))
def relations_log(ctx: Context) -> Reply:
    """What was removed around links, newest first (admin): linked contacts and records that
    were deleted, and links that were undone."""
    count_text = ctx.args.positionals[0] if ctx.args.positionals else "20"
    count = parse_whole(count_text, "count", 1, 500, hint="Like: `relations-log 50`.")
    rows = list(
        ctx.session.scalars(
            select(BusinessRelationLog).order_by(BusinessRelationLog.id.desc()).limit(count)
        )
    )
    if not rows:
        return Reply(text="Nothing was removed around a link yet.")
    return Reply(
        text=f"{len(rows)} removals, newest first:",
        table=Table(
            ("when (UTC)", "what", "record", "contact", "by"),
            tuple(
                (
                    f"{row.at:%Y-%m-%d %H:%M}",
                    row.event,
                    f"{describe(row.kind, row.record_no)} {row.record_name}",
                    f"{row.contact_no} {row.contact_name}",
                    row.by,
                )
                for row in rows
            ),
        ),
    )


@command("template", usage=TEMPLATE_USAGE)
def template(ctx: Context) -> Reply:
    """Templates of defaults for `create-as … template=CODE` (changes: admin).

    `template customer add DOMESTIC currency=EUR country=NL salesperson=SAM language=NL`.
    A template fills what the contact leaves blank. Fields: description, country,
    salesperson, language, currency (customers and vendors).
    """
    args = ctx.args
    kind = parse_kind(args.positional(0, KIND_CHOICES, TEMPLATE_USAGE), TEMPLATE_USAGE)
    action = args.positionals[1].lower() if len(args.positionals) > 1 else "list"
    if action == "list":
        rows = list_templates(ctx.session, kind)
        if not rows:
            return Reply(
                text=f"No {spec(kind).label} templates. `template {kind.value} add CODE …`."
            )
        columns = ("code", *TEMPLATE_FIELDS)
        return Reply(
            text=f"{len(rows)} {spec(kind).label} templates:",
            table=Table(
                columns, tuple(tuple(str(getattr(r, c) or "") for c in columns) for r in rows)
            ),
        )
    if action not in ("add", "set", "remove"):
        raise UserError(f"Unknown action `{action}`. Usage: {TEMPLATE_USAGE}")
    ctx.require_role(ADMIN, f"template … {action}")
    code = args.positional(2, "the template code", TEMPLATE_USAGE)
    if action == "add":
        row = add_template(ctx.session, kind, code, args.fields)
        return Reply(text=f"Added {spec(kind).label} template {row.code}.")
    if action == "set":
        row = change_template(ctx.session, kind, code, args.fields)
        return Reply(
            text=f"Changed {spec(kind).label} template {row.code}: {', '.join(args.fields)}."
        )
    remove_template(ctx.session, kind, code)
    return Reply(text=f"Removed {spec(kind).label} template {code.upper()}.")
