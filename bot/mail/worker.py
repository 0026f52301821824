"""The mail worker: read every configured mailbox, hand each email to the email handlers,
and remember how far it got, so that nothing is lost and nothing is logged twice.

One batch = one bounded UID range of one folder: fetch (BODY.PEEK, headers + a text slice),
parse, and hand the batch (bot.inputs.EmailBatch) to the dispatcher's email path, which runs the
handlers and commits the interactions together with the folder's new position (the batch is the
transaction unit, for throughput; see EmailBatch). The worker itself only reads IMAP and counts;
what it reads of the store (the folder's position) goes through the dispatcher too. A SIGKILL
between two commits loses no more than the uncommitted batch, which the restart reads again; the
(contact, Message-ID) key makes the repeat harmless. After-actions (flag, move) run only after
the commit, on the matched UIDs.

`sync_once` reads everything once. `run` keeps going: IMAP IDLE on each account's first
folder that opens (renewed before the 29-minute limit; the other folders are read at every
wake-up and at least every poll interval), or, for servers without IDLE, polling on an
APScheduler interval. A server going away is logged and retried with exponential backoff;
the worker never exits because of it. A folder the server will not open (renamed, deleted, a
typo in the config) is a warning naming the mailbox and folder: the other folders are read all
the same, and the folder is tried again at the next sync.

A mailbox that cannot be read is retried a bounded number of times (`CONNECT_TRIES` for a
server that does not answer; a refused login or a token that cannot be had is not retried
at once: that cannot help, and may lock the account) and then marked failing in the store
(storage.mail_state), with the error; the other mailboxes go on. The first failure and the
recovery each send one Slack alert (bot.mail.alerts). `mail run` keeps trying a failing
mailbox, every poll interval at most.

Without `folders` an account reads INBOX and the server's Sent folder (found at connect);
with `since` / `since_days` a first sync (or a rescan) reads only mail that arrived on that
day or later (UID SEARCH SINCE), and later syncs go on from the last UID.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from bot.config import Settings
from bot.dispatcher import Dispatcher, EmailResult
from bot.inputs import EmailBatch, ReceivedEmail
from bot.mail import imap
from bot.mail.alerts import (
    AlertSender,
    failing_text,
    recovered_text,
    send_alert,
    slack_alert_sender,
)
from bot.mail.config import MailAccount
from bot.mail.imap import (
    CONNECTION_ERRORS,
    LOGIN_ERRORS,
    FetchedMessage,
    FolderUnavailable,
    ImapSession,
)
from bot.mail.oauth2 import TokenProvider, token_provider
from bot.mail.parse import parse_email
from bot.registry import Registry
from storage.clock import utcnow, utcnow_aware
from storage.database import Store
from storage.leases import Leases, mailbox_lease
from storage.mail_state import (
    folder_known,
    folder_position,
    mark_folder_synced,
    record_failure,
    record_success,
    save_position,
)

log = logging.getLogger(__name__)


@dataclass
class FolderReport:
    mailbox: str
    folder: str
    read: int = 0
    matched: int = 0
    logged: int = 0
    unmatched: int = 0
    skipped: int = 0
    created: int = 0
    incomplete: int = 0  # logged, but not on every recipient (recorded with the reason)
    rescanned: bool = False
    #: why the folder was not read at all ("" when it was)
    unavailable: str = ""
    #: what was recorded as skipped or incomplete in this run: "uid N: reason"
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        if self.unavailable:
            return f"{self.mailbox} {self.folder}: not read: {self.unavailable}"
        rescan = " (UIDVALIDITY changed: rescanned)" if self.rescanned else ""
        incomplete = f", {self.incomplete} incomplete" if self.incomplete else ""
        return (
            f"{self.mailbox} {self.folder}: {self.read} read, {self.logged} logged on "
            f"{self.matched} matched, {self.unmatched} unmatched, {self.skipped} skipped"
            f"{incomplete}, {self.created} contacts created{rescan}"
        )


@dataclass
class SyncReport:
    folders: list[FolderReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def logged(self) -> int:
        return sum(f.logged for f in self.folders)

    @property
    def read(self) -> int:
        return sum(f.read for f in self.folders)

    @property
    def warnings(self) -> list[str]:
        """Folders that could not be opened, as "mailbox folder: reason"."""
        return [f"{f.mailbox} {f.folder}: {f.unavailable}" for f in self.folders if f.unavailable]

    def lines(self, problems_shown: int = 20) -> list[str]:
        """The report as `mail sync` prints it: a line per folder, then each problem recorded
        in this run (at most `problems_shown`), each folder not read and each error."""
        lines = [f.line() for f in self.folders]
        problems = [f"{f.mailbox} {f.folder} {p}" for f in self.folders for p in f.problems]
        lines += [f"problem: {p}" for p in problems[:problems_shown]]
        if len(problems) > problems_shown:
            lines.append(f"problem: … and {len(problems) - problems_shown} more")
        lines += [f"warning: {w}" for w in self.warnings]
        return lines + [f"error: {e}" for e in self.errors]


def _cut_reason() -> str:
    """Why a message with header fields past imap.HEADER_MAX is logged on some recipients."""
    size = imap.HEADER_MAX
    limit = f"{size >> 20} MB" if size % (1 << 20) == 0 else f"{size >> 10} KB"
    return (
        f"header fields longer than {limit}: logged on the recipients in the first "
        f"{limit} only; the others are not logged"
    )


class Backoff:
    """Exponential backoff with jitter: 1 s, 2 s, 4 s, … up to `maximum`."""

    def __init__(self, initial: float = 1.0, maximum: float = 300.0) -> None:
        self.initial, self.maximum = initial, maximum
        self.attempt = 0

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * (2**self.attempt))
        self.attempt += 1
        return delay * random.uniform(0.8, 1.2)

    def reset(self) -> None:
        self.attempt = 0


#: Connection attempts per sync before a mailbox whose server does not answer is failing.
CONNECT_TRIES = 3


class MailWorker:
    def __init__(
        self,
        store: Store,
        registry: Registry,
        settings: Settings,
        *,
        env: Mapping[str, str] | None = None,
        backoff_initial: float = 1.0,
        backoff_max: float = 300.0,
        timeout: float = 60.0,
        dispatcher: Dispatcher | None = None,
        alert: AlertSender | None = None,
        connect_tries: int = CONNECT_TRIES,
    ) -> None:
        self.store = store
        self.registry = registry
        self.settings = settings
        #: Every batch goes through the dispatcher's email path (its transaction, its retry).
        self.dispatcher = dispatcher or Dispatcher(registry, store, settings)
        self.mail = settings.mail
        self.env = env
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.stop_event = threading.Event()
        self._lock = threading.Lock()  # one batch at a time per worker keeps SQLite calm
        self._unavailable: set[tuple[str, str]] = set()  # warned about; logged once each
        #: `run` reads a mailbox only while it holds its lease: one instance at a time
        self.leases = Leases(store.url)
        #: one token provider per account for the worker's life: it caches the token
        self._tokens: dict[str, TokenProvider] = {}
        self.alert = alert if alert is not None else slack_alert_sender(settings, env)
        self.connect_tries = max(1, connect_tries)

    # --- once ------------------------------------------------------------------------

    def check_accounts(self) -> None:
        """Refuse at start what cannot work: a secret's environment variable that is not set."""
        for account in self.mail.accounts:
            account.check_secrets(self.env)

    def connect(self, account: MailAccount) -> ImapSession:
        """A logged-in session: with the password, or with the account's (cached) tokens."""
        if account.auth == "oauth2":
            tokens = self._tokens.get(account.name)
            if tokens is None:
                tokens = self._tokens[account.name] = token_provider(account, self.env)
            return ImapSession(account, tokens, timeout=self.timeout)
        return ImapSession(account, account.password(self.env), timeout=self.timeout)

    def connect_bounded(self, account: MailAccount) -> ImapSession:
        """`connect`, tried up to `connect_tries` times while the server does not answer;
        a refused login or a token that cannot be had is raised at once."""
        backoff = Backoff(self.backoff_initial, self.backoff_max)
        for attempt in range(1, self.connect_tries + 1):
            try:
                return self.connect(account)
            except LOGIN_ERRORS:
                raise
            except CONNECTION_ERRORS as error:
                if attempt == self.connect_tries or self.stop_event.is_set():
                    raise
                delay = backoff.next_delay()
                log.info(
                    "mailbox %s: cannot connect (%s); try %d of %d in %.1f s",
                    account.name,
                    error,
                    attempt + 1,
                    self.connect_tries,
                    delay,
                )
                self.stop_event.wait(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def sync_once(self) -> SyncReport:
        """Read every configured mailbox once. A mailbox that fails is reported (one line,
        naming it and the cause) and marked failing; the others are read all the same."""
        report = SyncReport()
        for account in self.mail.accounts:
            if self.stop_event.is_set():
                break
            try:
                session = self.connect_bounded(account)
            except LOGIN_ERRORS as error:
                report.errors.append(self.failed(account, str(error), reported=True))
                continue
            except CONNECTION_ERRORS as error:
                report.errors.append(
                    self.failed(account, f"cannot connect: {_words(error)}", reported=True)
                )
                continue
            try:
                report.folders.extend(self.sync_account(session))
            except CONNECTION_ERRORS as error:
                report.errors.append(
                    self.failed(account, f"connection lost: {_words(error)}", reported=True)
                )
            except Exception as error:  # the database, most likely: report, go on with others
                log.exception("mailbox %s: sync failed", account.name)
                report.errors.append(
                    self.failed(
                        account, f"sync failed: {type(error).__name__}: {error}", reported=True
                    )
                )
            else:
                self.succeeded(account)
            finally:
                session.close()
        return report

    # --- the mailbox's state -----------------------------------------------------------

    def failed(self, account: MailAccount, cause: str, *, reported: bool = False) -> str:
        """Mark the mailbox failing (alerting once) and return the one line that says so.

        With `reported` the caller prints the line (`mail sync`): the log has it at INFO
        only, so that the person reading the terminal sees it once."""
        prefix = f"mailbox {account.name}: "
        line = cause if cause.startswith(prefix) else prefix + cause
        log.log(logging.INFO if reported else logging.WARNING, "%s", line)
        try:
            turned = self.dispatcher.query(record_failure, account.name, line)
        except Exception:  # the database is away too: the line is still reported
            log.exception("mailbox %s: the failing state could not be saved", account.name)
            return line
        if turned:
            send_alert(self.alert, failing_text(account.name, line))
        return line

    def succeeded(self, account: MailAccount) -> None:
        """Every folder was read: the mailbox is ok (alerting once when it was failing)."""
        try:
            recovered = self.dispatcher.query(record_success, account.name)
        except Exception:
            log.exception("mailbox %s: the ok state could not be saved", account.name)
            return
        if recovered:
            log.info("mailbox %s: being logged again", account.name)
            send_alert(self.alert, recovered_text(account.name))

    def sync_account(self, session: ImapSession) -> list[FolderReport]:
        """Read each folder of the account; one the server will not open is reported (its
        FolderReport says why) and the others are read all the same."""
        account = session.account
        if account.move_to:
            session.ensure_folder(account.move_to)
        reports = []
        for folder in session.folders_to_read():
            if self.stop_event.is_set():
                break
            try:
                reports.append(self.sync_folder(session, folder))
            except FolderUnavailable as error:
                reports.append(self._folder_unavailable(account, folder, error.reason))
            else:
                self._unavailable.discard((account.name, folder))
        return reports

    def _folder_unavailable(self, account: MailAccount, folder: str, reason: str) -> FolderReport:
        """Warn once per folder while it stays unavailable (`mail run` retries it at every
        wake-up); the report carries it every time."""
        key = (account.name, folder)
        level = logging.DEBUG if key in self._unavailable else logging.WARNING
        self._unavailable.add(key)
        log.log(
            level,
            "mailbox %s: folder %s cannot be opened (%s); reading the other folders",
            account.name,
            folder,
            reason,
        )
        return FolderReport(account.name, folder, unavailable=f"cannot open the folder: {reason}")

    def sync_folder(self, session: ImapSession, folder: str) -> FolderReport:
        """Read one folder from the last committed UID on, batch by batch."""
        account = session.account
        report = FolderReport(account.name, folder)
        info = session.select(folder, readonly=account.after == "leave")
        position = self.dispatcher.query(folder_position, account.name, folder, info.uidvalidity)
        if position.reset:
            report.rescanned = self._had_state(account.name, folder)
        uidnext = info.uidnext if info.uidnext is not None else session.highest_uid() + 1
        low = position.last_uid + 1
        if position.reset:
            low = self._first_uid(session, folder, uidnext)
            if low >= uidnext:  # an empty (new or rebuilt) folder, or nothing since: note it
                self.dispatcher.query(
                    save_position, account.name, folder, info.uidvalidity, uidnext - 1
                )
        while low < uidnext and not self.stop_event.is_set():
            high = min(low + self.mail.batch_size - 1, uidnext - 1)
            fetched = session.fetch_range(low, high, self.mail.text_bytes)
            matched_uids = self._process_batch(
                session, folder, info.uidvalidity, high, fetched, report
            )
            self._after(session, matched_uids)
            low = high + 1
        if not self.stop_event.is_set():
            self.dispatcher.query(mark_folder_synced, account.name, folder)
        return report

    def _first_uid(self, session: ImapSession, folder: str, uidnext: int) -> int:
        """Where a first sync (or a rescan) starts: UID 1, or with `since` / `since_days`
        the first UID that arrived on that day or later (`uidnext` when none did)."""
        day = session.account.first_day(utcnow().date())
        if day is None:
            return 1
        uids = session.uids_since(day)
        log.info(
            "mailbox %s %s: first sync from %s: %d messages",
            session.account.name,
            folder,
            day.isoformat(),
            len(uids),
        )
        return uids[0] if uids else uidnext

    def _had_state(self, mailbox: str, folder: str) -> bool:
        had = self.dispatcher.query(folder_known, mailbox, folder)
        if had:
            log.warning("%s %s: UIDVALIDITY changed; rescanning the folder", mailbox, folder)
        return had

    def _process_batch(
        self,
        session: ImapSession,
        folder: str,
        uidvalidity: int,
        high: int,
        fetched: list[FetchedMessage],
        report: FolderReport,
    ) -> list[int]:
        """Parse and handle one batch, and commit it with the folder's new position."""
        account = session.account
        emails: list[ReceivedEmail] = []
        failures: list[tuple[int, str]] = []
        for message in fetched:
            try:
                emails.append(
                    parse_email(
                        message.header,
                        message.text,
                        mailbox=account.name,
                        folder=folder,
                        uid=message.uid,
                        owner_salesperson=account.salesperson,
                        owner_address=account.username if "@" in account.username else "",
                        snippet_chars=self.mail.snippet_chars,
                    )
                )
            except Exception as error:  # the parser should not raise; if it does, skip once
                log.exception("%s %s uid %s: cannot parse", account.name, folder, message.uid)
                failures.append((message.uid, f"cannot parse: {type(error).__name__}: {error}"))
        emails = _dated(session, emails)
        cut = _cut_reason()
        batch = EmailBatch(
            mailbox=account.name,
            folder=folder,
            uidvalidity=uidvalidity,
            last_uid=high,
            emails=tuple(emails),
            failures=tuple(failures),
            partial=tuple((m.uid, cut) for m in fetched if m.header_cut),
            account=account,
        )
        with self._lock:
            results = self.dispatcher.dispatch_emails(batch)
        return self._count(batch, results, report)

    @staticmethod
    def _count(batch: EmailBatch, results: list[EmailResult], report: FolderReport) -> list[int]:
        """Add the committed batch to the folder's report; the matched UIDs (for `after`)."""
        matched_uids: list[int] = []
        for result in results:
            report.read += 1
            if result.reason:
                report.skipped += 1
                report.problems.append(f"uid {result.uid}: {result.reason}")
            elif result.partial:
                report.incomplete += 1
                report.problems.append(f"uid {result.uid}: {result.partial}")
            if result.outcome.matched:
                report.matched += 1
                matched_uids.append(result.uid)
            elif not result.reason:
                report.unmatched += 1
            report.logged += result.outcome.logged
            report.created += len(result.outcome.created)
        for uid, reason in batch.failures:
            report.read += 1
            report.skipped += 1
            report.problems.append(f"uid {uid}: {reason}")
        return matched_uids

    def _after(self, session: ImapSession, uids: list[int]) -> None:
        """The account's after-action on the matched, committed UIDs."""
        account = session.account
        if not uids or account.after == "leave":
            return
        if account.after == "flag":
            session.flag(uids)
        elif account.move_to:
            session.move(uids, account.move_to)

    # --- running -----------------------------------------------------------------------

    def stop(self) -> None:
        self.stop_event.set()

    def run(self, scheduler: object | None = None) -> None:
        """Keep every mailbox in sync until `stop()`: IDLE where possible, else polling.

        With a running APScheduler `scheduler`, poll jobs go there (as `contactbot run`
        does); otherwise the worker makes its own background scheduler.
        """
        own_scheduler = None
        if scheduler is None:
            from apscheduler.schedulers.background import BackgroundScheduler

            own_scheduler = scheduler = BackgroundScheduler(daemon=True)
            own_scheduler.start()
        threads = [
            threading.Thread(
                target=self._account_loop,
                args=(account, scheduler),
                name=f"mail-{account.name}",
                daemon=True,
            )
            for account in self.mail.accounts
        ]
        for thread in threads:
            thread.start()
        try:
            while not self.stop_event.wait(0.5):
                pass
        finally:
            for thread in threads:
                thread.join(timeout=10)
            if own_scheduler is not None:
                own_scheduler.shutdown(wait=False)

    def _account_loop(self, account: MailAccount, scheduler: object) -> None:
        """Read the account while this instance holds its lease (storage.leases)."""
        with self.leases.held(mailbox_lease(account.name), self.stop_event) as ours:
            if ours:
                self._read_account(account, scheduler)

    def _read_account(self, account: MailAccount, scheduler: object) -> None:
        """Connect (with backoff), then IDLE; or hand the account to the poll scheduler.

        After `connect_tries` failed connections in a row, or at once for a refused login,
        the mailbox is marked failing; it is tried again with backoff (a refused login at
        the poll interval, so that a wrong secret does not lock the account)."""
        backoff = Backoff(self.backoff_initial, self.backoff_max)
        failures = 0
        while not self.stop_event.is_set():
            try:
                session = self.connect(account)
            except LOGIN_ERRORS as error:
                self.failed(account, str(error))
                self.stop_event.wait(max(self.mail.poll_minutes * 60, backoff.next_delay()))
                continue
            except CONNECTION_ERRORS as error:
                failures += 1
                delay = backoff.next_delay()
                log.warning(
                    "mailbox %s: cannot connect (%s); retrying in %.1f s",
                    account.name,
                    error,
                    delay,
                )
                if failures >= self.connect_tries:
                    self.failed(account, f"cannot connect: {_words(error)}")
                self.stop_event.wait(delay)
                continue
            try:
                if not (self.mail.idle and session.has("IDLE")):
                    session.close()
                    self._schedule_polling(account, scheduler)
                    return
                backoff.reset()
                failures = 0
                self._idle_loop(session)
            except CONNECTION_ERRORS as error:
                delay = backoff.next_delay()
                log.warning(
                    "mailbox %s: connection lost (%s); reconnecting in %.1f s",
                    account.name,
                    error,
                    delay,
                )
                self.stop_event.wait(delay)
            except Exception as error:  # e.g. the database went away: never let the thread die
                delay = backoff.next_delay()
                log.exception("mailbox %s: sync failed; retrying in %.1f s", account.name, delay)
                self.failed(account, f"sync failed: {type(error).__name__}: {error}")
                self.stop_event.wait(delay)
            finally:
                session.close()

    def _idle_loop(self, session: ImapSession) -> None:
        account = session.account
        wait_limit = min(self.mail.idle_renew_minutes, self.mail.poll_minutes) * 60
        while not self.stop_event.is_set():
            readable = [r.folder for r in self.sync_account(session) if not r.unavailable]
            if not self.stop_event.is_set():
                self.succeeded(account)
            if not readable:  # none of the folders opens: look again after the poll interval
                self.stop_event.wait(self.mail.poll_minutes * 60)
                continue
            watched = readable[0]  # the first configured folder that opens
            session.select(watched, readonly=account.after == "leave")
            session.client.idle()
            deadline = time.monotonic() + wait_limit
            changed = False
            try:
                while not self.stop_event.is_set() and not changed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break  # renew the IDLE (well before the server's 29-30 minutes)
                    responses = session.client.idle_check(timeout=min(1.0, remaining))
                    changed = any(
                        isinstance(r, tuple) and len(r) > 1 and r[1] in (b"EXISTS", b"RECENT")
                        for r in responses
                    )
            finally:
                session.client.idle_done()

    def _schedule_polling(self, account: MailAccount, scheduler: object) -> None:
        log.info(
            "mailbox %s: no IDLE; polling every %g minutes", account.name, self.mail.poll_minutes
        )
        scheduler.add_job(  # type: ignore[attr-defined]
            self._poll,
            "interval",
            args=(account,),
            minutes=self.mail.poll_minutes,
            id=f"mail-poll-{account.name}",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            next_run_time=utcnow_aware(),
        )

    def _poll(self, account: MailAccount) -> None:
        """One scheduled read of one mailbox; a failure marks it failing (the state says
        why) and the next run retries."""
        if self.stop_event.is_set():
            return
        with self.leases.if_free(mailbox_lease(account.name)) as ours:
            if ours:  # else another instance reads it now
                self._poll_held(account)

    def _poll_held(self, account: MailAccount) -> None:
        try:
            session = self.connect_bounded(account)
        except LOGIN_ERRORS as error:
            self.failed(account, str(error))
            return
        except CONNECTION_ERRORS as error:
            self.failed(account, f"cannot connect: {_words(error)}")
            return
        try:
            self.sync_account(session)
        except CONNECTION_ERRORS as error:
            self.failed(account, f"connection lost: {_words(error)}")
        except Exception as error:
            log.exception("mailbox %s: sync failed; next poll retries", account.name)
            self.failed(account, f"sync failed: {type(error).__name__}: {error}")
        else:
            self.succeeded(account)
        finally:
            session.close()


def _words(error: BaseException) -> str:
    """An IMAP or socket error as one short line (imapclient quotes bytes as b'…')."""
    text = " ".join(str(error).split()) or type(error).__name__
    if text.startswith(("b'", 'b"')) and text.endswith(("'", '"')):
        text = text[2:-1]
    return text[:300]


def _dated(session: ImapSession, emails: list[ReceivedEmail]) -> list[ReceivedEmail]:
    """Mail without a usable Date header gets the server's arrival time (INTERNALDATE),
    fetched for those few only; failing that, now."""
    undated = [email.uid for email in emails if email.date is None]
    if not undated:
        return emails
    dates = session.internal_dates(undated)
    now = utcnow()
    return [
        replace(email, date=dates.get(email.uid, now)) if email.date is None else email
        for email in emails
    ]
