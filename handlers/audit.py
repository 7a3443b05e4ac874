"""`/audit [no]`: who changed what and when, with the old and new values, newest first and paged (admins only)."""

from __future__ import annotations

from telegram import Update

from bot.context import Context
from bot.domain.access import Action, may_act
from bot.render.audit import PAGE, AuditLine, render_audit
from bot.render.cards import Rendered
from bot.render.i18n import t
from handlers.audience import lang_of, viewer_of
from handlers.buttons import pressed
from handlers.items import find_item
from handlers.replying import send
from storage.audit import count_audit, list_audit


async def _show(update: Update, context: Context, *, proposal_id: int | None, title: str, page: int) -> None:
    deps = context.bot_data
    lang = lang_of(update, context)
    async with deps.sessionmaker() as session:
        if not may_act(await viewer_of(update, context, session), Action.audit):
            await send(update, Rendered(t(lang, "auth.admin_only", command="/audit")))
            return
        total = await count_audit(session, proposal_id=proposal_id)
        entries = await list_audit(session, proposal_id=proposal_id, offset=page * PAGE, limit=PAGE)
    lines = [AuditLine(e.at, e.actor_id, e.actor_name, e.action, e.subject, e.old or {}, e.new or {}) for e in entries]
    rendered = render_audit(
        lines, total=total, page=page, scope=proposal_id or 0, title=title, lang=lang, tz=deps.settings.tz
    )
    await send(update, rendered)


async def audit_command(update: Update, context: Context) -> None:
    """`/audit` (everything) or `/audit 018` (one item; a choice of sittings when the number is ambiguous)."""
    lang = lang_of(update, context)
    text = " ".join(context.args or []).strip()
    async with context.bot_data.sessionmaker() as session:
        allowed = may_act(await viewer_of(update, context, session), Action.audit)
    if not allowed:
        await send(update, Rendered(t(lang, "auth.admin_only", command="/audit")))
        return
    if not text:
        await _show(update, context, proposal_id=None, title=t(lang, "audit.all"), page=0)
        return
    card = await find_item(update, context, text, prefix="au", usage="audit.usage")
    if card is not None:
        await _show(update, context, proposal_id=card["id"], title=t(lang, "audit.item", number=card["number"]), page=0)


async def audit_button(update: Update, context: Context) -> None:
    """`au:<item id or 0>:<page>` (a page), or `au:<item id>` (the sitting chosen for `/audit <no>`)."""
    data = await pressed(update, context)
    if data is None:
        return
    lang = lang_of(update, context)
    scope = int(data[1])
    page = int(data[2]) if len(data) > 2 else 0
    title = t(lang, "audit.all")
    if scope:
        card = await context.bot_data.cards.by_id(scope)
        title = t(lang, "audit.item", number=card["number"]) if card is not None else str(scope)
    await _show(update, context, proposal_id=scope or None, title=title, page=page)
