"""The typed bot context: everything a handler may use, wired once by `bot.app` (STYLE.md #2)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
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


@dataclass(eq=False, kw_only=True)
class BotData:
    """Dependencies shared by every update, all given when `bot.app.build_application` builds the application.

    `post_init` opens what needs I/O: it migrates the database, loads the calendar overrides and the chosen
    languages, and starts loading jieba.
    """

    settings: Settings
    clock: Clock
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    cards: CardReader
    tokenizer: Tokenizer
    #: builds the ticker, which reads this object (so it cannot be made before it)
    new_ticker: InitVar[Callable[[BotData], Ticker]]
    #: seconds between ticks of PTB's JobQueue; None when the caller drives the ticker (the sandbox)
    tick_interval: float | None = 5.0
    #: the official calendar until `post_init` adds the admins' overrides from the database
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    #: languages chosen in /settings (Telegram user id → "zh" | "en"), loaded at start, kept current by /settings
    languages: dict[int, str] = field(default_factory=dict)
    #: wrong /start bind_ codes per Telegram user (monotonic times), for rate limiting
    bind_failures: dict[int, deque[float]] = field(default_factory=dict)
    #: jieba loading in a worker thread, once `post_init` has started it
    tokenizer_ready: asyncio.Task[None] | None = None
    #: the admins' Telegram user ids (PROPOSAL_BOT_ADMINS)
    admins: frozenset[int] = field(init=False)
    ticker: Ticker = field(init=False)

    def __post_init__(self, new_ticker: Callable[[BotData], Ticker]) -> None:
        self.admins = frozenset(self.settings.admins)
        self.ticker = new_ticker(self)

    async def tokenizer_loaded(self) -> Tokenizer:
        """The tokenizer, waiting for its background initialization if it is still running."""
        if self.tokenizer_ready is not None:
            await self.tokenizer_ready
        return self.tokenizer


Context = CallbackContext[ProposalBot, dict[Any, Any], dict[Any, Any], BotData]
App = Application[ProposalBot, Context, dict[Any, Any], dict[Any, Any], BotData, Any]
