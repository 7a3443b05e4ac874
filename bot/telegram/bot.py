"""The bot's Bot API client: PTB's ``ExtBot`` plus one lean way to send an HTML message.

Telegram answers ``sendMessage`` with the whole sent Message, and PTB's ``send_message`` turns it back into
objects: the message, its sender and chat, every entity, and every inline button. A status card's choice of
sessions (five buttons) takes PTB about 0.5 ms to rebuild, as long as the rest of the look-up, and the
chat replies never read it. ``send_html`` sends the same request and keeps only the new message's id.

Everything else is PTB's own path: defaults, the rate limiter (``ExtBot._do_post``), the request, and the
mapping of Bot API errors to ``telegram.error`` exceptions. The one thing ``send_message`` does that this does
not is swapping in arbitrary callback data (``ExtBot(arbitrary_callback_data=...)``), which the bot never enables:
its buttons carry short ``kind:id`` strings.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.ext import ExtBot

__all__ = ["ProposalBot", "reply_html"]


class ProposalBot(ExtBot[int]):  # int: AIORateLimiter's per-call argument (max retries)
    """PTB's extended bot, with ``send_html``."""

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
