"""The composition root: builds the Application, registers the handler table in order, opens and closes clients."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
from typing import Any

from telegram import BotCommand, BotCommandScopeDefault, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.context import App, BotData, Context
from bot.delivery.ticker import Ticker
from bot.domain.clock import Clock, SystemClock, WorkCalendar
from bot.domain.lookup import looks_like_number
from bot.render.commands import COMMANDS
from bot.render.i18n import t
from bot.telegram.addressing import ADDRESSED, FOR_THIS_BOT, NEW_MESSAGE, addressed_text
from bot.telegram.bot import ProposalBot
from bot.telegram.pacing import reply_limiter
from bot.telegram.request import JsonRequest
from bot.telegram.webhook import Health, WebhookServer
from bot.text import shared_tokenizer
from config.settings import Settings
from handlers import buttons
from handlers.admins import admin_button, grant_command, revoke_command
from handlers.audit import audit_button, audit_command
from handlers.errors import on_error
from handlers.follows import (
    UNFOLLOW_WORDS,
    follow_button,
    follow_choice_button,
    follow_command,
    following_command,
    unfollow_button,
    unfollow_command,
    unfollow_reply,
)
from handlers.identities import bind_command, unbind_command
from handlers.imports import SHEETS, export_command, import_button, import_command, sheet_upload
from handlers.lifecycle import assign_command, choice_button, confirm_button, extend_command, withdraw_command
from handlers.lists import due_command, mine_command, overdue_command
from handlers.replies import (
    AwaitingAnswer,
    document_upload,
    pending_text,
    preview_button,
    rate_button,
    rate_command,
    rate_skip_button,
    reply_command,
    reply_item_button,
)
from handlers.search import search_command, search_page_button, search_sentence
from handlers.settings import settings_button, settings_command
from handlers.start import help_command, other_text, start_command, unknown_command
from handlers.stats import stats_command
from handlers.status import bare_number, card_button, full_reply_button, status_command, timeline_button
from storage.accounts import language_overrides
from storage.calendar import load_overrides
from storage.cards import card_reader
from storage.engine import create_engine, create_sessionmaker, ensure_reachable, is_sqlite
from storage.migrate import check_current, upgrade

logger = logging.getLogger(__name__)

SANDBOX_TOKEN = "123456789:SANDBOX-sandbox-sandbox-sandbox"


class NumberFilter(filters.MessageFilter):
    """A bare message that reads as an item number (`018`, `第018号`, `17-5-018`)."""

    def filter(self, message: Any) -> bool:
        return bool(message.text) and looks_like_number(addressed_text(message))


class SentenceFilter(filters.MessageFilter):
    """Words that are no item number, with a Chinese character or a letter in them: a search in the private chat."""

    def filter(self, message: Any) -> bool:
        text = addressed_text(message) if message.text else ""
        return bool(_WORDY.search(text)) and not looks_like_number(text)


_WORDY = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fffA-Za-z]")


def register_handlers(app: App) -> None:
    """The handler table, in order: look-ups, commands, buttons, then fallbacks.

    PTB tries the handlers of a group one by one, so the most frequent update, a look-up (`/status 018` or a
    bare `018`), comes first and costs one or two checks instead of thirty. Their filters match nothing the
    later handlers want: the bare number excludes commands, and buttons and documents are no text messages.

    Only new messages are answered (an edit or a channel post never is), and in a group only commands for this
    bot, replies to its messages and mentions of it (bot/telegram/addressing.py); chatter gets no answer.
    """
    text = filters.TEXT & ~filters.COMMAND & NEW_MESSAGE & ADDRESSED
    # group -1: a text that answers an open question (a field correction, a rating reason) stops there
    app.add_handler(MessageHandler(text & AwaitingAnswer(app.user_data), pending_text), group=-1)
    app.add_handler(CommandHandler("status", status_command, filters=NEW_MESSAGE))
    app.add_handler(MessageHandler(text & NumberFilter(), bare_number))
    app.add_handler(CommandHandler("start", start_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("help", help_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("follow", follow_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("unfollow", unfollow_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("following", following_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("bind", bind_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("unbind", unbind_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("grant", grant_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("revoke", revoke_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("settings", settings_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("mine", mine_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("due", due_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("overdue", overdue_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("reply", reply_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("rate", rate_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("extend", extend_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("assign", assign_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("withdraw", withdraw_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("audit", audit_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("search", search_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("import", import_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("export", export_command, filters=NEW_MESSAGE))
    app.add_handler(CommandHandler("stats", stats_command, filters=NEW_MESSAGE))
    # spreadsheets by file type; every other document is a reply letter (/reply)
    app.add_handler(MessageHandler(SHEETS & NEW_MESSAGE & ADDRESSED, sheet_upload))
    app.add_handler(MessageHandler(filters.Document.ALL & NEW_MESSAGE & ADDRESSED, document_upload))
    app.add_handler(CallbackQueryHandler(reply_item_button, pattern=buttons.REPLY_ITEM))
    app.add_handler(CallbackQueryHandler(preview_button, pattern=buttons.PREVIEW))
    app.add_handler(CallbackQueryHandler(rate_button, pattern=buttons.RATE))
    app.add_handler(CallbackQueryHandler(rate_skip_button, pattern=buttons.RATE_SKIP))
    app.add_handler(CallbackQueryHandler(admin_button, pattern=buttons.ADMIN))
    app.add_handler(CallbackQueryHandler(choice_button, pattern=buttons.LIFECYCLE_CHOICE))
    app.add_handler(CallbackQueryHandler(confirm_button, pattern=buttons.LIFECYCLE_CONFIRM))
    app.add_handler(CallbackQueryHandler(import_button, pattern=buttons.IMPORT))
    app.add_handler(CallbackQueryHandler(audit_button, pattern=buttons.AUDIT))
    app.add_handler(CallbackQueryHandler(settings_button, pattern=buttons.SETTINGS))
    app.add_handler(CallbackQueryHandler(card_button, pattern=buttons.CARD))
    app.add_handler(CallbackQueryHandler(follow_button, pattern=buttons.FOLLOW))
    app.add_handler(CallbackQueryHandler(follow_choice_button, pattern=buttons.FOLLOW_CHOICE))
    app.add_handler(CallbackQueryHandler(unfollow_button, pattern=buttons.UNFOLLOW))
    app.add_handler(MessageHandler(text & filters.REPLY & filters.Regex(UNFOLLOW_WORDS), unfollow_reply))
    app.add_handler(CallbackQueryHandler(timeline_button, pattern=buttons.TIMELINE))
    app.add_handler(CallbackQueryHandler(full_reply_button, pattern=buttons.FULL_REPLY))
    app.add_handler(CallbackQueryHandler(search_page_button, pattern=buttons.SEARCH_PAGE))
    app.add_handler(CallbackQueryHandler(buttons.expired_button))  # a press that matches no pattern above
    app.add_handler(MessageHandler(filters.COMMAND & NEW_MESSAGE & FOR_THIS_BOT, unknown_command))
    # a sentence in the private chat is a search; in a group, only what is addressed to the bot gets here
    app.add_handler(MessageHandler(text & filters.ChatType.PRIVATE & SentenceFilter(), search_sentence))
    app.add_handler(MessageHandler(text, other_text))
    app.add_error_handler(on_error)


async def open_resources(app: App) -> None:
    """post_init: the database (migrated on SQLite), the calendar and languages it holds, jieba, the command list."""
    deps = app.bot_data
    await ensure_reachable(deps.engine)  # an outage is one line (DatabaseUnavailable), not a driver's traceback
    if is_sqlite(deps.settings.database_url):
        await upgrade(deps.engine)
    else:
        await check_current(deps.engine)
    async with deps.sessionmaker() as session:
        deps.calendar = WorkCalendar(await load_overrides(session))
        deps.languages.update(await language_overrides(session))
    if not deps.tokenizer.initialized:
        # jieba takes 1-2 s to load: do it off the event loop so the first look-up does not wait for it.
        deps.tokenizer_ready = asyncio.create_task(asyncio.to_thread(deps.tokenizer.initialize))
    if deps.tick_interval is not None and app.job_queue is not None:
        app.job_queue.run_repeating(_tick, interval=deps.tick_interval, first=1.0, name="ticker")
    await register_commands(app)


async def _tick(context: Context) -> None:
    """JobQueue callback: APScheduler is only the ticker; what is due lives in the database."""
    await context.bot_data.ticker.tick()


async def register_commands(app: App) -> None:
    for lang, code in (("zh", None), ("zh", "zh"), ("en", "en")):
        commands = [BotCommand(c.name, t(lang, f"cmd.{c.name}")) for c in COMMANDS]
        await app.bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=code)


async def close_resources(app: App) -> None:
    """post_shutdown: close what the application holds, also when `open_resources` failed half-way."""
    deps = app.bot_data
    if deps.tokenizer_ready is not None:
        try:
            await deps.tokenizer_ready
        except Exception:  # the app is stopping; a failed jieba load was already logged
            logger.exception("jieba failed to initialize")
    await deps.ticker.close()
    deps.cards.close()
    await deps.engine.dispose()


WEBHOOK_PATH = "telegram"
#: how long /healthz waits for the database before it reports it down
HEALTH_TIMEOUT_S = 2.0


async def health_of(app: App) -> Health:
    """What ``GET /healthz`` reports: whether the database answers, and the last 2xx from the Bot API."""
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_S):
            await ensure_reachable(app.bot_data.engine)
        database = "ok"
    except Exception as exc:  # a health check reports every failure instead of raising it
        database = f"error: {type(exc).__name__}"
    request = app.bot.request
    return Health(database, request.last_success if isinstance(request, JsonRequest) else None)


async def open_webhook(app: App) -> WebhookServer:
    """Tell Telegram where to send updates (with the secret) and start the server that feeds them to ``app``.

    The application must be initialised; ``app.start()`` then processes what the server queues.
    """
    settings = app.bot_data.settings
    if settings.webhook_url is None or settings.webhook_secret is None:
        raise ValueError("webhook mode needs PROPOSAL_BOT_WEBHOOK_URL and PROPOSAL_BOT_WEBHOOK_SECRET")
    secret = settings.webhook_secret.get_secret_value()

    async def health() -> Health:
        return await health_of(app)

    server = WebhookServer(bot=app.bot, update_queue=app.update_queue, secret=secret, health=health, path=WEBHOOK_PATH)
    await server.start(settings.webhook_listen, settings.webhook_port)
    try:
        await app.bot.set_webhook(
            url=f"{settings.webhook_url}/{WEBHOOK_PATH}", secret_token=secret, allowed_updates=Update.ALL_TYPES
        )
    except BaseException:
        await server.stop()
        raise
    return server


async def serve_webhook(app: App) -> None:
    """``proposal-bot webhook``: open everything, serve until SIGINT or SIGTERM, then close in reverse order."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await app.initialize()
    server: WebhookServer | None = None
    try:
        if app.post_init is not None:
            await app.post_init(app)
        server = await open_webhook(app)
        await app.start()
        await stop.wait()
    finally:
        if server is not None:
            await server.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


def build_application(
    settings: Settings,
    *,
    clock: Clock | None = None,
    bot_kwargs: dict[str, Any] | None = None,
    with_updater: bool = True,
    rate_limit: bool = False,
    tick_interval: float | None = 5.0,
) -> App:
    """Build the bot. `bot_kwargs` (token, base_url, request, …) point it at the sandbox emulator."""
    # PTB 22 deprecates integer retry_after; opt in to timedelta values so a 429 raises no warning.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    kwargs = dict(bot_kwargs or {})
    base = settings.api_base_url or "https://api.telegram.org"
    token: str = kwargs.pop("token", None) or settings.token_value or SANDBOX_TOKEN
    base_url: str = kwargs.pop("base_url", None) or f"{base}/bot"
    base_file_url: str = kwargs.pop("base_file_url", None) or f"{base}/file/bot"
    # JSON bodies, not PTB's url-encoded forms (bot/telegram/request.py); the pool sizes are PTB's defaults
    wall: Clock = clock or SystemClock()
    request: BaseRequest = kwargs.pop("request", None) or JsonRequest(connection_pool_size=256, now=wall.now)
    get_updates_request: BaseRequest = kwargs.pop("get_updates_request", None) or JsonRequest()
    # the same ExtBot the builder would make, as a ProposalBot (bot/telegram/bot.py)
    bot = ProposalBot(
        token,
        base_url=base_url,
        base_file_url=base_file_url,
        request=request,
        get_updates_request=get_updates_request,
        rate_limiter=reply_limiter() if rate_limit else None,
    )
    if kwargs:
        raise TypeError(f"unknown bot_kwargs: {', '.join(sorted(kwargs))}")
    engine = create_engine(settings.database_url)  # connects on first use, in open_resources
    # pace pushes like Telegram requires, except on the sandbox's virtual clock
    pace = bot_kwargs is None

    class WiredBotData(BotData):
        """PTB makes `bot_data` by calling its type with no arguments: this type knows the wiring."""

        def __init__(self) -> None:
            super().__init__(
                settings=settings,
                clock=wall,
                engine=engine,
                sessionmaker=create_sessionmaker(engine),
                cards=card_reader(engine),
                tokenizer=shared_tokenizer(),
                new_ticker=lambda deps: Ticker(deps, bot, pace=pace),
                tick_interval=tick_interval,
            )

    builder: Any = ApplicationBuilder().context_types(ContextTypes(context=CallbackContext, bot_data=WiredBotData))
    builder = builder.bot(bot)
    if not with_updater:
        builder = builder.updater(None)
    builder = builder.post_init(open_resources).post_shutdown(close_resources)
    app: App = builder.build()
    register_handlers(app)
    return app
