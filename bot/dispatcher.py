"""The dispatcher: every input kind, the same for every adapter.

- A typed command (CommandInvocation; Slack's buttons, menus, shortcuts and form submissions
  become one too): it finds the verb, runs the filter chain (roles, confirmation), then runs
  the handler in one transaction with the actor set and the delivery id recorded: a UserError
  rolls everything back and becomes the reply's text; any other error is logged with an id and
  becomes a short apology carrying that id.
- An email batch (EmailBatch, from the mail worker): every email handler in the batch's one
  transaction, with the folder's position (`dispatch_emails`).
- A scheduled job's tick (JobTick): the job with its JobContext (`run_job`).
- A query an adapter needs (App Home, a picker's options): one transaction (`query`).

A conflict on a unique key or a deadlock runs the transaction again on every path.
"""

from __future__ import annotations

import difflib
import functools
import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from bot.arguments import Arguments, parse_arguments, split_words
from bot.config import Settings
from bot.contexts import EmailContext, EmailOutcome, JobContext
from bot.inputs import Actor, CommandInvocation, EmailBatch, JobTick, ReceivedEmail
from bot.registry import CommandSpec, Registry, ScheduleSpec
from bot.reply import Confirmation, Reply
from storage.audit import set_actor
from storage.database import Store
from storage.deliveries import DuplicateDelivery, delivered, record_delivery
from storage.errors import UserError
from storage.mail_state import record_skipped, save_position

log = logging.getLogger(__name__)

T = TypeVar("T")

YES_FLAG = "yes"
#: How often a command that lost a race on a unique key is run again (see Dispatcher._run).
CONFLICT_ATTEMPTS = 8
#: How often a command that PostgreSQL chose as a deadlock's victim, or failed for a
#: serialization conflict, or that found SQLite locked past its busy timeout, is run again.
BUSY_ATTEMPTS = 5
#: SQLSTATEs that mean "run the transaction again": serialization_failure, deadlock_detected.
RETRY_SQLSTATES = frozenset({"40001", "40P01"})
BUSY_MESSAGE = (
    "The database was busy with other changes and this one could not get through; nothing "
    "was changed. Try again in a moment."
)

#: Who the audit names for a query's writes when the adapter names nobody (`as_actor=`).
QUERY_ACTOR = "contactbot"

#: Returned (this very object) for a delivery that ran already: an adapter that set
#: `CommandInvocation.delivery_id` compares with `is` and answers nothing the second time.
DUPLICATE_DELIVERY = Reply(text="That request was handled already; nothing was done twice.")


@dataclass
class Context:
    """What a handler gets besides its arguments."""

    session: Session
    actor: Actor
    args: Arguments
    invocation: CommandInvocation
    registry: Registry
    settings: Settings
    spec: CommandSpec

    def require_role(self, role: str, what: str) -> None:
        """For a sub-action that needs more than the command itself (`codes … add`)."""
        if not self.actor.has(role):
            raise UserError(f"`{what}` needs the {role} role, which you do not have.")


@dataclass(frozen=True)
class EmailResult:
    """What became of one email of a batch: the handlers' outcome, why they failed on it
    ("" when they did not), and why it was read only in part ("" when it was read whole)."""

    uid: int
    outcome: EmailOutcome
    reason: str = ""
    partial: str = ""


class _HandlerFailed(Exception):
    """A handler raised in an optimistic (savepoint-free) batch: roll back, isolate, redo."""


#: A filter may stop a command before it runs by returning a Reply.
Filter = Callable[[CommandSpec, CommandInvocation, Arguments], Reply | None]


def require_role(
    spec: CommandSpec, invocation: CommandInvocation, _args: Arguments
) -> Reply | None:
    if any(invocation.actor.has(role) for role in spec.roles):
        return None
    needed = " or ".join(sorted(spec.roles))
    return Reply.error(f"`{spec.verb}` needs the {needed} role, which you do not have.")


def require_confirmation(
    spec: CommandSpec, invocation: CommandInvocation, args: Arguments
) -> Reply | None:
    """Destructive commands ask first; `--yes` (or the confirm button) answers yes."""
    if not spec.confirm or YES_FLAG in args.flags:
        return None
    command = f"{invocation.text.strip()} --{YES_FLAG}"
    question = f"Really run `{invocation.text.strip()}`?"
    return Reply(text=question, confirm=Confirmation(question, command))


DEFAULT_FILTERS: tuple[Filter, ...] = (require_role, require_confirmation)


def transient_reason(error: DBAPIError) -> str | None:
    """Why running the transaction again may well succeed, or None: a PostgreSQL deadlock or
    serialization failure (psycopg 3 gives the SQLSTATE as `.orig.sqlstate`, psycopg 2 as
    `.orig.pgcode`), or SQLite still locked by another writer after its busy timeout."""
    orig = error.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state in RETRY_SQLSTATES:
        return "a deadlock" if state == "40P01" else "a serialization failure"
    if type(orig).__module__.startswith("sqlite3") and "database is locked" in str(orig):
        return "SQLite locked"
    return None


class Dispatcher:
    def __init__(
        self,
        registry: Registry,
        store: Store,
        settings: Settings,
        filters: Sequence[Filter] = DEFAULT_FILTERS,
    ) -> None:
        self.registry = registry
        self.store = store
        self.settings = settings
        self.filters = tuple(filters)

    def dispatch(self, invocation: CommandInvocation) -> Reply:
        try:
            return self._dispatch(invocation)
        except UserError as error:
            return Reply.error(error.message)
        except Exception:
            error_id = uuid.uuid4().hex[:8]
            log.exception(
                "error %s while running %r for %s",
                error_id,
                invocation.text,
                invocation.actor.user_id,
            )
            return Reply.error(
                f"Sorry, that went wrong on our side (error {error_id}). Nothing was changed; "
                "the error is in the log under that id."
            )

    def _dispatch(self, invocation: CommandInvocation) -> Reply:
        words = (
            list(invocation.words) if invocation.words is not None else split_words(invocation.text)
        )
        if not words:
            words = ["help"]
        verb, rest = words[0].lower(), words[1:]
        spec = self.registry.commands.get(verb)
        if spec is None:
            return Reply.error(self._unknown_verb(verb))
        args = parse_arguments(rest)
        for check in self.filters:
            stop = check(spec, invocation, args)
            if stop is not None:
                return stop
        return self._run(spec, invocation, args)

    def _run(self, spec: CommandSpec, invocation: CommandInvocation, args: Arguments) -> Reply:
        """One transaction. With a delivery id, the id is recorded in that transaction under a
        unique key (storage.deliveries), so a retried delivery never writes twice; it gets
        DUPLICATE_DELIVERY.

        PostgreSQL: the id is recorded first; a concurrent retry waits on the key until the
        first run commits, then fails on it. SQLite: recording first would hold the one write
        lock for the whole command and serialise every read, so a committed id is looked up
        first and the id is recorded last. A run that loses a race on a unique key (two SQLite
        writers that read the same number series) is the retry's duplicate when its delivery
        is recorded by then, and is otherwise run again on the committed state (up to
        CONFLICT_ATTEMPTS times; on PostgreSQL that is the first use of a number series).

        A run that was a deadlock's victim (merge and `set` taking the same rows) or hit a
        serialization failure rolled back whole, so it is run again too (up to BUSY_ATTEMPTS
        times, logged); after that the person hears the database was busy, not an apology."""
        delivery = invocation.delivery_id
        claim_first = self.store.dialect != "sqlite"
        conflicts = busy = 0
        while True:
            try:
                return self._run_once(spec, invocation, args, delivery, claim_first)
            except DuplicateDelivery:
                log.info("%s delivery %s ran already; skipped", invocation.source, delivery)
                return DUPLICATE_DELIVERY
            except UserError:
                # SQLite records the id last: a retry that ran beside the first delivery can
                # be refused by what the first wrote ("that message is logged already"). When
                # the first delivery committed meanwhile, this is its duplicate, not an error.
                if delivery and not claim_first and self._delivered(invocation.source, delivery):
                    log.info("%s delivery %s ran already; skipped", invocation.source, delivery)
                    return DUPLICATE_DELIVERY
                raise
            except IntegrityError:
                if delivery and self._delivered(invocation.source, delivery):
                    log.info("%s delivery %s ran already; skipped", invocation.source, delivery)
                    return DUPLICATE_DELIVERY
                conflicts += 1
                if conflicts == CONFLICT_ATTEMPTS:
                    raise
                log.info("conflict while running %r; running it again", invocation.text)
                time.sleep(random.uniform(0, 0.01 * conflicts))
            except DBAPIError as error:
                reason = transient_reason(error)
                if reason is None:
                    raise
                busy += 1
                if busy == BUSY_ATTEMPTS:
                    log.warning(
                        "%s while running %r, %d times; gave up", reason, invocation.text, busy
                    )
                    return Reply.error(BUSY_MESSAGE)
                log.info("%s while running %r; running it again", reason, invocation.text)
                time.sleep(random.uniform(0, 0.05 * busy))

    def query(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a query the store or a plugin owns, `function(session, *args, **kwargs)`, in one
        transaction of its own, and return its value. This is how an adapter reads what it
        needs (App Home's contacts, a picker's options, the Slack user's salesperson) without
        touching the store: the transaction, the actor (`as_actor=`, else QUERY_ACTOR) and the
        retry of a deadlock or a conflict on a unique key (a salesperson claimed twice at once)
        are the dispatcher's, as for a command. What the function returns must be usable after
        the commit (plain values, or rows loaded fully: the store does not expire them). An
        error that is not transient is raised to the adapter, whose guard logs it with an id."""
        actor = kwargs.pop("as_actor", None) or QUERY_ACTOR

        def once() -> T:
            with self.store.transaction() as session:
                set_actor(session, actor)
                return function(session, *args, **kwargs)

        return self._retry(once, getattr(function, "__qualname__", repr(function)))

    def _retry(self, once: Callable[[], T], what: str) -> T:
        """`once()` again after a conflict on a unique key or a transient database error, as
        `_run` does for a command; the last failure is raised."""
        conflicts = busy = 0
        while True:
            try:
                return once()
            except IntegrityError:
                conflicts += 1
                if conflicts == CONFLICT_ATTEMPTS:
                    raise
                log.info("conflict while running %s; running it again", what)
                time.sleep(random.uniform(0, 0.01 * conflicts))
            except DBAPIError as error:
                reason = transient_reason(error)
                busy += 1
                if reason is None or busy == BUSY_ATTEMPTS:
                    raise
                log.info("%s while running %s; running it again", reason, what)
                time.sleep(random.uniform(0, 0.05 * busy))

    # --- emails ------------------------------------------------------------------------

    def dispatch_emails(self, batch: EmailBatch) -> list[EmailResult]:
        """Run every email handler on every email of the batch in one transaction, and commit
        it with what was skipped (a handler's failure, a message read in part, one that could
        not be parsed) and the folder's new position: after a crash the worker resumes after
        the last committed batch. Optimistic first, with no savepoint per email (they cost two
        statements each); when a handler fails, the batch is rolled back and run again with
        each email's handlers in savepoints, the failure then being the email's skip reason.
        A conflict or a deadlock runs the batch again, as for a command."""
        what = f"the batch of {batch.mailbox} {batch.folder} up to UID {batch.last_uid}"
        try:
            return self._retry(lambda: self._emails_once(batch, isolate=False), what)
        except _HandlerFailed:
            log.warning(
                "%s %s: a handler failed in UIDs up to %s; isolating each email",
                batch.mailbox,
                batch.folder,
                batch.last_uid,
            )
            return self._retry(lambda: self._emails_once(batch, isolate=True), what)

    def _emails_once(self, batch: EmailBatch, *, isolate: bool) -> list[EmailResult]:
        partial = dict(batch.partial)
        results: list[EmailResult] = []
        with self.store.transaction() as session:
            set_actor(session, f"mail:{batch.mailbox}")
            cache: dict[str, object] = {}
            for email in batch.emails:
                outcome, reason = self._handle_email(session, batch, email, cache, isolate)
                recorded = reason or partial.get(email.uid, "")
                if recorded:
                    record_skipped(
                        session,
                        batch.mailbox,
                        batch.folder,
                        batch.uidvalidity,
                        email.uid,
                        recorded,
                        email.message_id,
                    )
                results.append(EmailResult(email.uid, outcome, reason, partial.get(email.uid, "")))
            for uid, reason in batch.failures:
                record_skipped(session, batch.mailbox, batch.folder, batch.uidvalidity, uid, reason)
            save_position(session, batch.mailbox, batch.folder, batch.uidvalidity, batch.last_uid)
        return results

    def _handle_email(
        self,
        session: Session,
        batch: EmailBatch,
        email: ReceivedEmail,
        cache: dict[str, object],
        isolate: bool,
    ) -> tuple[EmailOutcome, str]:
        """Every email handler on one email; with `isolate`, each in its own savepoint (a
        failure is then the reason to skip); without, a failure aborts the batch."""
        matched = False
        logged = 0
        created: tuple[str, ...] = ()
        reasons = []
        for spec in self.registry.email_handlers:
            context = EmailContext(
                session=session,
                settings=self.settings,
                email=email,
                account=batch.account,  # type: ignore[arg-type]
                batch=batch.emails,
                cache=cache,
            )
            try:
                if isolate:
                    with session.begin_nested():
                        outcome = spec.handler(context)
                else:
                    outcome = spec.handler(context)
            except Exception as error:
                if not isolate:
                    raise _HandlerFailed from error
                log.exception(
                    "%s %s uid %s: email handler %s failed",
                    batch.mailbox,
                    email.folder,
                    email.uid,
                    spec.name,
                )
                cache.clear()  # the savepoint's rollback may have voided cached rows
                reasons.append(f"{spec.name} failed: {type(error).__name__}: {error}")
                continue
            if isinstance(outcome, EmailOutcome):
                matched = matched or outcome.matched
                logged += outcome.logged
                created += outcome.created
        return EmailOutcome(matched, logged, created), "; ".join(reasons)

    # --- scheduled jobs ------------------------------------------------------------------

    def run_job(self, spec: ScheduleSpec, tick: JobTick) -> Any:
        """Run one job with its JobContext. The job opens its own transactions (the digest
        posts to Slack between them) or uses `ctx.query`; what it raises is raised here, for
        the scheduler to log (it goes on) and `contactbot jobs run` to print."""
        context = JobContext(
            settings=self.settings,
            store=self.store,
            registry=self.registry,
            tick=tick,
            query=functools.partial(self.query, as_actor=f"job:{spec.job_id}"),
        )
        return spec.handler(context)

    def _delivered(self, source: str, delivery: str) -> bool:
        with self.store.transaction() as session:
            return delivered(session, source, delivery)

    def _run_once(
        self,
        spec: CommandSpec,
        invocation: CommandInvocation,
        args: Arguments,
        delivery: str | None,
        claim_first: bool,
    ) -> Reply:
        with self.store.transaction() as session:
            set_actor(session, invocation.actor.name or invocation.actor.user_id)
            if delivery and claim_first:
                record_delivery(session, invocation.source, delivery)
            elif delivery and delivered(session, invocation.source, delivery):
                raise DuplicateDelivery(invocation.source, delivery)
            context = Context(
                session=session,
                actor=invocation.actor,
                args=args,
                invocation=invocation,
                registry=self.registry,
                settings=self.settings,
                spec=spec,
            )
            reply = spec.handler(context)
            if not isinstance(reply, Reply):
                raise TypeError(f"{spec.plugin}.{spec.verb} returned {type(reply).__name__}")
            reply = self.registry.add_to_reply(context, reply)  # other plugins' additions
            if delivery and not claim_first:
                record_delivery(session, invocation.source, delivery)
            return reply

    def _unknown_verb(self, verb: str) -> str:
        close = difflib.get_close_matches(verb, self.registry.verbs(), n=1, cutoff=0.5)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        return f"Unknown command `{verb}`.{hint} Type `help` for the list."
