"""SIGTERM and SIGINT stop the long-running subcommands (`mail run`, `run`, `slack`)."""

from __future__ import annotations

import os
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


def interrupt_main_process_only() -> None:
    """Ctrl-C interrupts this process, not the workers it forks.

    The terminal sends SIGINT to the whole process group: the CSV import's forked validators
    would each print a KeyboardInterrupt traceback. With this handler (inherited by a fork) a
    child ignores it; the parent gets its KeyboardInterrupt, and leaving the pool ends the
    children."""
    if threading.current_thread() is not threading.main_thread():
        return
    main_pid = os.getpid()

    def handle(*_: object) -> None:
        if os.getpid() == main_pid:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handle)
