"""The transport-neutral reply a handler returns; each adapter renders it its own way
(plain text in the shell, Block Kit in Slack).

A Reply never holds markup: text is the text people typed or the bot wrote, and adapters escape
it for their medium.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Button:
    """A button that runs a registry command when pressed, with the presser's permissions."""

    label: str
    command: str
    style: str | None = None  # "primary" | "danger" | None


@dataclass(frozen=True)
class Field:
    label: str
    value: str


@dataclass(frozen=True)
class Card:
    """A record shown as a card: a title, labelled fields and a context line."""

    title: str
    fields: tuple[Field, ...] = ()
    context: str = ""
    subtitle: str = ""
    actions: tuple[Button, ...] = ()
    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (heading, lines)


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Confirmation:
    """Asked before a destructive command runs; `command` is what runs on yes."""

    question: str
    command: str


@dataclass(frozen=True)
class Reply:
    text: str = ""
    cards: tuple[Card, ...] = ()
    table: Table | None = None
    buttons: tuple[Button, ...] = ()
    ok: bool = True
    confirm: Confirmation | None = None
    shareable: bool = False  # Slack offers "share in channel" for find/show results
    notes: tuple[str, ...] = field(default=())  # extra lines after the main content

    @classmethod
    def error(cls, text: str) -> Reply:
        return cls(text=text, ok=False)

    def with_notes(self, *notes: str) -> Reply:
        return replace(self, notes=(*self.notes, *notes))
