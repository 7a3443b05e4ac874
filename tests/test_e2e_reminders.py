"""End-to-end: deadline reminders for item 018 over 45 virtual days (issue 3's acceptance), on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.clock import WorkCalendar
from bot.sandbox.harness import Sandbox
from config.settings import load_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 3, 25, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


async def test_unit_gets_countdowns_then_overdue_alerts_in_office_hours(engine: AsyncEngine, db_url: str) -> None:
    async with Sandbox(load_settings(database_url=db_url), at=START) as box:
        await box.load_demo()
        unit = await box.use("unit:长宁区科学技术委员会")
        pushes = await box.advance(timedelta(days=45))
        again = await box.advance(timedelta(hours=1))
    mine = [m for m in pushes if m.chat_id == unit.chat_id]
    countdowns = [m for m in mine if "答复期限提醒" in m.text or "今天到期" in m.text]
    overdue = [m for m in mine if "已逾期" in m.text]
    assert len([m for m in countdowns if "第 018 号" in m.text]) >= 4
    assert overdue, "no overdue alert after the due day"
    calendar = WorkCalendar()
    for message in mine:
        local = message.date.astimezone(SHANGHAI)
        assert calendar.is_workday(local.date()), message.text
        assert time(8) <= local.time() < time(21), message.text
    # the 30-day reminder (2024-03-30 is a Saturday) arrives on the next working morning
    assert countdowns[0].date.astimezone(SHANGHAI) == datetime(2024, 4, 1, 8, 0, tzinfo=SHANGHAI)
    # nothing twice: every (day, text) is unique, and a further hour adds nothing
    assert len({(m.date, m.text) for m in mine}) == len(mine)
    assert [m for m in again if m.chat_id == unit.chat_id] == []
    assert box.emulator.violations == []


async def test_restart_after_downtime_catches_up_once(sqlite_url: str) -> None:
    """A bot that was down for two weeks sends the latest reminder once, not every missed one."""
    settings = load_settings(database_url=sqlite_url)
    async with Sandbox(settings, at=START) as box:
        await box.load_demo()
        await box.use("unit:长宁区科学技术委员会")
        await box.advance(timedelta(days=1))
    later = START + timedelta(days=28)  # Monday 2024-04-22: the 30- and 14-day reminders were missed
    async with Sandbox(settings, at=later) as box:
        unit = await box.use("unit:长宁区科学技术委员会")
        pushes = [m for m in await box.advance(timedelta(hours=1)) if m.chat_id == unit.chat_id]
    assert len(pushes) == 1
    assert "还剩 7 天" in pushes[0].text
