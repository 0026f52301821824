"""Submitting the contact modal: the same `new`/`set` command through the dispatcher.

A submission must be answered within 3 seconds, and its answer is where errors go
(`response_action: errors`, shown next to the field), so the command runs before the ack here;
it is one short transaction. A success closes the modal and answers where `/contact` was typed.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App as BoltApp

from bot.dispatcher import DUPLICATE_DELIVERY
from bot.reply import Reply
from bot.slack.actors import REFUSAL
from bot.slack.deliveries import delivery_key
from bot.slack.modals import (
    CONTACT_MODAL,
    check,
    command_line,
    errors_for,
    read_values,
)
from bot.slack.runner import SlackRunner, Where, apology, parse_metadata

log = logging.getLogger(__name__)


def register(bolt: BoltApp, runner: SlackRunner) -> None:
    @bolt.view(CONTACT_MODAL)
    def submit_contact(ack: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        acked = False

        def answer(**kwargs: Any) -> None:
            nonlocal acked
            if not acked:
                acked = True
                ack(**kwargs)

        with runner.guard(body, "the contact modal"):
            try:
                handle(answer, body, view)
            finally:
                if not acked:  # an exception: close the modal; guard apologizes
                    answer()

    def handle(answer: Any, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = parse_metadata(view.get("private_metadata", ""))
        state = (view.get("state") or {}).get("values") or {}
        values = read_values(state)
        where = Where.from_body(body)
        problems = check(values, meta)
        if problems:
            answer(response_action="errors", errors=problems)
            return
        roles = runner.actors.roles(where.user_id)
        if not roles:
            answer(response_action="errors", errors={"name": REFUSAL[:300]})
            return
        line = command_line(values, meta)
        if line is None:
            answer()
            runner.say(where, Reply(text=f"{meta.get('no', 'The contact')}: nothing changed."))
            return
        actor = runner.actors.actor(where.user_id, name=where.user_name, roles=roles)
        reply = runner.dispatch(actor, line, where, delivery_key(body))
        if reply is DUPLICATE_DELIVERY:
            answer()
            return
        if not reply.ok:
            if reply.text.startswith("Sorry, that went wrong"):
                answer()
                runner.say(where, reply)
                return
            answer(response_action="errors", errors=errors_for(reply.text, set(state)))
            return
        answer()
        runner.say(where, reply, command=line)


__all__ = ["apology", "register"]
