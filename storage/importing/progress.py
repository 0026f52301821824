"""What an import (or a scan) reports while it runs: a terminal shows a bar
(bot/cli/progress.py), elsewhere nothing."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """What the import reports while it runs (a terminal shows a bar; elsewhere nothing)."""

    def stage(self, description: str, total: int) -> None: ...

    def advance(self, count: int) -> None: ...


class NoProgress:
    def stage(self, description: str, total: int) -> None:
        pass

    def advance(self, count: int) -> None:
        pass
