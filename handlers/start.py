"""`/start` (with deep links), `/help`, and the answer to text that is not a command or a number."""

from __future__ import annotations

import html
import re

from telegram import Update

from bot.context import Context
from bot.render.cards import Rendered
from bot.render.commands import render_help
from bot.render.i18n import t
from handlers.audience import lang_of, viewer_of
from handlers.identities import redeem
from handlers.replying import send
from handlers.status import look_up

DEEP_LINK_ITEM = re.compile(r"^p_(?P<term>\d{1,3})-(?P<sitting>\d{1,2})_(?P<number>\d{1,12})$")


async def start_command(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    payload = (context.args or [""])[0]
    if payload.startswith("bind_"):
        await redeem(update, context, payload.removeprefix("bind_"))
        return
    match = DEEP_LINK_ITEM.match(payload)
    if match:
        await look_up(update, context, f"{match['term']}-{match['sitting']}-{match['number']}")
        return
    user = update.effective_user
    name = html.escape(user.first_name) if user else ""
    await send(update, Rendered(t(lang, "welcome", name=name)))


async def help_command(update: Update, context: Context) -> None:
    """Every command the sender's role may use, from the table `set_my_commands` registers."""
    async with context.bot_data.sessionmaker() as session:
        viewer = await viewer_of(update, context, session)
    await send(update, Rendered(render_help(lang_of(update, context), viewer.role)))


async def unknown_command(update: Update, context: Context) -> None:
    await send(update, Rendered(t(lang_of(update, context), "error.unknown_command")))


async def other_text(update: Update, context: Context) -> None:
    await send(update, Rendered(t(lang_of(update, context), "error.text_fallback")))
