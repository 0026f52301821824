"""Pausing Python's cyclic garbage collector around bulk work.

An import or a scan allocates millions of small objects (rows, keys, spilled batches) that
form no cycles; each allocation threshold the collector crosses makes it walk every object
still alive, and that walk grows with the work: it was a fifth of an import's write stage
(py-spy, 200,000 rows). Reference counting still frees everything as usual; only cycles wait
until the collector runs again.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off within the block (nested blocks included), as it was after it."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


__all__ = ["collector_paused"]
