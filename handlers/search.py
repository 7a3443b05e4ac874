"""`/search <words>`, a plain sentence in the private chat, and the ‹ › page buttons of a search.

The query a page button continues is kept in the chat's data under a small id (`sr:<id>:<page>` fits Telegram's
64 bytes whatever was typed); the last `REMEMBERED` searches of a chat are kept, so an older button, or one from
before a restart, answers that the search has expired.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.constants import ParseMode

from bot.context import Context
from bot.render.cards import MAX_MESSAGE, Rendered
from bot.render.i18n import t
from bot.render.search import render_search, render_search_usage
from bot.services.search import parse_query, search_page
from bot.telegram.addressing import addressed_text
from bot.telegram.keyboards import keyboard
from handlers.audience import lang_of, viewer_of
from handlers.buttons import answer_press
from handlers.replying import send

REMEMBERED = 20
_QUERIES = "search_queries"
_NEXT = "search_next"
_MAX_QUERY_ID = 999_999


def _remember(context: Context, text: str) -> int:
    data: dict[Any, Any] = context.chat_data if context.chat_data is not None else {}
    queries: dict[int, str] = data.setdefault(_QUERIES, {})
    query_id = int(data.get(_NEXT, 0)) % _MAX_QUERY_ID + 1
    data[_NEXT] = query_id
    queries.pop(query_id, None)
    queries[query_id] = text
    while len(queries) > REMEMBERED:
        queries.pop(next(iter(queries)))
    return query_id


def _recall(context: Context, query_id: int) -> str | None:
    if context.chat_data is None:
        return None
    queries: dict[int, str] = context.chat_data.get(_QUERIES, {})
    return queries.get(query_id)


async def _page(
    update: Update, context: Context, text: str, *, query_id: int, page: int, sentence: bool = False
) -> Rendered:
    deps = context.bot_data
    lang = lang_of(update, context)
    tokenizer = await deps.tokenizer_loaded()
    today = deps.clock.now().astimezone(deps.settings.tz).date()
    async with deps.sessionmaker() as session:
        viewer = await viewer_of(update, context, session)
        query = await parse_query(session, text, tokenizer=tokenizer)
        if not query.words:
            return render_search_usage(lang)
        found = await search_page(session, viewer=viewer, query=query, page=page, today=today)
    return render_search(found, query_id=query_id, viewer=viewer, lang=lang, sentence=sentence)


async def answer_search(update: Update, context: Context, text: str, *, sentence: bool = False) -> None:
    """The first page of a search for `text`; usage help when it holds no word to search for."""
    if not text.strip():
        await send(update, render_search_usage(lang_of(update, context)))
        return
    query_id = _remember(context, text)
    await send(update, await _page(update, context, text, query_id=query_id, page=0, sentence=sentence))


async def search_command(update: Update, context: Context) -> None:
    message = update.effective_message
    text = ""
    if message is not None and message.text:
        # the words as typed after the command (context.args would lose the user's spacing and quotes' places)
        parts = addressed_text(message).split(None, 1)
        text = parts[1] if len(parts) > 1 else ""
    await answer_search(update, context, text.strip())


async def search_sentence(update: Update, context: Context) -> None:
    """A sentence in the private chat that is no number and no command: a search."""
    message = update.effective_message
    if message is not None and message.text:
        await answer_search(update, context, addressed_text(message), sentence=True)


async def search_page_button(update: Update, context: Context) -> None:
    """`sr:<query id>:<page>`: another page of a search this chat made, edited into the same message."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    _, query_id, page = query.data.split(":")
    text = _recall(context, int(query_id))
    lang = lang_of(update, context)
    if text is None:
        await answer_press(query, t(lang, "search.expired"))
        await send(update, Rendered(t(lang, "search.expired")))
        return
    await answer_press(query)
    rendered = await _page(update, context, text, query_id=int(query_id), page=int(page))
    if query.message is None or len(rendered.html) > MAX_MESSAGE:
        await send(update, rendered)
        return
    await query.edit_message_text(rendered.html, parse_mode=ParseMode.HTML, reply_markup=keyboard(rendered))
