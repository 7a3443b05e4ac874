"""End-to-end: the bot in a group through the sandbox, with privacy mode as Telegram applies it, and the
console's `:chat` and `:reply` meta-commands."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.sandbox.console import Console
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


async def test_console_chat_group_then_private_moves_the_conversation(sandbox: Sandbox) -> None:
    out = io.StringIO()
    console = Console(sandbox, out)
    await console.handle(":chat group 代表小组")
    group_id = sandbox.chat_id
    assert group_id is not None and sandbox.emulator.chats[group_id].is_group
    await console.handle("大家好")  # privacy mode: chatter never reaches the bot
    assert sandbox.emulator.sent == []
    await console.handle("/status 018")
    [card] = sandbox.emulator.sent
    assert card.chat_id == group_id and "上海硅巷" in card.text
    assert "[to group 代表小组 @" in out.getvalue()
    await console.handle(":chat private")
    await console.handle("/status 018")
    assert sandbox.emulator.sent[-1].chat_id == sandbox.role.user_id


async def test_console_reply_answers_the_bots_last_message(sandbox: Sandbox) -> None:
    out = io.StringIO()
    console = Console(sandbox, out)
    await console.handle(":chat group 代表小组")
    await console.handle("/status 018")
    card = sandbox.emulator.sent[-1]
    before = len(sandbox.emulator.sent)
    await console.handle(":reply 018")  # a reply to the bot reaches it even under privacy mode
    assert len(sandbox.emulator.sent) > before
    [incoming] = [m for (chat, _), m in sandbox.emulator._messages.items() if m.get("text") == "018"]
    assert incoming["reply_to_message"]["message_id"] == card.message_id


@pytest.mark.parametrize(
    ("line", "error"), [(":chat", ":chat expects"), (":chat group", ":chat expects"), (":reply", ":reply needs")]
)
async def test_console_chat_and_reply_bad_input_explained(sandbox: Sandbox, line: str, error: str) -> None:
    out = io.StringIO()
    assert await Console(sandbox, out).handle(line) is True
    assert f"(!) {error}" in out.getvalue()


async def test_console_reply_with_no_bot_message_says_so(sandbox: Sandbox) -> None:
    out = io.StringIO()
    await Console(sandbox, out).handle(":reply 018")
    assert "(!) the bot sent nothing" in out.getvalue()
