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


# ---- the bot in a group where it sees every message (privacy mode off, or the bot is an admin) ----------------


@pytest.mark.parametrize("text", ["大家好", "/status@otherbot 018", "018", "/nosuchcommand", "@otherbot 018"])
async def test_group_chatter_and_other_bots_commands_get_no_answer(sandbox: Sandbox, text: str) -> None:
    sandbox.join_group("代表小组", privacy=False)
    assert await sandbox.say(text) == []


@pytest.mark.parametrize("text", ["/status 018", "/status@proposal_bot 018", "@proposal_bot 018"])
async def test_group_commands_for_this_bot_and_mentions_get_the_public_card(sandbox: Sandbox, text: str) -> None:
    group_id = sandbox.join_group("代表小组", privacy=False)
    [card] = await sandbox.say(text)
    assert card.chat_id == group_id and "上海硅巷" in card.text


async def test_group_bare_number_replying_to_the_bot_is_a_look_up(sandbox: Sandbox) -> None:
    sandbox.join_group("代表小组", privacy=False)
    await sandbox.say("/status 018")
    [card] = await sandbox.reply("008")
    assert "关于某重点企业用地调整的建议" in card.text


async def test_group_card_shows_public_content_only_even_to_its_own_deputy(sandbox: Sandbox) -> None:
    await sandbox.use("deputy:钱丽")
    private = "\n".join(m.text for m in await sandbox.say("/status 008"))
    assert "列入计划拟解决" in private  # her own non-public reply, in her private chat
    sandbox.join_group("代表小组", privacy=False)
    in_group = "\n".join(m.text for m in await sandbox.say("/status 008"))
    assert "答复不予公开" in in_group
    assert "列入计划拟解决" not in in_group and "郑伟" not in in_group
    for label in ("🕑 时间线", "📄 答复全文"):
        shown = "\n".join(m.text for m in await sandbox.press(label)) if _has_button(sandbox, label) else ""
        assert "列入计划拟解决" not in shown


def _has_button(sandbox: Sandbox, label: str) -> bool:
    last = sandbox.emulator.last_message(sandbox.chat_id or sandbox.role.user_id)
    return any(b.label == label for row in last.buttons for b in row)


async def test_edited_look_up_is_not_answered_again(sandbox: Sandbox) -> None:
    user = sandbox.emulator.find_user(sandbox.role.label)
    assert user is not None
    asked = sandbox.emulator.message_update(user, "018")
    assert len(await sandbox.feed(asked)) == 1
    edit = sandbox.emulator.edited_message_update(user, asked["message"]["message_id"], "/status 008")
    assert await sandbox.feed(edit) == []


async def test_channel_post_is_not_answered(sandbox: Sandbox) -> None:
    sandbox.emulator.add_channel(-1005550000001, "长宁人大")
    assert await sandbox.feed(sandbox.emulator.channel_post_update(-1005550000001, "/status 018")) == []
