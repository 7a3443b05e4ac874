"""End-to-end: Telegram faults injected by the emulator lose no push; a blocked user is deactivated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.sandbox.faults import RetryAfter, ServerError, Timeout
from bot.sandbox.harness import Sandbox
from config.settings import load_settings
from storage.accounts import find_account
from storage.models import OutboxMessage

SEED = Path(__file__).parent / "fixtures" / "000_22e5c766df40d68a.txt"
AT = datetime(2024, 4, 22, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT) as box:
        await box.load_demo()
        yield box


async def _register_seed_reply(box: Sandbox, number: str = "018") -> None:
    await box.use("admin")
    await box.upload(SEED, f"/reply {number}")
    await box.press("✅ 确认")


@pytest.mark.parametrize("fault", [RetryAfter(5), ServerError(500), ServerError(502), Timeout()])
async def test_transient_fault_delays_but_delivers_reply_push_once(sandbox: Sandbox, fault: object) -> None:
    deputy = await sandbox.use("deputy:康红恩")
    sandbox.emulator.inject(fault, method="sendMessage", chat_id=deputy.chat_id)  # type: ignore[arg-type]
    await _register_seed_reply(sandbox)
    pushes = [m for m in sandbox.emulator.messages_to(deputy.chat_id) if "已收到答复" in m.text]
    assert pushes == []  # the first attempt failed
    await sandbox.advance(timedelta(minutes=15))
    pushes = [m for m in sandbox.emulator.messages_to(deputy.chat_id) if "已收到答复" in m.text]
    assert len(pushes) == 1


async def test_blocked_user_is_deactivated_and_gets_nothing_queued(sandbox: Sandbox) -> None:
    deputy = await sandbox.use("deputy:康红恩")
    sandbox.emulator.block(deputy.chat_id)
    await _register_seed_reply(sandbox)
    async with sandbox.deps.sessionmaker() as session:
        account = await find_account(session, telegram_id=deputy.user_id)
        assert account is not None
        assert account.active is False
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.account_id == account.id))).all()
    assert {r.status for r in rows} <= {"dead"}
    before = len(rows)
    await sandbox.use("admin")
    await sandbox.upload(SEED, "/reply 018")
    await sandbox.press("⚠️ 确认替换")
    async with sandbox.deps.sessionmaker() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.account_id == account.id))).all()
    assert len(rows) == before
    # the admins hear about the push that was given up on, once, in the next sweep
    admin = await sandbox.use("admin")
    notes = [m for m in await sandbox.advance(timedelta(hours=1)) if m.chat_id == admin.chat_id]
    assert any("发送失败" in m.text for m in notes)
    [listing, dead] = await sandbox.say("/overdue")
    assert "发送失败的推送" in dead.text
    assert listing
