"""End-to-end: who is an admin. The settings' PROPOSAL_BOT_ADMINS only: the check writes nothing, and a stored
`admin` role (which the bot once wrote on an admin's first command) grants nothing once the id is off the list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from bot.sandbox.emulator import SandboxUser
from bot.sandbox.harness import Sandbox
from config.settings import load_settings
from storage.accounts import find_account
from storage.models import Account

AT = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)  # a Monday morning in Shanghai; four demo items are overdue
LISTED = 777  # in PROPOSAL_BOT_ADMINS, and never bound by the sandbox
FORMER = 888  # was an admin, is no longer in the list


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url, admins=[LISTED]), at=AT) as box:
        await box.load_demo()
        yield box
    assert box.emulator.violations == []


def _user(sandbox: Sandbox, user_id: int) -> SandboxUser:
    return sandbox.emulator.add_user(user_id=user_id, first_name="办公室", label=f"user:{user_id}")


async def _former_admin(sandbox: Sandbox) -> SandboxUser:
    """A user whose account holds the `admin` role the bot stored while their id was in the list."""
    user = _user(sandbox, FORMER)
    await sandbox.feed(sandbox.emulator.message_update(user, "/settings"))  # first contact: a public account
    async with sandbox.deps.sessionmaker.begin() as session:
        await session.execute(update(Account).where(Account.telegram_id == FORMER).values(role="admin"))
    return user


async def _role(sandbox: Sandbox, user_id: int) -> str | None:
    async with sandbox.deps.sessionmaker() as session:
        account = await find_account(session, telegram_id=user_id)
    return None if account is None else str(account.role)


async def test_listed_admin_first_command_stores_no_admin_role(sandbox: Sandbox) -> None:
    """The admin is recognised from the settings; the account the command records for pushes stays `public`."""
    [due] = await sandbox.feed(sandbox.emulator.message_update(_user(sandbox, LISTED), "/due"))
    assert "30 天内到期" in due.text
    assert await _role(sandbox, LISTED) == "public"


async def test_listed_admin_with_a_plain_account_gets_the_overdue_digest(sandbox: Sandbox) -> None:
    await sandbox.feed(sandbox.emulator.message_update(_user(sandbox, LISTED), "/overdue"))
    pushed = [m for m in await sandbox.advance(timedelta(days=1)) if m.chat_id == LISTED]
    assert any("逾期日报" in m.text for m in pushed)


@pytest.mark.parametrize("command", ["/due", "/overdue", "/bind unit:区建管委", "/reply 018"])
async def test_stored_admin_role_off_the_list_grants_nothing(sandbox: Sandbox, command: str) -> None:
    user = await _former_admin(sandbox)
    [refused] = await sandbox.feed(sandbox.emulator.message_update(user, command))
    assert "管理员" in refused.text or "仅供" in refused.text
    assert await _role(sandbox, FORMER) == "admin"  # left as it was: nothing reads it


async def test_stored_admin_role_off_the_list_gets_no_admin_pushes(sandbox: Sandbox) -> None:
    await _former_admin(sandbox)
    pushed = [m for m in await sandbox.advance(timedelta(days=1)) if m.chat_id == FORMER]
    assert not any("逾期日报" in m.text for m in pushed)
