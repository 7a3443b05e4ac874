"""`/grant` and `/revoke`: admins manage the admins beyond PROPOSAL_BOT_ADMINS, each change confirmed with buttons.

Admins listed in the settings cannot be revoked from the chat. Every step asks `handlers.audience.is_admin` again,
so a confirmation pressed by someone who has lost the role changes nothing.
"""

from __future__ import annotations

from telegram import Update

from bot.context import Context
from bot.render.cards import Button, Rendered, esc
from bot.render.i18n import t
from handlers.audience import current_account, is_admin, lang_of
from handlers.buttons import pressed
from handlers.replying import send
from storage.accounts import find_account
from storage.admins import grant_admin, is_granted, list_grants, revoke_admin
from storage.audit import Actor, AuditRecord, record_audit

MAX_TELEGRAM_ID = 2**52  # Telegram user ids fit in 52 bits


def _telegram_id(args: list[str]) -> int | None:
    text = "".join(args).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 16:
        return None
    value = int(text)
    return value if 0 < value < MAX_TELEGRAM_ID else None


async def _admin_command(update: Update, context: Context, *, grant: bool) -> None:
    lang = lang_of(update, context)
    command = "/grant" if grant else "/revoke"
    deps = context.bot_data
    async with deps.sessionmaker.begin() as session:
        if not await is_admin(update, context, session):  # nothing was written: refuse from inside
            await send(update, Rendered(t(lang, "auth.admin_only", command=command)))
            return
        await current_account(update, context, session)  # admin pushes need the admin's chat
        target = _telegram_id(list(context.args or []))
        if target is None:
            grants = await list_grants(session)
            listed = ", ".join(str(i) for i in sorted(deps.admins)) or "—"
            granted = ", ".join(str(g.telegram_id) for g in grants) or "—"
            usage = t(lang, "grant.usage" if grant else "revoke.usage")
            await send(update, Rendered(usage + "\n" + t(lang, "grant.list", listed=listed, granted=granted)))
            return
        account = await find_account(session, telegram_id=target)
        granted_now = await is_granted(session, telegram_id=target)
    who = t(lang, "grant.who", id=target, name=esc(account.display_name if account else "") or "—")
    if target in deps.admins:
        await send(update, Rendered(t(lang, "grant.listed" if grant else "revoke.listed", who=who)))
    elif grant and granted_now:
        await send(update, Rendered(t(lang, "grant.already", who=who)))
    elif not grant and not granted_now:
        await send(update, Rendered(t(lang, "revoke.none", who=who)))
    else:
        code = "g" if grant else "r"
        buttons = (
            (
                Button(t(lang, "button.grant" if grant else "button.revoke"), f"adm:{code}:{target}"),
                Button(t(lang, "button.cancel"), "adm:x"),
            ),
        )
        await send(update, Rendered(t(lang, "grant.confirm" if grant else "revoke.confirm", who=who), buttons))


async def grant_command(update: Update, context: Context) -> None:
    """`/grant <Telegram user id>`: make someone an admin, after a confirmation."""
    await _admin_command(update, context, grant=True)


async def revoke_command(update: Update, context: Context) -> None:
    """`/revoke <Telegram user id>`: take a granted admin's rights away, after a confirmation."""
    await _admin_command(update, context, grant=False)


async def admin_button(update: Update, context: Context) -> None:
    """`adm:g:<id>` / `adm:r:<id>` confirm a grant or a revocation; `adm:x` cancels."""
    data = await pressed(update, context)
    if data is None:
        return
    lang = lang_of(update, context)
    if data[1] == "x":
        await send(update, Rendered(t(lang, "grant.cancelled")))
        return
    target = _telegram_id(data[2:3])
    user = update.effective_user
    deps = context.bot_data
    if target is None or user is None:
        await send(update, Rendered(t(lang, "button.expired")))
        return
    async with deps.sessionmaker.begin() as session:
        if not await is_admin(update, context, session):  # a former admin's old button: nothing changes
            await send(update, Rendered(t(lang, "auth.admin_only", command="/grant")))
            return
        now = deps.clock.now()
        if data[1] == "g":
            changed = await grant_admin(session, telegram_id=target, granted_by=user.id, now=now)
            key = "grant.done" if changed else "grant.already"
        elif target in deps.admins:
            changed, key = False, "revoke.listed"
        else:
            changed = await revoke_admin(session, telegram_id=target)
            key = "revoke.done" if changed else "revoke.none"
        if changed:
            granted = data[1] == "g"
            entry = AuditRecord(
                "grant" if granted else "revoke",
                f"Telegram {target}",
                {"admin": "no" if granted else "yes"},
                {"admin": "yes" if granted else "no"},
            )
            await record_audit(session, [entry], actor=Actor(user.id, user.full_name), now=now)
    await send(update, Rendered(t(lang, key, who=t(lang, "grant.who", id=target, name="—"))))
