"""End-to-end: `/grant` and `/revoke`. Admins beyond the settings are database grants, confirmed with buttons; a
revoked admin loses `/bind`, `/overdue` and the daily report at the next update; settings admins stay.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.sandbox.emulator import SandboxUser
from bot.sandbox.harness import ADMIN_ID, Sandbox
from config.settings import load_settings
from storage.models import AdminGrant

AT = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)  # a Monday morning in Shanghai; four demo items are overdue
GRANTED = 555


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT) as box:
        await box.load_demo()
        yield box
    assert box.emulator.violations == []


def _user(sandbox: Sandbox, user_id: int) -> SandboxUser:
    return sandbox.emulator.add_user(user_id=user_id, first_name="办公室", label=f"user:{user_id}")


async def _as(sandbox: Sandbox, user_id: int, text: str) -> list[str]:
    return [m.text for m in await sandbox.feed(sandbox.emulator.message_update(_user(sandbox, user_id), text))]


async def _grants(sandbox: Sandbox) -> list[int]:
    async with sandbox.deps.sessionmaker() as session:
        return list(await session.scalars(select(AdminGrant.telegram_id)))


async def _grant(sandbox: Sandbox, user_id: int) -> None:
    await sandbox.use("admin")
    [ask] = await sandbox.say(f"/grant {user_id}")
    assert "确认授予" in ask.text
    [done] = await sandbox.press("✅ 确认授予")
    assert "已授予" in done.text


async def test_grant_asks_first_and_makes_an_admin_after_the_press(sandbox: Sandbox) -> None:
    assert await _as(sandbox, GRANTED, "/bind unit:区建管委") == ["只有管理员可以使用 /bind。"]
    await sandbox.use("admin")
    await sandbox.say(f"/grant {GRANTED}")
    assert await _grants(sandbox) == []  # nothing before the confirmation
    await sandbox.press("✅ 确认授予")
    assert await _grants(sandbox) == [GRANTED]
    [link] = await _as(sandbox, GRANTED, "/bind unit:区建管委")
    assert "绑定链接" in link


async def test_revoked_admin_loses_bind_overdue_and_the_daily_report_at_the_next_update(sandbox: Sandbox) -> None:
    await _grant(sandbox, GRANTED)
    [overdue] = await _as(sandbox, GRANTED, "/overdue")
    assert "逾期" in overdue and "仅供" not in overdue
    await sandbox.use("admin")
    await sandbox.say(f"/revoke {GRANTED}")
    [done] = await sandbox.press("✅ 确认撤销")
    assert "已撤销" in done.text
    assert await _as(sandbox, GRANTED, "/bind unit:区建管委") == ["只有管理员可以使用 /bind。"]
    [refused] = await _as(sandbox, GRANTED, "/overdue")
    assert "仅供" in refused
    pushed = [m for m in await sandbox.advance(timedelta(days=1)) if m.chat_id == GRANTED]
    assert not any("逾期日报" in m.text for m in pushed)


async def test_granted_admin_gets_the_daily_report(sandbox: Sandbox) -> None:
    await _grant(sandbox, GRANTED)
    await _as(sandbox, GRANTED, "/overdue")  # records the admin's chat
    pushed = [m for m in await sandbox.advance(timedelta(days=1)) if m.chat_id == GRANTED]
    assert any("逾期日报" in m.text for m in pushed)


async def test_settings_admin_cannot_be_revoked_from_the_chat(sandbox: Sandbox) -> None:
    await _grant(sandbox, GRANTED)
    [refused] = await _as(sandbox, GRANTED, f"/revoke {ADMIN_ID}")
    assert "不能在聊天中撤销" in refused
    [still] = await sandbox.feed(sandbox.emulator.message_update(sandbox._user(), "/due"))
    assert "30 天内到期" in still.text


async def test_old_confirmation_pressed_after_losing_the_role_changes_nothing(sandbox: Sandbox) -> None:
    """A granted admin asks to grant a third user, is revoked, then presses the old confirmation."""
    await _grant(sandbox, GRANTED)
    user = _user(sandbox, GRANTED)
    [ask] = await sandbox.feed(sandbox.emulator.message_update(user, "/grant 666"))
    await sandbox.use("admin")
    await sandbox.say(f"/revoke {GRANTED}")
    await sandbox.press("✅ 确认撤销")
    [refused] = await sandbox.feed(sandbox.emulator.callback_update(user, ask.message_id, "adm:g:666"))
    assert "只有管理员" in refused.text
    assert await _grants(sandbox) == []


@pytest.mark.parametrize("data", ["adm:g:20001", "adm:r:10001", "adm:g:" + "9" * 16, "adm:x"])
async def test_forged_admin_buttons_from_the_public_change_nothing(sandbox: Sandbox, data: str) -> None:
    await sandbox.use("public")
    [status] = await sandbox.say("/status 018")
    answers = await sandbox.feed(sandbox.emulator.forged_callback_update(sandbox._user(), status.message_id, data))
    assert await _grants(sandbox) == []
    assert answers and all("管理员" in m.text or "取消" in m.text or "失效" in m.text for m in answers)
    assert sandbox.emulator.unanswered_callbacks == []


@pytest.mark.parametrize("text", ["/grant", "/grant abc", "/grant -5", "/grant " + "1" * 30])
async def test_grant_without_a_valid_id_shows_usage_and_the_admins(sandbox: Sandbox, text: str) -> None:
    await sandbox.use("admin")
    [usage] = await sandbox.say(text)
    assert "用法" in usage.text and str(ADMIN_ID) in usage.text
    assert await _grants(sandbox) == []
