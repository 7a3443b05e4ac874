"""Button presses: the callback data each button carries, checked on the server before anything is looked up.

A client can send any callback data, so none is trusted:
- every pattern the handler table registers is here, and each id in it is digits only and bounded: one beyond
  the database's integer range (a forged 30-digit id) matches no pattern, and `pressed` checks the value too;
- each handler then checks that the target exists and asks `bot/domain/access` whether the presser may see it or
  act on it;
- a press that matches no pattern (forged, or a button from before a change of format) is answered by
  `expired_button`: "this button has expired", in the user's language.
"""

from __future__ import annotations

import logging
from typing import Final

from telegram import CallbackQuery, Update
from telegram.error import BadRequest

from bot.context import Context
from bot.render.cards import Rendered
from bot.render.i18n import t
from handlers.audience import lang_of
from handlers.replying import send

logger = logging.getLogger(__name__)

__all__ = [
    "ADMIN",
    "AUDIT",
    "CARD",
    "FOLLOW",
    "FOLLOW_CHOICE",
    "FULL_REPLY",
    "IMPORT",
    "LIFECYCLE_CHOICE",
    "LIFECYCLE_CONFIRM",
    "MAX_ID",
    "PREVIEW",
    "RATE",
    "RATE_SKIP",
    "REPLY_ITEM",
    "SEARCH_PAGE",
    "SETTINGS",
    "TIMELINE",
    "UNFOLLOW",
    "answer_press",
    "bounded_id",
    "expired_button",
    "pressed",
]

#: Database ids are PostgreSQL `integer`s: at most 2**31 - 1, ten digits.
MAX_ID: Final = 2**31 - 1
_ID: Final = r"\d{1,10}"
#: A letter draft's key (bot/domain/drafts.LetterDraft.key).
_DRAFT: Final = r"[A-Za-z0-9_-]{1,16}"

REPLY_ITEM: Final = rf"^rpi:{_ID}$"
PREVIEW: Final = rf"^rp:{_DRAFT}:(ok|replace|edit|cancel|f:[a-z_]{{1,24}})$"
RATE: Final = rf"^rate:{_ID}:[sbu]$"
RATE_SKIP: Final = rf"^rsk:{_ID}$"
LIFECYCLE_CHOICE: Final = rf"^lcp:\d{{1,12}}:{_ID}$"  # a pending action's token, then the item chosen
LIFECYCLE_CONFIRM: Final = r"^lc:\d{1,12}:(ok|ret|x)$"
IMPORT: Final = r"^imp:\d{1,12}:(ok|clear|x)$"  # a chat import draft of this user, then the choice
AUDIT: Final = r"^au:\d{1,9}(:\d{1,6})?$"  # an item id (0: every item) below 2**31, then a page
ADMIN: Final = r"^adm:(x|[gr]:\d{1,16})$"  # Telegram user ids: handlers.admins bounds them to 52 bits
SETTINGS: Final = r"^set:(lang|digest|quiet):[\w-]{1,16}$"
CARD: Final = rf"^card:{_ID}$"
FOLLOW: Final = rf"^fo:{_ID}$"
FOLLOW_CHOICE: Final = rf"^fi:(item|unit|session):{_ID}$"
UNFOLLOW: Final = rf"^uf:({_ID}|(item|unit|session):{_ID}|keyword:.{{1,60}})$"
TIMELINE: Final = rf"^tl:{_ID}$"
FULL_REPLY: Final = rf"^full:{_ID}$"
SEARCH_PAGE: Final = r"^sr:\d{1,6}:\d{1,4}$"  # a search remembered in this chat (handlers.search), then a page


def bounded_id(text: str) -> int | None:
    """A database id from callback data or a message: ASCII digits, 1 … MAX_ID; anything else is None."""
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


async def expired(update: Update, context: Context) -> None:
    """Answer a press whose button no longer means anything: a toast, and a line in the chat."""
    text = t(lang_of(update, context), "button.expired")
    query = update.callback_query
    if query is not None:
        await answer_press(query, text)
    await send(update, Rendered(text))


async def answer_press(query: CallbackQuery, text: str | None = None) -> None:
    """Stop the client's spinner, with an optional notification.

    A press the bot sees late (pressed while it was stopped or busy) is answered with 400 "query is too old";
    the press still does its work, and only this answer is skipped.
    """
    try:
        await query.answer(text)
    except BadRequest as exc:
        if "query is too old" not in exc.message.lower():
            raise
        logger.info("button press %s answered too late; its action goes on", query.id)


async def pressed(update: Update, context: Context, *, ids: tuple[int, ...] = ()) -> list[str] | None:
    """A button press: answer it (so the client stops its spinner) and return its data split at ":".

    The parts at the positions `ids` must be database ids within bounds; if one is not, the press is answered
    as expired and None is returned.
    """
    query = update.callback_query
    if query is None or query.data is None:
        return None
    data = query.data.split(":")
    if any(i >= len(data) or bounded_id(data[i]) is None for i in ids):
        await expired(update, context)
        return None
    await answer_press(query)
    return data


async def expired_button(update: Update, context: Context) -> None:
    """The last handler of the table: a press that matches no pattern."""
    await expired(update, context)
