"""How handlers answer: replies to the update's message, split at Telegram's length limit (presses: buttons)."""

from __future__ import annotations

from telegram import Update

from bot.render.cards import Rendered, split_message
from bot.telegram.bot import reply_html
from bot.telegram.keyboards import keyboard


async def send(update: Update, rendered: Rendered) -> None:
    """Reply in the update's chat; a long text goes in several messages, the buttons under the last one."""
    message = update.effective_message
    if message is None:
        return
    chunks = split_message(rendered.html)
    for i, chunk in enumerate(chunks):
        markup = keyboard(rendered) if i == len(chunks) - 1 else None
        await reply_html(message, chunk, markup)
