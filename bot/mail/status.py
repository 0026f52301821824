"""Where each configured mailbox stands, for `contactbot mail status`, `contactbot status` and
the health endpoint.

`mailbox_states(app)` is the one call those need: a storage.mail_state.MailboxStatus per
configured account, in the config's order (state "ok", "failing" or "unknown" when it was
never synced; failing since, last error, last successful sync, what was logged in the last
24 hours, each folder's position and last complete read). `status_lines` renders them as
`mail status` prints them; `any_failing` is what decides its exit status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.runtime import App
from storage.clock import utcnow
from storage.mail_state import MailboxStatus, mail_status


def mailbox_states(app: App, now: dt.datetime | None = None) -> list[MailboxStatus]:
    """The state of every configured mailbox, read through the app's dispatcher."""
    names = [account.name for account in app.settings.mail.accounts]
    return app.dispatcher.query(mail_status, names, now or utcnow())


def any_failing(states: Sequence[MailboxStatus]) -> bool:
    return any(state.failing for state in states)


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _age(delta: dt.timedelta | None) -> str:
    """4 min, 3 h 5 min, 2 d 4 h: how far behind, roughly."""
    if delta is None:
        return "never synced"
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "up to date"
    if minutes < 60:
        return f"{minutes} min behind"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min behind"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h behind"


def status_lines(states: Sequence[MailboxStatus], now: dt.datetime | None = None) -> list[str]:
    """One line per mailbox and one per folder, then the error of each failing mailbox."""
    now = now or utcnow()
    lines: list[str] = []
    for state in states:
        what = state.state
        if state.failing:
            what = f"failing since {_when(state.failing_since)}"
        lines.append(
            f"{state.mailbox}: {what}; last sync {_when(state.last_success_at)} "
            f"({_age(state.behind(now))}); {state.logged_24h} logged in 24 h"
        )
        for folder in state.folders:
            synced = folder.synced_at
            behind = _age(now - synced if synced else None)
            lines.append(
                f"  {folder.folder}: last read {_when(synced)} ({behind}); "
                f"{folder.logged_24h} logged in 24 h; at UID {folder.last_uid}"
            )
        if state.last_error and (state.failing or state.last_error_at):
            label = "error" if state.failing else "last error"
            lines.append(f"  {label} ({_when(state.last_error_at)}): {state.last_error}")
    return lines
