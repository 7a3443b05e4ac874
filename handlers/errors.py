"""The one error handler: tell Telegram's errors apart, log each as what it is, and apologise only where it helps.

PTB derives ``BadRequest`` and ``TimedOut`` from ``NetworkError``, so the order of the checks matters:

- ``Forbidden`` (403): the user blocked the bot, or it left the group. Logged at info; nothing is sent there,
  since every message to that chat would fail the same way.
- ``RetryAfter`` (429): Telegram asks to slow down. The reply is not durable (bot/telegram/pacing.py); nothing
  more is sent now, which would only meet the same wall.
- ``ChatMigrated``: the group became a supergroup; the next update comes from the new chat.
- ``BadRequest`` "message is not modified": a press that redraws a message as it already is (the user chose
  the option already chosen). Nothing is wrong; logged at info.
- Any other ``BadRequest`` (400): our bug. Logged as an error with the method and its parameters' sizes (never their
  content, which may be private), and the user gets a short apology.
- ``TimedOut`` and other ``NetworkError``s: Telegram could not be reached or did not answer in time (the reply
  may even have arrived). A warning; an apology would travel the same broken road.
- Anything else is a bug in the bot: logged with its traceback and the update, and the user gets an apology.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.context import Context
from bot.render.i18n import t
from bot.telegram.bot import refused_call
from handlers.audience import lang_of

logger = logging.getLogger(__name__)

_NOT_MODIFIED = "message is not modified"


async def on_error(update: object, context: Context) -> None:
    error = context.error
    chat_id = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
    if isinstance(error, Forbidden):
        logger.info("chat %s does not take messages from the bot: %s", chat_id, error.message)
        return
    if isinstance(error, RetryAfter):
        logger.warning(
            "Telegram asks to slow down (retry after %s); a reply to chat %s was dropped", _after(error), chat_id
        )
        return
    if isinstance(error, ChatMigrated):
        logger.warning("chat %s became the supergroup %s; a reply to it was dropped", chat_id, error.new_chat_id)
        return
    if isinstance(error, BadRequest) and _NOT_MODIFIED in error.message.lower():
        logger.info("a redraw of a message in chat %s changed nothing", chat_id)
        return
    if isinstance(error, BadRequest):  # before NetworkError, which it derives from
        call = refused_call(error)
        logger.error(
            "Telegram refused %s while processing chat %s: %s",
            call.describe() if call is not None else "a call",
            chat_id,
            error.message,
            exc_info=error,
        )
    elif isinstance(error, TimedOut):
        logger.warning("Telegram did not answer in time (chat %s): %s", chat_id, error.message)
        return
    elif isinstance(error, NetworkError):
        logger.warning("network error talking to Telegram (chat %s): %s", chat_id, error.message)
        return
    else:
        logger.error("unhandled error while processing %r", update, exc_info=error)
    if isinstance(update, Update) and chat_id is not None:
        await _apologise(update, context, chat_id)


async def _apologise(update: Update, context: Context, chat_id: int) -> None:
    try:
        await context.bot.send_message(chat_id, t(lang_of(update, context), "error.generic"))
    except TelegramError as exc:  # the apology is a courtesy: its own failure is only worth a line
        logger.warning("could not tell chat %s about the error: %s", chat_id, exc)


def _after(error: RetryAfter) -> str:
    seconds = error.retry_after
    return f"{seconds.total_seconds() if not isinstance(seconds, int) else seconds:.0f} s"
