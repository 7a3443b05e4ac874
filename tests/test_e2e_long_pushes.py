"""End-to-end: a push too long for one message (a digest of many items) arrives in full, in several messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery.planner import Plan
from bot.delivery.queue import queue_plans
from bot.sandbox.harness import Sandbox
from bot.sandbox.markup import parse_html
from config.settings import load_settings
from storage.accounts import find_account
from storage.models import OutboxMessage

START = datetime(2024, 3, 25, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


async def test_daily_digest_of_60_items_arrives_in_full_in_several_messages(engine: AsyncEngine, db_url: str) -> None:
    """Once a digest of 60 items died whole as "message is too long"; now it is split like any long text."""
    async with Sandbox(load_settings(database_url=db_url), at=START, rate_limit=True) as box:
        box.emulator.enforce_limits = True  # Telegram's flood limits: the parts must be paced too
        await box.load_demo()
        user = await box.use("deputy:康红恩")
        await box.say("/settings")
        await box.press("每日汇总（9:00）")
        now = box.clock.now()
        async with box.deps.sessionmaker.begin() as session:
            account = await find_account(session, telegram_id=user.user_id)
            assert account is not None and account.digest_mode == "daily"
            plans = [
                Plan(
                    recipient_account_id=account.id,
                    chat_id=user.chat_id,
                    kind="overdue",
                    text_key="push.overdue",
                    params={
                        "number": f"{i:03d}",
                        "title": "关于" + "长宁区" * 12 + f"的建议 {i}",
                        "due_on": "2024-03-01",
                        "days": 24,
                        "proposal_id": 10_000 + i,
                    },
                    due_at=now,
                    dedup_key=f"test-long-digest:{i}",
                )
                for i in range(1, 61)
            ]
            assert await queue_plans(session, plans, now=now) == 60
        sent = [m for m in await box.advance(timedelta(days=1)) if m.chat_id == user.chat_id]
        async with box.deps.sessionmaker() as session:
            statuses = list((await session.scalars(select(OutboxMessage.status))).all())
    digest = [m for m in sent if "逾期 24 天" in m.text or "汇总" in m.text]
    assert len(digest) >= 2
    assert all(len(m.html) <= 4096 for m in digest)
    text = "".join(m.text for m in digest)
    for i in range(1, 61):
        assert f"第 {i:03d} 号" in text
    for message in digest:
        parse_html(message.html)  # each part is valid HTML by itself
    assert "dead" not in statuses
    assert box.emulator.stats["http_429"] == 0
    assert box.emulator.violations == []
