"""`/status`, bare numbers, and the status card's buttons (choose session, timeline, full reply)."""

from __future__ import annotations

import html
import io

from telegram import Update

from bot.context import Context
from bot.domain.access import PUBLIC, may_read_reply_text, may_see_item, may_see_rating_reason, may_see_timeline
from bot.domain.card import Card
from bot.domain.lookup import parse_lookup
from bot.render.cards import (
    Rendered,
    TimelineEntry,
    needs_viewer,
    render_card,
    render_choices,
    render_timeline,
)
from bot.render.i18n import t
from bot.telegram.addressing import addressed_text
from handlers.audience import lang_of, viewer_of
from handlers.buttons import pressed
from handlers.replying import send
from storage.proposals import list_events
from storage.replies import find_current_reply

INLINE_REPLY_LIMIT = 1500
MAX_CHOICES = 5  # longer letters go as a document, as printed


async def _card_view(update: Update, context: Context, card: Card) -> Rendered:
    """The card as this user may see it; the database is read only when the card has something to withhold."""
    deps = context.bot_data
    viewer = PUBLIC
    if needs_viewer(card):
        async with deps.sessionmaker() as session:
            viewer = await viewer_of(update, context, session)
    today = deps.clock.now().astimezone(deps.settings.tz).date()
    return render_card(card, today=today, lang=lang_of(update, context), viewer=viewer, calendar=deps.calendar)


async def look_up(update: Update, context: Context, text: str) -> None:
    """Answer a look-up: a card, a choice of sessions, or a clear message."""
    lang = lang_of(update, context)
    lookup = parse_lookup(text)
    if lookup is None:
        await send(update, Rendered(t(lang, "status.malformed", text=html.escape(text[:40]))))
        return
    reader = context.bot_data.cards
    # heads first: most numbers exist in several sessions, and a choice needs no full card
    heads = await reader.heads(lookup.number_key, term=lookup.term, sitting=lookup.sitting, limit=MAX_CHOICES + 1)
    card = await reader.by_id(heads[0]["id"]) if len(heads) == 1 else None
    if len(heads) > 1:
        # newest sessions first; past a handful, asking for the sitting beats a wall of buttons
        more = len(heads) > MAX_CHOICES
        await send(update, render_choices(heads[:MAX_CHOICES], number=lookup.number, lang=lang, more=more))
    elif card is not None:
        await send(update, await _card_view(update, context, card))
    else:
        if lookup.term is not None:
            message = t(lang, "status.unknown_session", term=lookup.term, sitting=lookup.sitting, number=lookup.number)
        else:
            message = t(lang, "status.unknown", number=html.escape(lookup.number))
        await send(update, Rendered(message))


async def status_command(update: Update, context: Context) -> None:
    text = " ".join(context.args or []).strip()
    if not text:
        await send(update, Rendered(t(lang_of(update, context), "status.usage")))
        return
    await look_up(update, context, text)


async def bare_number(update: Update, context: Context) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await look_up(update, context, addressed_text(message))


async def _card_or_gone(update: Update, context: Context, proposal_id: int) -> Card | None:
    card = await context.bot_data.cards.by_id(proposal_id)
    if card is None:
        await send(update, Rendered(t(lang_of(update, context), "status.gone")))
    return card


async def card_button(update: Update, context: Context) -> None:
    """`card:<id>`: the card chosen among several sessions."""
    data = await pressed(update, context, ids=(1,))
    if data is None:
        return
    card = await _card_or_gone(update, context, int(data[1]))
    if card is not None:
        await send(update, await _card_view(update, context, card))


async def timeline_button(update: Update, context: Context) -> None:
    """`tl:<id>`: the item's event log."""
    data = await pressed(update, context, ids=(1,))
    if data is None:
        return
    proposal_id = int(data[1])
    card = await _card_or_gone(update, context, proposal_id)
    if card is None:
        return
    deps = context.bot_data
    lang = lang_of(update, context)
    async with deps.sessionmaker() as session:
        viewer = await viewer_of(update, context, session)
        if not may_see_timeline(card, viewer):  # the history of a non-public item is non-public
            await send(update, Rendered(t(lang, "timeline.withheld")))
            return
        events = await list_events(session, proposal_id=proposal_id)
    entries = [TimelineEntry(e.at, e.action, e.before_state, e.after_state, e.detail or {}) for e in events]
    reasons = may_see_rating_reason(card, viewer)
    await send(update, render_timeline(card["number"], entries, lang=lang, tz=deps.settings.tz, notes=reasons))


async def full_reply_button(update: Update, context: Context) -> None:
    """`full:<id>`: the reply letter's text, inline when short, as a document when long."""
    data = await pressed(update, context, ids=(1,))
    if data is None:
        return
    lang = lang_of(update, context)
    proposal_id = int(data[1])
    card = await _card_or_gone(update, context, proposal_id)
    if card is None:
        return
    deps = context.bot_data
    async with deps.sessionmaker() as session:
        viewer = await viewer_of(update, context, session)
        if not may_see_item(card, viewer):  # not even whether it has a reply
            await send(update, Rendered(t(lang, "card.item_withheld")))
            return
        reply = await find_current_reply(session, proposal_id=proposal_id, with_file=True)
        withheld = reply is not None and not may_read_reply_text(card, viewer)
    if reply is None:
        await send(update, Rendered(t(lang, "reply.none")))
        return
    if withheld:
        await send(update, Rendered(t(lang, "reply.withheld")))
        return
    message = update.effective_message
    if message is None:
        return
    if len(reply.body) <= INLINE_REPLY_LIMIT:
        await send(update, Rendered(html.escape(reply.body)))
        return
    name = reply.file_name or f"reply-{card['number']}.txt"
    letter = reply.file_data if reply.file_data else reply.body.encode("utf-8")
    await message.reply_document(
        document=io.BytesIO(letter), filename=name, caption=t(lang, "reply.full_caption", number=card["number"])
    )
