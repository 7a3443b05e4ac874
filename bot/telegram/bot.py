"""The bot's Bot API client: PTB's ``ExtBot`` plus one lean way to send an HTML message.

Telegram answers ``sendMessage`` with the whole sent Message, and PTB's ``send_message`` turns it back into
objects: the message, its sender and chat, every entity, and every inline button. A status card's choice of
sessions (five buttons) takes PTB about 0.5 ms to rebuild, as long as the rest of the look-up, and the
chat replies never read it. ``send_html`` sends the same request and keeps only the new message's id.

Everything else is PTB's own path: defaults, the rate limiter (``ExtBot._do_post``), the request, and the
mapping of Bot API errors to ``telegram.error`` exceptions. The one thing ``send_message`` does that this does
not is swapping in arbitrary callback data (``ExtBot(arbitrary_callback_data=...)``), which the bot never enables:
its buttons carry short ``kind:id`` strings.

A ``BadRequest`` (a 400) is our bug, and PTB's exception names neither the method nor what was sent. Every call
that Telegram refuses with a 400 has its ``RefusedCall`` (the method and each parameter's size, never its
content) attached, for the error handler to log (``refused_call``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardMarkup, Message, TelegramObject
from telegram._utils.defaultvalue import DEFAULT_NONE  # PTB's own marker for "not given"; pinned to 22.x
from telegram._utils.types import JSONDict, ODVInput
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ExtBot

__all__ = ["ProposalBot", "RefusedCall", "refused_call", "reply_html"]

_REFUSED_ATTR = "_proposal_bot_refused_call"


@dataclass(frozen=True, slots=True)
class RefusedCall:
    """A Bot API call Telegram answered with 400: the method and the size of each parameter, in UTF-8 bytes."""

    method: str
    sizes: tuple[tuple[str, int], ...]

    def describe(self) -> str:
        """``sendMessage(chat_id=10, text=5123, reply_markup=840)``: sizes only, so no content reaches a log."""
        return f"{self.method}({', '.join(f'{name}={size}' for name, size in self.sizes)})"


def refused_call(error: BaseException) -> RefusedCall | None:
    """The call behind a ``BadRequest`` raised by ``ProposalBot``; None for any other error."""
    call = getattr(error, _REFUSED_ATTR, None)
    return call if isinstance(call, RefusedCall) else None


def _size(value: object) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, TelegramObject):
        return len(value.to_json().encode("utf-8"))
    try:
        return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8"))
    except (TypeError, ValueError):  # an upload or another object JSON cannot take: its repr is a fair size
        return len(repr(value))


class ProposalBot(ExtBot[int]):  # int: AIORateLimiter's per-call argument (max retries)
    """PTB's extended bot, with ``send_html``, and 400s that say which call they refused."""

    async def _do_post(
        self,
        endpoint: str,
        data: JSONDict,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> bool | JSONDict | list[JSONDict]:
        try:
            return await super()._do_post(
                endpoint,
                data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        except BadRequest as exc:
            sizes = tuple((str(name), _size(value)) for name, value in data.items())
            setattr(exc, _REFUSED_ATTR, RefusedCall(endpoint, sizes))
            raise

    async def send_html(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: InlineKeyboardMarkup | None = None,
        message_thread_id: int | None = None,
        business_connection_id: str | None = None,
        direct_messages_topic_id: int | None = None,
    ) -> int:
        """``sendMessage`` with ``parse_mode=HTML``; returns the sent message's id without parsing the rest."""
        data: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text,
            "parse_mode": ParseMode.HTML,
            "reply_markup": reply_markup,
            "message_thread_id": message_thread_id,
            "business_connection_id": business_connection_id,
            "direct_messages_topic_id": direct_messages_topic_id,
        }
        # _post is PTB's one funnel for every method (defaults, None-dropping, rate limiter, request); pinned 22.x
        result = await self._post("sendMessage", data)
        return int(result["message_id"])


async def reply_html(message: Message, text: str, reply_markup: InlineKeyboardMarkup | None = None) -> int:
    """Answer ``message`` in its chat (and forum topic) as ``Message.reply_text`` would, without a quote."""
    bot = message.get_bot()
    if not isinstance(bot, ProposalBot):
        raise TypeError(f"reply_html needs the application's ProposalBot (bot.app), not {type(bot).__name__}")
    thread_id = message.message_thread_id if message.is_topic_message else None
    topic = message.direct_messages_topic.topic_id if message.direct_messages_topic else None
    return await bot.send_html(
        message.chat_id,
        text,
        reply_markup=reply_markup,
        message_thread_id=thread_id,
        business_connection_id=message.business_connection_id,
        direct_messages_topic_id=topic,
    )
