"""The one item a command names (`/reply 018`, `/extend 018 …`): a look-up as /status reads it, or a choice."""

from __future__ import annotations

import html

from telegram import Update

from bot.context import Context
from bot.domain.card import Card
from bot.domain.lookup import parse_lookup
from bot.render.cards import Button, Rendered, render_choices
from bot.render.i18n import t
from handlers.audience import lang_of
from handlers.replying import send


async def find_item(update: Update, context: Context, text: str, *, prefix: str, usage: str) -> Card | None:
    """The card `text` names; when the number exists in several sittings, buttons `<prefix>:<id>` to choose one.

    Answers the user itself (usage, unknown number, the choice) whenever it returns None.
    """
    lang = lang_of(update, context)
    lookup = parse_lookup(text)
    if lookup is None:
        await send(update, Rendered(t(lang, usage)))
        return None
    cards = await context.bot_data.cards.find(lookup.number_key, term=lookup.term, sitting=lookup.sitting)
    if not cards:
        await send(update, Rendered(t(lang, "status.unknown", number=html.escape(lookup.number))))
        return None
    if len(cards) > 1:
        choices = render_choices(cards, number=lookup.number, lang=lang)
        rows = tuple(tuple(Button(b.label, f"{prefix}:{b.data.split(':')[1]}") for b in row) for row in choices.buttons)
        await send(update, Rendered(choices.html, rows))
        return None
    return cards[0]
