"""`/mine`, `/due` and `/overdue`: item lists for deputies, unit staff and admins (with dead pushes for admins)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import Context
from bot.domain.lifecycle import OPEN_STATES
from bot.render.cards import Rendered, esc, render_list
from bot.render.i18n import t
from handlers.audience import current_account, is_admin, lang_of, viewer_of
from handlers.replying import send
from storage.listings import list_cards
from storage.outbox import list_dead
from storage.proposals import find_unit_by_id

OPEN = frozenset(s.value for s in OPEN_STATES)
DUE_WINDOW = timedelta(days=30)


async def mine_command(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    deps = context.bot_data
    today = deps.clock.now().astimezone(deps.settings.tz).date()
    async with deps.sessionmaker() as session:
        viewer = await viewer_of(update, context, session)
        if viewer.role == "deputy" and viewer.deputy_id is not None:
            cards = await list_cards(session, deputy_id=viewer.deputy_id)
            title = t(lang, "list.mine", count=len(cards))
        elif viewer.role == "unit" and viewer.unit_id is not None:
            cards = await list_cards(session, unit_id=viewer.unit_id)
            unit = await find_unit_by_id(session, unit_id=viewer.unit_id)
            title = t(lang, "list.unit", unit=esc(unit.name if unit else ""), count=len(cards))
        else:
            cards, title = [], None
    if title is None:
        await send(update, Rendered(t(lang, "list.not_bound")))
        return
    await send(update, render_list(title, cards, today=today, lang=lang, unit_id=viewer.unit_id))


@dataclass(frozen=True, slots=True)
class _Lister:
    """Who may ask for /due and /overdue: an admin (every unit) or a unit's staff."""

    admin: bool
    unit_id: int | None


async def _lister(update: Update, context: Context, session: AsyncSession) -> _Lister | None:
    """The sender as an admin or as unit staff, or None for anyone else."""
    if await is_admin(update, context, session):
        await current_account(update, context, session)  # admin pushes need the admin's chat
        return _Lister(admin=True, unit_id=None)
    viewer = await viewer_of(update, context, session)
    if viewer.role == "unit" and viewer.unit_id is not None:
        return _Lister(admin=False, unit_id=viewer.unit_id)
    return None


async def due_command(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    deps = context.bot_data
    today = deps.clock.now().astimezone(deps.settings.tz).date()
    async with deps.sessionmaker.begin() as session:
        who = await _lister(update, context, session)
        if who is None:  # nothing was written: the refusal may go from inside the transaction
            await send(update, Rendered(t(lang, "list.unit_or_admin", command="/due")))
            return
        due_before = today + DUE_WINDOW
        cards = await list_cards(session, unit_id=who.unit_id, states=OPEN, due_from=today, due_before=due_before)
    title = t(lang, "list.due", count=len(cards))
    await send(update, render_list(title, cards, today=today, lang=lang, unit_id=who.unit_id))


async def overdue_command(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    deps = context.bot_data
    today = deps.clock.now().astimezone(deps.settings.tz).date()
    async with deps.sessionmaker.begin() as session:
        who = await _lister(update, context, session)
        if who is None:  # nothing was written: the refusal may go from inside the transaction
            await send(update, Rendered(t(lang, "list.unit_or_admin", command="/overdue")))
            return
        cards = await list_cards(session, unit_id=who.unit_id, states=OPEN, due_before=today)
        dead = await list_dead(session, limit=20) if who.admin else []
    title = t(lang, "list.overdue", count=len(cards))
    await send(update, render_list(title, cards, today=today, lang=lang, unit_id=who.unit_id))
    if dead:
        lines = [t(lang, "list.dead", count=len(dead))]
        lines += [
            t(
                lang,
                "list.dead_line",
                id=d.id,
                chat=d.chat_id,
                kind=esc(d.kind),
                attempts=d.attempts,
                error=esc((d.last_error or "")[:80]),
            )
            for d in dead
        ]
        await send(update, Rendered("\n".join(lines)))
