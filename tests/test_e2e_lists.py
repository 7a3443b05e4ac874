"""End-to-end: /mine, /due and /overdue for deputies, unit staff, admins and the public."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.sandbox.harness import Sandbox
from config.settings import load_settings

AT = datetime(2024, 4, 20, 1, 0, tzinfo=UTC)


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT) as box:
        await box.load_demo()
        yield box
    assert box.emulator.violations == []


async def test_mine_for_deputy_lists_own_items(sandbox: Sandbox) -> None:
    await sandbox.use("deputy:康红恩")
    [message] = await sandbox.say("/mine")
    assert "我的建议（1 件）" in message.text
    assert "剩余 9 天" in message.text
    [card] = await sandbox.press("查看第 018 号")
    assert "上海硅巷" in card.text


async def test_due_and_overdue_for_unit_staff(sandbox: Sandbox) -> None:
    await sandbox.use("unit:区建管委")
    [due] = await sandbox.say("/due")
    assert "第 002 号" in due.text
    assert "第 009 号" not in due.text  # extended to July: not within 30 days
    [overdue] = await sandbox.say("/overdue")
    assert "第 018 号" in overdue.text  # the co-handling opinion was due 2024-02-29


async def test_admin_sees_every_unit_due_items(sandbox: Sandbox) -> None:
    await sandbox.use("admin")
    [due] = await sandbox.say("/due")
    assert "30 天内到期（6 件）" in due.text


@pytest.mark.parametrize("command", ["/due", "/overdue", "/mine"])
async def test_lists_refuse_public_with_clear_message(sandbox: Sandbox, command: str) -> None:
    await sandbox.use("public")
    [message] = await sandbox.say(command)
    assert "仅供" in message.text or "绑定" in message.text
