"""A progress bar for long CLI jobs (the CSV import): tqdm on a terminal, nothing elsewhere.

The bar goes to standard error and only when that is a terminal, so scripts, pipes, cron and
CI logs never get carriage-return noise; the store only sees the small `Progress` protocol of
storage.importing and knows nothing of tqdm.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

from storage.importing.progress import NoProgress, Progress


class TqdmProgress:
    """One tqdm bar per stage ("Checking companies", "Writing", …)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.bar: tqdm | None = None  # type: ignore[type-arg]

    def stage(self, description: str, total: int) -> None:
        self.close()
        self.bar = tqdm(
            total=total, desc=description, unit=" rows", file=self.stream, dynamic_ncols=True
        )

    def advance(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextmanager
def progress_bar(stream: TextIO | None = None) -> Iterator[Progress]:
    """Yield a Progress that draws on `stream` (standard error) when it is a terminal."""
    stream = stream if stream is not None else sys.stderr
    if not stream.isatty():
        yield NoProgress()
        return
    progress = TqdmProgress(stream)
    try:
        yield progress
    finally:
        progress.close()
