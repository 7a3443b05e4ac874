"""`/settings`: language, digest mode (instant, daily, weekly) and quiet hours, with inline buttons."""

from __future__ import annotations

from datetime import time

from telegram import Update
from telegram.constants import ParseMode

from bot.context import Context
from bot.render.cards import Button, Rendered
from bot.render.i18n import t
from bot.telegram.keyboards import keyboard
from handlers.audience import current_account, lang_of
from handlers.replying import send
from storage.accounts import update_preferences
from storage.models import Account

LANGUAGES = ("auto", "zh", "en")
DIGESTS = ("instant", "daily", "weekly")
# No stored quiet hours means the jurisdiction's default (21:00-08:00); 00:00-00:00 means "none".
QUIET = {"21-8": (time(21), time(8)), "22-7": (time(22), time(7)), "off": (time(0), time(0))}


def _quiet_key(account: Account) -> str:
    if account.quiet_start is None or account.quiet_end is None:
        return "21-8"
    for key, value in QUIET.items():
        if (account.quiet_start, account.quiet_end) == value:
            return key
    return "custom"


def _quiet_label(lang: str, key: str) -> str:
    start, end = QUIET[key]
    if key == "off":
        return t(lang, "settings.quiet.off")
    return t(lang, "settings.quiet.range", start=start.strftime("%H:%M"), end=end.strftime("%H:%M"))


def _mark(label: str, chosen: bool) -> str:
    return f"✓ {label}" if chosen else label


def render_settings(account: Account, lang: str) -> Rendered:
    """The settings card: current values, and one row of choices per preference (the current one ticked)."""
    language = account.language or "auto"
    quiet = _quiet_key(account)
    text = t(
        lang,
        "settings.title",
        language=t(lang, f"settings.language.{language}"),
        digest=t(lang, f"settings.digest.{account.digest_mode}"),
        quiet=_quiet_label(lang, quiet) if quiet in QUIET else f"{account.quiet_start}–{account.quiet_end}",
    )
    return Rendered(
        text,
        (
            tuple(Button(_mark(t(lang, f"settings.language.{v}"), v == language), f"set:lang:{v}") for v in LANGUAGES),
            tuple(
                Button(_mark(t(lang, f"settings.digest.{v}"), v == account.digest_mode), f"set:digest:{v}")
                for v in DIGESTS
            ),
            tuple(Button(_mark(_quiet_label(lang, v), v == quiet), f"set:quiet:{v}") for v in QUIET),
        ),
    )


async def settings_command(update: Update, context: Context) -> None:
    async with context.bot_data.sessionmaker.begin() as session:
        account = await current_account(update, context, session)
        if account is None:
            return
        rendered = render_settings(account, lang_of(update, context))
    await send(update, rendered)


async def settings_button(update: Update, context: Context) -> None:
    """`set:<field>:<value>`: change one preference and redraw the settings message in place."""
    query = update.callback_query
    user = update.effective_user
    if query is None or query.data is None or user is None:
        return
    _, field, value = query.data.split(":", 2)
    deps = context.bot_data
    async with deps.sessionmaker.begin() as session:
        account = await current_account(update, context, session)
        if account is None:
            return
        if field == "lang" and value in LANGUAGES:
            await update_preferences(session, account=account, language=None if value == "auto" else value)
        elif field == "digest" and value in DIGESTS:
            await update_preferences(session, account=account, digest_mode=value)
        elif field == "quiet" and value in QUIET:
            await update_preferences(session, account=account, quiet=QUIET[value])
    # the account's attributes stay loaded after the commit (expire_on_commit=False): no second read
    if account.language is None:
        deps.languages.pop(user.id, None)
    else:
        deps.languages[user.id] = account.language
    lang = lang_of(update, context)
    await query.answer(t(lang, "settings.saved"))
    if query.message is not None:
        rendered = render_settings(account, lang)
        await query.edit_message_text(rendered.html, parse_mode=ParseMode.HTML, reply_markup=keyboard(rendered))
