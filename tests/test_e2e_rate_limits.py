"""End-to-end: the production wiring (rate limiter on) meets Telegram's 429.

A push that gets ``retry_after=100`` waits in the outbox and goes out once, after the wait, while every other
user's look-up is answered at once: nothing sleeps inside a send, and no request queues behind a retry. With
PTB's retrying limiter (``AIORateLimiter(max_retries=3)``, the old wiring) the confirming admin's own update
hung for 100 s per retry, and every other request of the bot waited with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import AIORateLimiter

from bot.sandbox.faults import RetryAfter
from bot.sandbox.harness import Sandbox
from config.settings import load_settings

SEED = Path(__file__).parent / "fixtures" / "000_22e5c766df40d68a.txt"
AT = datetime(2024, 4, 22, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
PUSH = "已收到答复"
#: Wall-clock bound for work that must not wait: generous on a busy 2-core machine, far below one 100 s retry.
PROMPT = 20.0


def _pushes(box: Sandbox, chat_id: int) -> list[str]:
    return [m.text for m in box.emulator.messages_to(chat_id) if PUSH in m.text]


async def _confirm_seed_reply(box: Sandbox) -> None:
    await box.use("admin")
    await box.upload(SEED, "/reply 018")
    await box.press("✅ 确认")


@pytest.fixture
async def limited(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT, rate_limit=True) as box:
        await box.load_demo()
        yield box


async def test_rate_limited_sandbox_runs_the_production_limiter(limited: Sandbox) -> None:
    limiter = limited.app.bot.rate_limiter
    assert isinstance(limiter, AIORateLimiter)
    assert limiter._max_retries == 0  # a 429 is never retried inside a send


async def test_push_with_retry_after_100_goes_out_once_after_the_wait_and_lookups_go_on(limited: Sandbox) -> None:
    deputy = await limited.use("deputy:康红恩")
    limited.emulator.inject(RetryAfter(100), method="sendMessage", chat_id=deputy.chat_id)

    async with asyncio.timeout(PROMPT):
        await _confirm_seed_reply(limited)
    assert _pushes(limited, deputy.chat_id) == []
    assert limited.emulator.stats["http_429"] == 1  # tried once, not retried inside the send

    # meanwhile another user asks, and is answered at once
    await limited.use("public")
    async with asyncio.timeout(PROMPT):
        [card] = await limited.say("/status 018")
    assert "018" in card.text

    async with asyncio.timeout(PROMPT):
        await limited.advance(timedelta(seconds=99))
    assert _pushes(limited, deputy.chat_id) == []  # Telegram said 100 s
    async with asyncio.timeout(PROMPT):
        await limited.advance(timedelta(seconds=2))
    [push] = limited.emulator.messages_to(deputy.chat_id)[-1:]
    assert PUSH in push.text
    assert push.date >= AT + timedelta(seconds=100)
    async with asyncio.timeout(PROMPT):
        await limited.advance(timedelta(hours=1))
    assert len(_pushes(limited, deputy.chat_id)) == 1
    assert limited.emulator.stats["http_429"] == 1
    assert limited.emulator.violations == []


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_instances_send_a_rate_limited_push_once_and_keep_answering(engine: AsyncEngine, db_url: str) -> None:
    settings = load_settings(database_url=db_url)
    first = Sandbox(settings, at=AT, rate_limit=True)
    second = Sandbox(settings, at=AT, emulator=first.emulator, rate_limit=True)  # one Telegram, two bots
    async with first, second:
        await first.load_demo()
        deputy = await first.use("deputy:康红恩")
        first.emulator.inject(RetryAfter(100), method="sendMessage", chat_id=deputy.chat_id)
        async with asyncio.timeout(PROMPT):
            await _confirm_seed_reply(first)
        assert _pushes(first, deputy.chat_id) == []

        for seconds in (10, 50, 99, 101, 130, 200, 400):
            for box in (first, second):
                box.clock.set(AT + timedelta(seconds=seconds))
            async with asyncio.timeout(PROMPT):
                await asyncio.gather(first.deps.ticker.tick(), second.deps.ticker.tick())
                await second.use("public")
                [card] = await second.say("/status 018")
            assert "018" in card.text
            expected = 1 if seconds >= 100 else 0
            assert len(_pushes(first, deputy.chat_id)) == expected, seconds
    assert first.emulator.stats["http_429"] == 1
    assert first.emulator.violations == []
