"""Inline keyboards for rendered replies and pushes, built and serialised once per distinct set of buttons.

PTB rebuilds a keyboard's JSON from its button objects on every send, and building those objects is itself
slow (each one validates and freezes). A status card's or a session choice's buttons repeat across look-ups,
and a push's across its recipients. Telegram objects are immutable, so one frozen keyboard per distinct button
set, with its dict computed once, gives PTB exactly what it would have computed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.render.cards import Button, Rendered

__all__ = ["Keyboard", "keyboard"]

# Distinct button sets kept: about 5 KiB each, so at most ~5 MB; more than the numbers of a busy sitting.
CACHED_KEYBOARDS = 1024


class Keyboard(InlineKeyboardMarkup):
    """An InlineKeyboardMarkup whose `to_dict` is computed once, at construction (its buttons never change)."""

    __slots__ = ("_as_dict",)

    def __init__(self, rows: tuple[tuple[Button, ...], ...]) -> None:
        super().__init__([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows])
        self._as_dict = super().to_dict()  # PTB lets private attributes be set on a frozen object

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        # a fresh outer dict, so a caller that adds a key never changes the cached one
        return dict(self._as_dict)


@lru_cache(maxsize=CACHED_KEYBOARDS)
def _keyboard(rows: tuple[tuple[Button, ...], ...]) -> Keyboard:
    return Keyboard(rows)


def keyboard(rendered: Rendered) -> InlineKeyboardMarkup | None:
    """The reply's inline keyboard, or None when it has no buttons."""
    return _keyboard(rendered.buttons) if rendered.buttons else None
