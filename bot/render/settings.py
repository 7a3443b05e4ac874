"""The /settings card: the current language, digest mode and quiet hours, with one row of choices for each."""

from __future__ import annotations

from datetime import time
from typing import Protocol

from bot.render.cards import Button, Rendered
from bot.render.i18n import t

__all__ = ["DIGESTS", "LANGUAGES", "QUIET", "Preferences", "render_settings"]


class Preferences(Protocol):
    """What the card shows of an account (storage's Account has these)."""

    @property
    def language(self) -> str | None: ...
    @property
    def digest_mode(self) -> str: ...
    @property
    def quiet_start(self) -> time | None: ...
    @property
    def quiet_end(self) -> time | None: ...


LANGUAGES = ("auto", "zh", "en")
DIGESTS = ("instant", "daily", "weekly")
# No stored quiet hours means the jurisdiction's default (21:00-08:00); 00:00-00:00 means "none".
QUIET = {"21-8": (time(21), time(8)), "22-7": (time(22), time(7)), "off": (time(0), time(0))}


def _quiet_key(account: Preferences) -> str:
    if account.quiet_start is None or account.quiet_end is None:
        return "21-8"
    for key, value in QUIET.items():
        if (account.quiet_start, account.quiet_end) == value:
            return key
    return "custom"


def _quiet_label(lang: str, key: str) -> str:
    start, end = QUIET[key]
    if key == "off":
        return t(lang, "settings.quiet.off")
    return t(lang, "settings.quiet.range", start=start.strftime("%H:%M"), end=end.strftime("%H:%M"))


def _mark(label: str, chosen: bool) -> str:
    return f"✓ {label}" if chosen else label


def render_settings(account: Preferences, lang: str) -> Rendered:
    """The settings card: current values, and one row of choices per preference (the current one ticked)."""
    language = account.language or "auto"
    quiet = _quiet_key(account)
    text = t(
        lang,
        "settings.title",
        language=t(lang, f"settings.language.{language}"),
        digest=t(lang, f"settings.digest.{account.digest_mode}"),
        quiet=_quiet_label(lang, quiet) if quiet in QUIET else f"{account.quiet_start}–{account.quiet_end}",
    )
    return Rendered(
        text,
        (
            tuple(Button(_mark(t(lang, f"settings.language.{v}"), v == language), f"set:lang:{v}") for v in LANGUAGES),
            tuple(
                Button(_mark(t(lang, f"settings.digest.{v}"), v == account.digest_mode), f"set:digest:{v}")
                for v in DIGESTS
            ),
            tuple(Button(_mark(_quiet_label(lang, v), v == quiet), f"set:quiet:{v}") for v in QUIET),
        ),
    )
