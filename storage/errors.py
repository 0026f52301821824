"""Errors that carry a message meant for the person who typed the command.

A `UserError` is raised by a business rule when input is wrong; adapters show its text as it
is (no traceback) and the transaction it happened in is rolled back, so nothing half-writes.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input from a person: the message says what is wrong and what to type instead."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(UserError):
    """A contact, code or record that the person named does not exist."""


class Ambiguous(UserError):
    """A name that matches more than one contact; the message lists the candidates."""
