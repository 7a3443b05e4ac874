"""Who sent an update: their language and what they may see."""

from __future__ import annotations

from telegram import Update

from bot.context import Context
from bot.i18n import Lang, pick_language
from bot.render import Viewer
from storage.accounts import find_account


def lang_of(update: Update) -> Lang:
    user = update.effective_user
    return pick_language(user.language_code if user else None)


async def viewer_of(update: Update, context: Context) -> Viewer:
    """The viewer's role: admins from settings, deputies and unit staff from their bound account."""
    user = update.effective_user
    if user is None:
        return Viewer()
    deps = context.bot_data
    if user.id in deps.admins:
        return Viewer(role="admin")
    async with deps.sessionmaker() as session:
        account = await find_account(session, telegram_id=user.id)
    if account is None or not account.active:
        return Viewer()
    return Viewer(role=account.role, deputy_id=account.deputy_id, unit_id=account.unit_id)
