"""Who sent an update: their language and what they may see."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import Context
from bot.domain.access import ADMIN, PUBLIC, Action, Viewer, account_viewer, is_admin_id, may_act, viewer_in_chat
from bot.render.cards import Rendered
from bot.render.i18n import Lang, pick_language, t
from handlers.replying import send
from storage.accounts import ensure_account, find_account
from storage.admins import is_granted
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


def is_listed_admin(update: Update, context: Context) -> bool:
    """Listed in the settings (PROPOSAL_BOT_ADMINS): such an admin cannot be revoked from the chat."""
    user = update.effective_user
    return user is not None and user.id in context.bot_data.admins


async def is_admin(update: Update, context: Context, session: AsyncSession) -> bool:
    """An admin now: listed in the settings or holding a grant in the database (`bot/domain/access.is_admin_id`).

    Asked at every update, never cached and never stored as a role: a revoked grant, or an id removed from the
    settings, loses every admin right at the next update. An `admin` role stored in `accounts` does not count.
    Admin commands record the admin's account with `current_account`, so that admin pushes (the overdue digest,
    不满意 notices) have a chat to go to.
    """
    user = update.effective_user
    if user is None:
        return False
    listed = context.bot_data.admins
    if user.id in listed:
        return True
    granted = {user.id} if await is_granted(session, telegram_id=user.id) else set()
    return is_admin_id(user.id, listed=listed, granted=granted)


async def viewer_of(update: Update, context: Context, session: AsyncSession) -> Viewer:
    """The viewer's role: admins (settings or grants), deputies and unit staff from their account (in `session`).

    In a group the answer is read by everyone there, so the viewer is public whoever asked (the one policy,
    `bot/domain/access.viewer_in_chat`).
    """
    user, chat = update.effective_user, update.effective_chat
    if user is None:
        return PUBLIC
    private_chat = chat is None or chat.type == "private"
    return viewer_in_chat(await _role_of(update, context, session), private_chat=private_chat)


async def _role_of(update: Update, context: Context, session: AsyncSession) -> Viewer:
    user = update.effective_user
    if user is None:
        return PUBLIC
    if await is_admin(update, context, session):
        return ADMIN
    account = await find_account(session, telegram_id=user.id)
    if account is None or not account.active:
        return PUBLIC
    return account_viewer(admin=False, role=account.role, deputy_id=account.deputy_id, unit_id=account.unit_id)


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


async def admitted(
    update: Update, context: Context, action: Action, command: str, *, refusal: str = "auth.admin_only"
) -> bool:
    """The access policy's answer for an admin command; a refused user is told (`refusal`, a catalogue key) and
    nothing is written.

    An admitted user's account is made sure of, since admin pushes need the admin's chat.
    """
    async with context.bot_data.sessionmaker.begin() as session:
        if not may_act(await viewer_of(update, context, session), action):
            await send(update, Rendered(t(lang_of(update, context), refusal, command=command)))
            return False
        await current_account(update, context, session)
    return True
