"""Account care: the accounts nobody has talked to for a while, and who handed over to whom.

An example of a contactbot plugin package (docs/plugins.md walks through it). It shows every
kind of thing a plugin can register:

- `stale [days]`, a command: the companies whose last interaction (their own or one of their
  persons') is older than `[account_care] stale_days`, the longest silent first;
- a reply addition to `show`: the card of a silent account says since when;
- a store rule: a contact's changed salesperson is written on its history ("Handed over to
  SAM"), whichever command or sync changed it (the persons who follow their company's
  salesperson are the company's handover, not one line each);
- a scheduled job, `stale_accounts`, whose summary `contactbot jobs run` prints, on the cron
  line `[account_care] report_cron` sets;
- its own configuration table, `[account_care]`, parsed here.

It reads the store through the models and queries contactbot's storage package exports, and it
needs the `contacts` and `interactions` plugins (DEPENDS_ON), whose `show` it adds to and whose
history it writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from bot.config_errors import ConfigError
from bot.contexts import JobContext
from bot.cron import check_cron, check_timezone
from bot.dispatcher import Context
from bot.registry import command, config_table, reply_addition, schedule, store_rules
from bot.reply import Reply, Table
from storage.clock import utcnow
from storage.contacts import ChangeResult, get_by_no
from storage.errors import UserError
from storage.interactions import ensure_template, record_interaction
from storage.models import Contact, ContactType, Interaction
from storage.rules import StoreRules

DEPENDS_ON = ("contacts", "interactions")

TABLE = "account_care"
JOB_ID = "stale_accounts"
HANDOVER_TEMPLATE = "HANDOVER"
STALE_USAGE = "stale [days]"
#: The most accounts `stale` lists; it says how many there are in all.
LIST_LIMIT = 20


@dataclass(frozen=True)
class AccountCareSettings:
    stale_days: int = 90
    report_cron: str = "0 7 * * mon"
    report_timezone: str = "UTC"

    def job_timings(self) -> dict[str, tuple[str, str]]:
        """The report's cron line and zone (the registry's hook for a table that times jobs)."""
        return {JOB_ID: (self.report_cron, self.report_timezone)}


@config_table(TABLE)
def account_care_settings(table: Mapping[str, Any] | None) -> AccountCareSettings:
    """`[account_care]`: `stale_days` (1-3650), `report_cron`, `report_timezone`."""
    table = table or {}
    known = {"stale_days", "report_cron", "report_timezone"}
    for key in table:
        if key not in known:
            raise ConfigError(
                f"{TABLE}.{key}: unknown key. Known keys: {', '.join(sorted(known))}."
            )
    days = table.get("stale_days", AccountCareSettings.stale_days)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
        raise ConfigError(f"{TABLE}.stale_days: expected a whole number of days from 1 to 3650.")
    zone = table.get("report_timezone", AccountCareSettings.report_timezone)
    cron = table.get("report_cron", AccountCareSettings.report_cron)
    if not isinstance(zone, str) or not isinstance(cron, str):
        raise ConfigError(f"{TABLE}.report_cron and report_timezone: expected strings.")
    check_timezone(zone, f"{TABLE}.report_timezone")
    check_cron(cron, zone, f"{TABLE}.report_cron")
    return AccountCareSettings(days, cron, zone)


# --- the query ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StaleAccount:
    no: str
    name: str
    salesperson: str
    last: dt.datetime | None  # None: nothing logged at all


def last_interactions(session: Session) -> Any:
    """company id -> its latest interaction, its persons' included (a subquery). A handover
    is not a conversation with the customer: it does not count."""
    person = aliased(Contact)
    talked = Interaction.template != HANDOVER_TEMPLATE
    own = select(Interaction.contact_id.label("company_id"), Interaction.occurred_at).where(talked)
    persons = (
        select(person.company_id.label("company_id"), Interaction.occurred_at)
        .join(person, person.id == Interaction.contact_id)
        .where(talked, person.company_id.is_not(None))
    )
    both = own.union_all(persons).subquery()
    return (
        select(both.c.company_id, func.max(both.c.occurred_at).label("last"))
        .group_by(both.c.company_id)
        .subquery()
    )


def stale_accounts(
    session: Session, days: int, limit: int = LIST_LIMIT
) -> tuple[int, list[StaleAccount]]:
    """(how many companies are silent for `days`, the `limit` longest silent of them)."""
    cutoff = utcnow() - dt.timedelta(days=days)
    last = last_interactions(session)
    silent = (
        select(Contact.no, Contact.name, Contact.salesperson, last.c.last)
        .outerjoin(last, last.c.company_id == Contact.id)
        .where(Contact.type == ContactType.COMPANY)
        .where((last.c.last.is_(None)) | (last.c.last < cutoff))
    )
    total = session.scalar(select(func.count()).select_from(silent.subquery())) or 0
    rows = session.execute(
        silent.order_by(last.c.last.is_not(None), last.c.last, Contact.no).limit(limit)
    ).all()
    return total, [StaleAccount(r.no, r.name, r.salesperson or "", r.last) for r in rows]


def silent_since(session: Session, contact: Contact) -> dt.datetime | None:
    """The latest interaction of the contact's account (its company, or itself)."""
    company_id = contact.company_id or contact.id
    last = last_interactions(session)
    return session.scalar(select(last.c.last).where(last.c.company_id == company_id))


# --- what the plugin registers -----------------------------------------------------------


@command("stale", usage=STALE_USAGE)
def stale(ctx: Context) -> Reply:
    """List the companies with no interaction for a while, the longest silent first.

    `stale` uses `[account_care] stale_days` (90 by default); `stale 30` asks for 30 days.
    An interaction with one of a company's persons counts for the company.
    """
    settings: AccountCareSettings = ctx.registry.config(TABLE)
    days = settings.stale_days
    if ctx.args.positionals:
        word = ctx.args.positionals[0]
        if not word.isascii() or not word.isdigit() or not 1 <= int(word) <= 3650:
            raise UserError(
                f"`{word}` is not a number of days from 1 to 3650. Usage: {STALE_USAGE}"
            )
        days = int(word)
    total, accounts = stale_accounts(ctx.session, days)
    if not accounts:
        return Reply(text=f"Every company has had an interaction in the last {days} days.")
    shown = f"{len(accounts)} of {total}" if total > len(accounts) else str(total)
    noun = "company" if total == 1 else "companies"
    rows = tuple(
        (a.no, a.name, a.salesperson, a.last.date().isoformat() if a.last else "never")
        for a in accounts
    )
    return Reply(
        text=f"{shown} {noun} with no interaction for {days} days:",
        table=Table(("no", "name", "salesperson", "last interaction"), rows),
    )


@reply_addition("show")
def silence_note(ctx: Context, reply: Reply) -> Reply | None:
    """A note under the card of an account that has been silent longer than `stale_days`."""
    days = ctx.registry.config(TABLE).stale_days
    notes = []
    for card in reply.cards:
        contact = get_by_no(ctx.session, card.subtitle) if card.subtitle else None
        if contact is None:
            continue
        last = silent_since(ctx.session, contact)
        if last is None:
            notes.append(f"Account care: nothing logged with {contact.no}'s account yet.")
        elif (utcnow() - last).days > days:
            notes.append(
                f"Account care: no interaction with {contact.no}'s account since "
                f"{last.date().isoformat()} ({(utcnow() - last).days} days)."
            )
    return reply.with_notes(*notes) if notes else None


def log_handover(session: Session, result: ChangeResult) -> None:
    """A changed salesperson goes on the contact's history, in the change's transaction."""
    if "salesperson" not in result.changed:
        return
    contact = result.contact
    ensure_template(session, HANDOVER_TEMPLATE, "Salesperson handover")
    to = contact.salesperson or "nobody"
    record_interaction(session, contact, HANDOVER_TEMPLATE, f"Handed over to {to}", source="api")


@store_rules
def install_rules(rules: StoreRules) -> None:
    """The handover log on every change of a contact."""
    rules.on_change.append(log_handover)


@schedule(JOB_ID, cron=AccountCareSettings.report_cron)
def stale_report(ctx: JobContext) -> str:
    """How many companies have gone silent: a line for the log and `contactbot jobs run`."""
    settings: AccountCareSettings = ctx.registry.config(TABLE)
    total, accounts = ctx.query(stale_accounts, settings.stale_days, limit=1)
    if not total:
        return f"No company has gone {settings.stale_days} days without an interaction."
    longest = accounts[0]
    since = longest.last.date().isoformat() if longest.last else "ever"
    have = "company has" if total == 1 else "companies have"
    return (
        f"{total} {have} had no interaction for {settings.stale_days} days "
        f"(longest: {longest.no} {longest.name}, since {since}); `stale` lists them."
    )
