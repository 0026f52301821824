"""`ConfigError`, in a module of its own so every part of the configuration can raise it.

bot.config reads the file and hands the `[mail]` table to its parser (bot.mail.config), and the
plugins parse their own tables (`[dupes]`: plugins.digest_settings); those parsers raise this
error, so they import it from here rather than from bot.config, which imports `[mail]`'s.
bot.config re-exports it: callers keep writing `from bot.config import ConfigError`.
"""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration that cannot be used; the message names the key and what was expected."""
