"""End-to-end: a button pressed while the bot was stopped or busy. Telegram answers "query is too old" when the
bot finally answers the press; the press still does its work, and only the spinner answer is skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.sandbox.emulator import SentMessage
from bot.sandbox.harness import Sandbox
from config.settings import load_settings

AT = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, after 018's reply


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT) as box:
        assert await box.load_demo() > 10
        await box.use("public")
        yield box
    assert box.emulator.violations == []


async def _press_late(sandbox: Sandbox, message: SentMessage, label: str) -> list[SentMessage]:
    """Press `label` now, but let the bot see the press only a minute later (as after a restart)."""
    user = sandbox.emulator.find_user(sandbox.role.label)
    assert user is not None
    [data] = [b.callback_data for row in message.buttons for b in row if b.label == label]
    assert data is not None
    update = sandbox.emulator.callback_update(user, message.message_id, data)
    sandbox.clock.advance(timedelta(minutes=1))
    return await sandbox.feed(update)


async def test_stale_press_still_shows_the_timeline(sandbox: Sandbox) -> None:
    [card] = await sandbox.say("018")
    shown = await _press_late(sandbox, card, "🕑 时间线")
    assert shown and "时间线" in shown[-1].text
    assert len(sandbox.emulator.unanswered_callbacks) == 1  # the spinner answer was too late, and skipped
    assert sandbox.emulator.callback_answers == []


async def test_stale_press_on_settings_still_saves(sandbox: Sandbox) -> None:
    [menu] = await sandbox.say("/settings")
    labels = [b.label for row in menu.buttons for b in row]
    english = next(label for label in labels if "English" in label)
    [edited] = await _press_late(sandbox, menu, english)  # saved, and the menu redrawn in English
    assert edited.message_id == menu.message_id and "Settings" in edited.text
