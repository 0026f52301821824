"""SIGTERM and SIGINT stop the long-running subcommands (`mail run`, `run`, `slack`)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def stop_on_signals(stop: Callable[[], None], *, interrupt: bool = False) -> None:
    """SIGTERM and SIGINT call `stop`; with `interrupt`, they also break the main thread out of
    a server loop that only a KeyboardInterrupt ends (waitress serves on the main thread).

    Signal handlers can only be installed from the main thread; elsewhere (a test calling
    `main` in a thread) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def handle(*_: object) -> None:
        stop()
        if interrupt:
            raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handle)
