"""`contactbot shell`: the registry at a prompt, or fed one command per line from a script.

In a terminal it is a prompt_toolkit prompt with history and completion (the verbs, then
contacts by find's ranking: bot/shell_completion.py), and it asks
before a destructive command. With standard input from a file or a pipe it reads one command
per line, prints each reply, and never waits for an answer: a command that needs confirmation
must carry `--yes` there.

Input that is not UTF-8 (a `-c` argument or a line of standard input with other bytes) is
refused line by line with a message, never a traceback: standard input is read with
surrogateescape, so one bad line does not stop the lines after it. The history file holds
every line typed (emails and phones included), so it is created readable by its owner only.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterable
from typing import TextIO

from bot.reply import Reply
from bot.runtime import App
from bot.text_render import render_text, terminal_safe
from storage.files import private_dir, private_file

PROMPT = "contactbot> "
EXIT_WORDS = {"exit", "quit", ":q"}
#: What surrogateescape makes of bytes that are not UTF-8.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


def not_utf8_message(line: str) -> str | None:
    """The refusal for a line holding bytes that were not UTF-8, or None when it is text."""
    bad = _NOT_UTF8.search(line)
    if bad is None:
        return None
    byte = ord(bad.group()) - 0xDC00
    return (
        f"Input is not UTF-8 (byte 0x{byte:02x} at character {bad.start() + 1}); "
        "save the file or set the terminal to UTF-8 and type it again. Not done."
    )


def run_line(app: App, line: str, out: TextIO, *, ask: bool) -> bool:
    """Run one command line and print its reply; returns whether it succeeded."""
    refusal = not_utf8_message(line)
    if refusal is not None:
        print(refusal, file=out)
        return False
    reply = app.run(line)
    if reply.confirm is not None:
        if ask and _ask_yes(reply.confirm.question):
            reply = app.run(reply.confirm.command)
        elif ask:  # the question was just asked and answered no
            print("Not done.", file=out)
            return True
        else:
            question = terminal_safe(reply.confirm.question)
            print(f"{question} Not done. Add --yes to run it without asking.", file=out)
            return False
    _print(reply, out)
    return reply.ok


def _print(reply: Reply, out: TextIO) -> None:
    print(render_text(reply), file=out)


def _ask_yes(question: str) -> bool:
    from prompt_toolkit import prompt

    try:
        answer = prompt(f"{terminal_safe(question)} [y/N] ")
    except (EOFError, KeyboardInterrupt):
        return False
    return answer.strip().lower() in {"y", "yes"}


def run_script(app: App, lines: Iterable[str], out: TextIO) -> int:
    """Run commands from a non-terminal stream; exit status 1 when any of them failed."""
    failed = False
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower() in EXIT_WORDS:
            break
        if not run_line(app, line, out, ask=False):
            failed = True
    return 1 if failed else 0


def run_interactive(app: App) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    from bot.shell_completion import shell_completer

    private_dir(app.settings.data_dir)
    history = FileHistory(str(private_file(app.settings.data_dir / "shell_history")))
    completer = shell_completer(app)
    session: PromptSession[str] = PromptSession(history=history, completer=completer)
    print("contactbot shell. Type `help` for the commands, `exit` to leave.")
    while True:
        try:
            line = session.prompt(PROMPT)
        except KeyboardInterrupt:
            continue
        except EOFError:
            return 0
        line = line.strip()
        if not line:
            continue
        if line.lower() in EXIT_WORDS:
            return 0
        run_line(app, line, sys.stdout, ask=True)


def run_shell(app: App, command: str | None = None) -> int:
    if command is not None:
        return 0 if run_line(app, command, sys.stdout, ask=False) else 1
    if sys.stdin.isatty() and sys.stdout.isatty():
        return run_interactive(app)
    return run_script(app, _lenient(sys.stdin), sys.stdout)


def _lenient(stream: TextIO) -> TextIO:
    """`stream` decoded as UTF-8 with surrogateescape, so a line of other bytes reaches
    run_line (which refuses it) instead of raising UnicodeDecodeError mid-script."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # a StringIO in tests: already text
        return stream
    return io.TextIOWrapper(buffer, encoding="utf-8", errors="surrogateescape")
