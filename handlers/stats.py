"""`/stats [term-sitting]`: a PNG chart and a short table of how the items are handled, per lead unit.

Admins see every unit; unit staff see their own unit's counts only (the access policy, `Action.stats`); anyone
else is refused and nothing is written. Without a sitting the latest one is counted. The chart is drawn in a
worker thread so the event loop never waits on matplotlib.
"""

from __future__ import annotations

import asyncio

from telegram import Update

from bot.context import Context
from bot.domain.access import Action
from bot.domain.lookup import parse_sitting
from bot.render.cards import Rendered
from bot.render.i18n import t
from bot.render.stats import render_stats_chart, render_stats_table, stats_title
from handlers.audience import admitted, lang_of, viewer_of
from handlers.replying import send
from storage.proposals import latest_session, list_sessions_of
from storage.stats import load_stats


async def stats_command(update: Update, context: Context) -> None:
    """`/stats` (the latest sitting) or `/stats 17-5`: the chart as a photo, then the table."""
    message = update.effective_message
    if message is None or not await admitted(update, context, Action.stats, "/stats", refusal="auth.stats_only"):
        return
    deps = context.bot_data
    lang = lang_of(update, context)
    text = " ".join(context.args or []).strip()
    today = deps.clock.now().astimezone(deps.settings.tz).date()
    async with deps.sessionmaker() as session:
        viewer = await viewer_of(update, context, session)
        if text:
            key = parse_sitting(text)
            if key is None:
                await send(update, Rendered(t(lang, "stats.usage")))
                return
        else:
            latest = await latest_session(session)
            if latest is None:
                await send(update, Rendered(t(lang, "stats.nothing")))
                return
            key = (latest.term, latest.sitting)
        session_ids = [s.id for s in await list_sessions_of(session, term=key[0], sitting=key[1])]
        if not session_ids:
            await send(update, Rendered(t(lang, "stats.no_sitting", term=key[0], sitting=key[1])))
            return
        unit_id = None if viewer.admin else viewer.unit_id
        report = await load_stats(session, today=today, session_ids=session_ids, unit_id=unit_id)
    title = stats_title(t(lang, "stats.scope", term=key[0], sitting=key[1]), today, lang)
    chart = await asyncio.to_thread(render_stats_chart, report, title=title, lang=lang) if report.units else None
    if chart is not None:
        await message.reply_photo(photo=chart, filename="stats.png", caption=title)
    await send(update, render_stats_table(report, title=title, lang=lang, chart=chart is not None or not report.units))
