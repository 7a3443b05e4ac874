"""The one error handler: log every unexpected error with its update, and tell the user politely."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, TelegramError

from bot.context import Context
from bot.render.i18n import t
from handlers.audience import lang_of

logger = logging.getLogger(__name__)


async def on_error(update: object, context: Context) -> None:
    error = context.error
    if isinstance(error, NetworkError) and not isinstance(error, Forbidden):
        logger.warning("network error talking to Telegram: %s", error)
        return
    logger.error("unhandled error while processing %r", update, exc_info=error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, t(lang_of(update, context), "error.generic"))
        except TelegramError:
            logger.warning("could not tell chat %s about the error", update.effective_chat.id)
