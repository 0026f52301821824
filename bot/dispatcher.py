"""The dispatcher: from a CommandInvocation to a Reply, the same for every adapter.

It finds the verb, runs the filter chain (roles, confirmation), then runs the handler in one
transaction: a UserError rolls everything back and becomes the reply's text; any other error
is logged with an id and becomes a short apology carrying that id.
"""

from __future__ import annotations

import difflib
import logging
import random
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from bot.arguments import Arguments, parse_arguments, split_words
from bot.config import Settings
from bot.inputs import Actor, CommandInvocation
from bot.registry import CommandSpec, Registry
from bot.reply import Confirmation, Reply
from storage.audit import set_actor
from storage.database import Store
from storage.deliveries import DuplicateDelivery, delivered, record_delivery
from storage.errors import UserError

log = logging.getLogger(__name__)

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
        words = split_words(invocation.text)
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
