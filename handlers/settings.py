"""`/settings`: language, digest mode (instant, daily, weekly) and quiet hours, with inline buttons."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode

from bot.context import Context
from bot.render.i18n import t
from bot.render.settings import DIGESTS, LANGUAGES, QUIET, render_settings
from bot.telegram.keyboards import keyboard
from handlers.audience import current_account, lang_of
from handlers.buttons import answer_press
from handlers.replying import send
from storage.accounts import update_preferences


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
    await answer_press(query, t(lang, "settings.saved"))
    if query.message is not None:
        rendered = render_settings(account, lang)
        await query.edit_message_text(rendered.html, parse_mode=ParseMode.HTML, reply_markup=keyboard(rendered))
