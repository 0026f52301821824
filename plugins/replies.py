"""Reply text that several command modules share."""

from __future__ import annotations

from storage.contacts import ChangeResult


def changes_text(result: ChangeResult) -> str:
    """What a contact's change moved on, for a reply: persons by inheritance, linked records
    by sync (empty when nothing moved)."""
    text = ""
    if result.pushed:
        pushed = "; ".join(f"{no} ({', '.join(names)})" for no, names in result.pushed.items())
        text += f" Persons updated too: {pushed}."
    if result.synced:
        synced = "; ".join(f"{rec} ({', '.join(names)})" for rec, names in result.synced.items())
        text += f" Linked records updated too: {synced}."
    return text
