"""Duplicate contacts: `dupes`, `merge`, `unmerge`, `separate`, and the warning on new/set.

The plugin installs the store rules that keep every contact's duplicate keys and pairs current
on whichever path writes it (storage.duplicates.rules), and adds to the replies of the commands
that write a contact (`new`, `set`, `customer|vendor|bank|employee new` with auto contact)
"possible duplicate of CT000123 (score, why)" with the buttons Merge and Not a duplicate, read
from the pairs the rule wrote. The contact is written either way; with this plugin switched off
there is neither rule nor warning.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.orm import Session

from bot.dispatcher import Context
from bot.inputs import ADMIN, SALES
from bot.registry import command, reply_addition, store_rules
from bot.reply import Button, Reply, Table
from storage.contacts import resolve_contact
from storage.duplicates import list_pairs, mark_separate
from storage.duplicates.keeper import keeper_no
from storage.duplicates.merge import get_merge, merge_contacts, parse_choices, unmerge
from storage.duplicates.pairs import Pair, count_pairs
from storage.duplicates.rules import install, reported_contacts, reported_pairs
from storage.duplicates.settings import settings_values, update_settings
from storage.errors import UserError
from storage.models import Contact
from storage.numbers import INT32_MAX, parse_whole
from storage.rules import StoreRules

DUPES_USAGE = "dupes [<no>] | dupes setup [key=value …]"
MERGE_USAGE = "merge <dup> into <keep> [field=dup|keep …] [--yes]"
SEPARATE_USAGE = "separate <no1> <no2>"
#: Buttons on a reply: at most this many pairs get their own Merge / Not a duplicate.
BUTTON_PAIRS = 3


def pair_buttons(
    pair: Pair, no: str, *, named: bool = False, keep: str | None = None
) -> tuple[Button, Button]:
    """Merge and Not a duplicate, for one pair seen from contact `no`; `named` puts the other
    contact's number on the labels (when a reply has buttons for several pairs). Merge moves
    `no` into the other contact, or, given `keep` (storage.duplicates.keeper: the older
    card), the other card into the kept one."""
    other_no, _ = pair.other(no)
    suffix = f" ({other_no})" if named else ""
    removed, kept = (other_no, no) if keep == no else (no, other_no)
    return (
        Button(f"Merge{suffix}", f"merge {removed} into {kept}", style="danger"),
        Button(f"Not a duplicate{suffix}", f"separate {no} {other_no}"),
    )


def suggested_buttons(
    pairs: list[Pair], contact: Contact, session: Session | None = None
) -> list[Button]:
    """The buttons of the first BUTTON_PAIRS pairs of `contact`. With `session`, each Merge
    keeps the card keeper() picks (the older one), whichever of the two the reply is
    about; without, it merges `contact` into the other."""
    named = len(pairs) > 1
    return [
        button
        for pair in pairs[:BUTTON_PAIRS]
        for button in pair_buttons(
            pair,
            contact.no,
            named=named,
            keep=keeper_no(session, pair.no_1, pair.no_2) if session is not None else None,
        )
    ]


def duplicate_warnings(
    pairs: list[Pair], contact: Contact, session: Session | None = None
) -> tuple[list[str], list[Button]]:
    notes = [pair.describe(contact.no) for pair in pairs]
    return notes, suggested_buttons(pairs, contact, session)


@store_rules
def install_rules(rules: StoreRules) -> None:
    """Duplicate keys and pairs current on every write of a contact."""
    install(rules)


#: The commands whose reply names the possible duplicates of the contacts they wrote.
WARNED_VERBS = ("new", "set", "customer", "vendor", "bank", "employee")


@reply_addition(*WARNED_VERBS)
def duplicate_warning(ctx: Context, reply: Reply) -> Reply | None:
    """A note and buttons for each possible duplicate of the first contact the command wrote
    (the one its reply is about), from the pairs the store rule wrote in this transaction."""
    reported = reported_contacts(ctx.session)
    if not reported:
        return None
    contact = ctx.session.get(Contact, reported[0])
    if contact is None:
        return None
    pairs = reported_pairs(ctx.session, contact)
    if not pairs:
        return None
    notes, buttons = duplicate_warnings(pairs, contact, ctx.session)
    return replace(reply.with_notes(*notes), buttons=(*reply.buttons, *buttons))


def _pair_rows(pairs: list[Pair]) -> tuple[tuple[str, ...], ...]:
    return tuple((p.no_1, p.name_1, p.no_2, p.name_2, f"{p.score:.0f}", p.why) for p in pairs)


@command("dupes", usage=DUPES_USAGE)
def dupes(ctx: Context) -> Reply:
    """List possible duplicates: all open pairs, or those of one contact (`dupes CT000012`).

    Each pair has its score (0–100) and why. `dupes setup` shows the duplicate search settings;
    `dupes setup method=bc threshold=80 search_hit_percent=60 autosearch=yes` changes them
    (admin). After changing the method or the search strings, run `contactbot dupes scan`.
    """
    if ctx.args.positionals[:1] == ("setup",):
        return _setup(ctx)
    if ctx.args.fields:
        raise UserError(f"`dupes` takes a contact number, or nothing. Usage: {DUPES_USAGE}")
    ref = ctx.args.rest(0)
    contact = resolve_contact(ctx.session, ref) if ref else None
    pairs = list_pairs(ctx.session, contact, limit=50)
    if not pairs:
        whose = f" for {contact.no}" if contact else ""
        return Reply(text=f"No open duplicate pairs{whose}.")
    total = len(pairs) if contact else count_pairs(ctx.session)
    more = f" (the best 50 of {total})" if total > len(pairs) else ""
    buttons: tuple[Button, ...] = ()
    if contact is not None:
        buttons = tuple(suggested_buttons(pairs, contact, ctx.session))
    noun = "pair" if len(pairs) == 1 else "pairs"
    return Reply(
        text=f"{len(pairs)} possible duplicate {noun}{more}:",
        table=Table(("no", "name", "no", "name", "score", "why"), _pair_rows(pairs)),
        buttons=buttons,
        shareable=True,
    )


def _setup(ctx: Context) -> Reply:
    if len(ctx.args.positionals) > 1:
        raise UserError("Type settings as key=value: `dupes setup method=bc`.")
    if ctx.args.fields:
        ctx.require_role(ADMIN, "dupes setup key=value")
        changed = update_settings(ctx.session, ctx.args.fields)
        if not changed:
            return Reply(text="The duplicate settings had those values already; nothing changed.")
        values = settings_values(ctx.session)
        text = "Changed: " + ", ".join(f"{k}={values[k]}" for k in changed) + "."
        if {"method", "search_strings"} & set(changed):
            text += " Run `contactbot dupes scan` to rebuild the pairs with it."
        return Reply(text=text)
    values = settings_values(ctx.session)
    return Reply(
        text="Duplicate search settings:",
        table=Table(("key", "value"), tuple(values.items())),
    )


def _merge_refs(ctx: Context) -> tuple[str, str]:
    words = list(ctx.args.positionals)
    lowered = [w.lower() for w in words]
    if "into" not in lowered:
        raise UserError(f"Say which contact stays: {MERGE_USAGE}")
    at = lowered.index("into")
    dup, keep = " ".join(words[:at]), " ".join(words[at + 1 :])
    if not dup or not keep:
        raise UserError(f"Name both contacts: {MERGE_USAGE}")
    return dup, keep


@command("merge", usage=MERGE_USAGE, roles=(ADMIN,), confirm=True)
def merge(ctx: Context) -> Reply:
    """Merge a duplicate into the contact that stays (admin; asks for confirmation).

    `merge CT000014 into CT000002` moves persons, interactions, alternate addresses, job
    responsibilities, industry groups and mailing groups to CT000002, keeps CT000002's values
    where the cards differ (`city=dup phone=dup` takes the duplicate's instead), records both
    cards, and deletes CT000014. `unmerge <merge no>` undoes it (keeping edits made since).
    """
    dup_ref, keep_ref = _merge_refs(ctx)
    choices = parse_choices(ctx.args.fields)
    dup = resolve_contact(ctx.session, dup_ref)
    keep = resolve_contact(ctx.session, keep_ref)
    result = merge_contacts(ctx.session, dup, keep, choices, actor=ctx.actor.user_id)
    moved = ", ".join(f"{n} {what}" for what, n in result.moved.items() if n)
    text = f"Merged {result.duplicate_no} into {keep.no} {keep.name} (merge {result.merge.id})."
    if moved:
        text += f" Moved: {moved}."
    if result.taken:
        text += f" Took from {result.duplicate_no}: {', '.join(result.taken)}."
    notes: list[str] = []
    if result.differing:
        notes.append(
            f"Kept {keep.no}'s values of {', '.join(result.differing)}; to take "
            f"{result.duplicate_no}'s instead, `unmerge {result.merge.id}` and merge again "
            "with field=dup."
        )
    notes.append(f"`unmerge {result.merge.id}` undoes this.")
    return Reply(text=text, notes=tuple(notes))


@command("unmerge", usage="unmerge <merge no>", roles=(ADMIN,))
def unmerge_command(ctx: Context) -> Reply:
    """Undo a merge (admin): both cards, their interactions and everything else as before.

    A field of the kept card or a moved person changed after the merge keeps its new value;
    the reply names each such edit."""
    ref = ctx.args.positional(0, "the merge number", "unmerge <no>")
    # the number is checked here, before the lookup: `²` passes isdigit(), and a number
    # past 2147483647 is an error on PostgreSQL's INTEGER key, not "no such merge"
    number = parse_whole(ref.strip().lstrip("#"), "merge number", 1, INT32_MAX)
    record = get_merge(ctx.session, str(number))
    result = unmerge(ctx.session, record)
    dup, keep = result.duplicate, result.kept
    text = f"Undid merge {record.id}: {dup.no} is back ({dup.name}), and {keep.no} is as it was"
    if result.kept_fields:
        text = (
            f"Undid merge {record.id}: {dup.no} is back ({dup.name}), and {keep.no} is back as "
            f"it was, except {_and(result.kept_fields)}"
        )
    return Reply(text=f"{text}.", notes=tuple(result.persons))


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


@command("separate", usage=SEPARATE_USAGE, roles=(SALES, ADMIN))
def separate(ctx: Context) -> Reply:
    """Mark two contacts as not duplicates (Business Central's "Separate Contacts"); a rescan
    never brings the pair back: `separate CT000012 CT000031`."""
    first = ctx.args.positional(0, "the first contact", SEPARATE_USAGE)
    second = ctx.args.positional(1, "the second contact", SEPARATE_USAGE)
    a = resolve_contact(ctx.session, first)
    b = resolve_contact(ctx.session, second)
    mark_separate(ctx.session, a, b)
    return Reply(text=f"{a.no} and {b.no} are separate contacts; they are not shown as duplicates.")
