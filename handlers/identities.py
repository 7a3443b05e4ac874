"""`/bind` (admins make one-time links), `/start bind_<code>` (redeem), `/unbind`."""

from __future__ import annotations

import html
import time
from collections import deque

from telegram import Update

from bot.context import Context
from bot.render.cards import Rendered
from bot.render.i18n import t
from handlers.audience import current_account, is_admin, lang_of
from handlers.replying import send
from storage.audit import Actor, AuditRecord, record_audit
from storage.identities import CODE_TTL, BindError, BindTarget, create_bind_code, redeem_bind_code, unbind

GUESS_WINDOW_S = 600.0
GUESS_LIMIT = 5


def _throttled(context: Context, user_id: int) -> bool:
    """Rate-limit wrong codes per account: at most GUESS_LIMIT failures in GUESS_WINDOW_S seconds."""
    failures: deque[float] = context.bot_data.bind_failures.setdefault(user_id, deque())
    now = time.monotonic()
    while failures and now - failures[0] > GUESS_WINDOW_S:
        failures.popleft()
    return len(failures) >= GUESS_LIMIT


async def bind_command(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    user = update.effective_user
    if user is None:
        return
    deps = context.bot_data
    async with deps.sessionmaker.begin() as session:
        if not await is_admin(update, context, session):  # nothing was written: refuse from inside
            await send(update, Rendered(t(lang, "auth.admin_only", command="/bind")))
            return
        role, _, name = " ".join(context.args or []).partition(":")
        role, name = role.strip().lower(), name.strip()
        if role not in {"deputy", "unit"} or not name or len(name) > 64:
            await send(update, Rendered(t(lang, "bind.usage")))
            return
        await current_account(update, context, session)  # admin pushes need the admin's chat
        now = deps.clock.now()
        code = await create_bind_code(session, target=BindTarget(role, name), created_by=user.id, now=now)
        entry = AuditRecord("bind", f"{role}:{name}", {}, {"role": role, "name": name, "link": "created"})
        await record_audit(session, [entry], actor=Actor(user.id, user.full_name), now=now)
    link = f"https://t.me/{context.bot.username}?start=bind_{code}"
    await send(
        update,
        Rendered(
            t(
                lang,
                "bind.link",
                role=t(lang, f"bind.role.{role}"),
                name=html.escape(name),
                days=CODE_TTL.days,
                link=link,
            )
        ),
    )


async def redeem(update: Update, context: Context, code: str) -> None:
    """`/start bind_<code>`."""
    lang = lang_of(update, context)
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    if _throttled(context, user.id):
        await send(update, Rendered(t(lang, "bind.too_many", minutes=int(GUESS_WINDOW_S // 60))))
        return
    deps = context.bot_data
    try:
        async with deps.sessionmaker.begin() as session:
            account, name = await redeem_bind_code(
                session,
                code=code,
                telegram_id=user.id,
                chat_id=chat.id,
                now=deps.clock.now(),
                display_name=user.full_name,
            )
            role = account.role
    except BindError as exc:
        deps.bind_failures.setdefault(user.id, deque()).append(time.monotonic())
        await send(update, Rendered(t(lang, f"bind.{exc.failure.value}")))
        return
    deps.bind_failures.pop(user.id, None)
    await send(update, Rendered(t(lang, f"bind.done.{role}", name=html.escape(name))))


async def unbind_command(update: Update, context: Context) -> None:
    lang = lang_of(update, context)
    user = update.effective_user
    if user is None:
        return
    async with context.bot_data.sessionmaker.begin() as session:
        done = await unbind(session, telegram_id=user.id)
    await send(update, Rendered(t(lang, "unbind.done" if done else "unbind.none")))
