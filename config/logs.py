"""Logging for the command line: one format, quiet libraries, and secrets redacted from every line.

The token travels inside every Bot API URL (``/bot<token>/getMe``) and PTB names it in its own messages ("The
token `…` was rejected"), so no call site can be trusted to leave it out. Instead a filter on the root logger's
handlers rewrites each record that reaches them, whichever logger made it, before it is formatted: the message,
its arguments, a traceback and a stack are all searched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import quote

from config.settings import Settings

__all__ = ["REDACTED", "SecretFilter", "configure_logging", "secrets_of"]

REDACTED = "***"
MIN_SECRET = 4
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Libraries whose INFO lines are noise (httpx prints every request URL, which carries the token).
NOISY = ("httpx", "httpcore", "jieba", "apscheduler", "alembic")


class SecretFilter(logging.Filter):
    """Replaces each secret in a record (message, arguments, traceback, stack) with ``***``; drops nothing."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__("secrets")
        # shorter ones would blank out ordinary words: a 3-character password is no secret anyway
        variants = {v for s in secrets if len(s) >= MIN_SECRET for v in (s, quote(s, safe=""))}
        # longest first, so a secret that contains another is replaced whole
        self.secrets = tuple(sorted(variants, key=len, reverse=True))

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def secrets_of(settings: Settings) -> list[str]:
    """What must never be logged: the bot token, the webhook secret and the database password."""
    found = [settings.token_value or ""]
    if settings.webhook_secret is not None:
        found.append(settings.webhook_secret.get_secret_value())
    password = _password(settings.database_url)
    if password:
        found.append(password)
    return [s for s in found if s]


def _password(url: str) -> str | None:
    """The password of ``scheme://user:password@host/db``, parsed by hand: config stays free of SQLAlchemy."""
    _, sep, rest = url.partition("://")
    credentials, at, _ = rest.rpartition("@")
    if not sep or not at:
        return None
    _, colon, password = credentials.partition(":")
    return password if colon and password else None


def configure_logging(settings: Settings, *, console: bool) -> SecretFilter:
    """The root handler with the house format at the configured level (WARNING in a console chat, unless DEBUG).

    Every handler of the root logger gets the secret filter, which is returned for tests and for handlers added
    later.
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format=FORMAT)
    level = getattr(logging, settings.log_level)
    if console and settings.log_level != "DEBUG":
        level = logging.WARNING  # the console chat prints the bot's messages, not logs
    root.setLevel(level)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    secret_filter = SecretFilter(secrets_of(settings))
    for handler in root.handlers:
        for old in [f for f in handler.filters if isinstance(f, SecretFilter)]:
            handler.removeFilter(old)
        handler.addFilter(secret_filter)
    return secret_filter
