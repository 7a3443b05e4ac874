"""Two application instances on one PostgreSQL: the sweep runs on one of them, and every push goes out once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox.harness import Sandbox
from config.settings import load_settings

AT = datetime(2024, 4, 22, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai: 018's 7-day reminder is due


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_instances_send_each_push_once(engine: AsyncEngine, db_url: str) -> None:
    settings = load_settings(database_url=db_url)
    first = Sandbox(settings, at=AT)
    second = Sandbox(settings, at=AT, emulator=first.emulator)  # one Telegram, two bots
    async with first, second:
        await first.load_demo()
        units = [await first.use(f"unit:{name}") for name in ("长宁区科学技术委员会", "区建管委", "区民政局")]
        await second.use("admin")
        for day in range(10):
            for box in (first, second):
                box.clock.set(AT + timedelta(days=day))
            await asyncio.gather(first.deps.ticker.tick(), second.deps.ticker.tick())
    sent = [(m.chat_id, m.text) for m in first.emulator.sent if m.chat_id in {u.chat_id for u in units}]
    assert sent, "no reminders at all"
    duplicates = [key for key, count in Counter(sent).items() if count > 1]
    assert duplicates == []
    assert first.emulator.violations == []
