"""The typed bot context: everything a handler may use, wired once by `bot.app` (STYLE.md #2)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from telegram.ext import Application, CallbackContext

from bot.domain.clock import Clock, WorkCalendar
from bot.telegram.bot import ProposalBot
from bot.text import Tokenizer
from config.settings import Settings
from storage.cards import CardReader

if TYPE_CHECKING:
    from bot.delivery.ticker import Ticker


class BotData:
    """Dependencies shared by every update. Filled by `bot.app.build_application` before start-up."""

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    cards: CardReader
    calendar: WorkCalendar
    tokenizer: Tokenizer
    tokenizer_ready: asyncio.Task[None] | None
    ticker: Ticker

    def __init__(self) -> None:
        self.tokenizer_ready = None
        self.admins: frozenset[int] = frozenset()
        # wrong /start bind_ codes per Telegram user (monotonic times), for rate limiting
        self.bind_failures: dict[int, deque[float]] = {}
        # languages chosen in /settings (Telegram user id → "zh" | "en"), loaded at start, kept current by /settings
        self.languages: dict[int, str] = {}
        self.tick_interval: float | None = 5.0
        self.pace = True

    async def tokenizer_loaded(self) -> Tokenizer:
        """The tokenizer, waiting for its background initialization if it is still running."""
        if self.tokenizer_ready is not None:
            await self.tokenizer_ready
        return self.tokenizer


Context = CallbackContext[ProposalBot, dict[Any, Any], dict[Any, Any], BotData]
App = Application[ProposalBot, Context, dict[Any, Any], dict[Any, Any], BotData, Any]
