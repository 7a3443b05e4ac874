"""End-to-end: daily and weekly digests merge a user's held pushes into one message at 09:00."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sandbox.harness import Sandbox
from config.settings import load_settings
from storage.models import OutboxMessage

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 3, 25, 1, 0, tzinfo=UTC)


async def test_weekly_digest_merges_held_pushes_on_monday_morning(engine: AsyncEngine, db_url: str) -> None:
    async with Sandbox(load_settings(database_url=db_url), at=START) as box:
        await box.load_demo()
        unit = await box.use("unit:区建管委")  # co-unit of 018, whose opinion is overdue every working day
        await box.say("/settings")
        await box.press("每周汇总（周一 9:00）")
        pushes = [m for m in await box.advance(timedelta(days=14)) if m.chat_id == unit.chat_id]
        async with box.deps.sessionmaker() as session:
            statuses = set((await session.scalars(select(OutboxMessage.status))).all())
    digests = [m for m in pushes if "汇总" in m.text]
    assert len(digests) == 2  # Monday 1 April and Monday 8 April
    for message in pushes:
        local = message.date.astimezone(SHANGHAI)
        assert local.weekday() == 0
        assert local.time() == time(9, 0)
    # one line per item and kind: the newest count of overdue days, not one line per day
    assert digests[0].text.count("会办意见逾期") == 1
    assert "merged" in statuses


async def test_instant_user_gets_no_digest(sqlite_url: str) -> None:
    async with Sandbox(load_settings(database_url=sqlite_url), at=START) as box:
        await box.load_demo()
        unit = await box.use("unit:区建管委")
        pushes = [m for m in await box.advance(timedelta(days=7)) if m.chat_id == unit.chat_id]
    assert pushes
    assert not [m for m in pushes if "汇总" in m.text]
