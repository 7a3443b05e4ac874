"""Who sent an update: their language and what they may see."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import Context
from bot.render.cards import Viewer
from bot.render.i18n import Lang, pick_language
from storage.accounts import ensure_account, find_account
from storage.models import Account


def lang_of(update: Update, context: Context | None = None) -> Lang:
    """The user's language: their /settings choice if any, else their Telegram app's language."""
    user = update.effective_user
    if user is None:
        return pick_language(None)
    if context is not None:
        chosen = context.bot_data.languages.get(user.id)
        if chosen is not None:
            return pick_language(chosen)
    return pick_language(user.language_code)


def is_admin(update: Update, context: Context) -> bool:
    """Admins are the Telegram user ids in settings (PROPOSAL_BOT_ADMINS); the check reads and writes nothing.

    An `admin` role stored in `accounts` does not count, so an id removed from the settings loses its rights
    (and its admin pushes) at the next start. Admin commands record the admin's account with `current_account`,
    so that admin pushes (the overdue digest, 不满意 notices) have a chat to go to.
    """
    user = update.effective_user
    return user is not None and user.id in context.bot_data.admins


async def viewer_of(update: Update, context: Context, session: AsyncSession) -> Viewer:
    """The viewer's role: admins from settings, deputies and unit staff from their account (in `session`)."""
    user = update.effective_user
    if user is None:
        return Viewer()
    if is_admin(update, context):
        return Viewer(role="admin")
    account = await find_account(session, telegram_id=user.id)
    if account is None or not account.active or account.role == "admin":  # not in the settings: not an admin
        return Viewer()
    return Viewer(role=account.role, deputy_id=account.deputy_id, unit_id=account.unit_id)


async def current_account(update: Update, context: Context, session: AsyncSession) -> Account | None:
    """The sender's account inside the caller's transaction, created as `public` on first contact."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    return await ensure_account(
        session,
        telegram_id=user.id,
        chat_id=chat.id,
        now=context.bot_data.clock.now(),
        display_name=user.full_name,
    )
