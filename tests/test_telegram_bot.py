"""ProposalBot.send_html / reply_html: the same sendMessage as PTB's, keeping only the new message's id."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Bot, Message
from telegram.error import BadRequest, Forbidden

from bot.app import build_application
from bot.render.cards import Button, Rendered
from bot.sandbox import faults
from bot.sandbox.emulator import BotApiEmulator, SandboxUser
from bot.sandbox.transport import SANDBOX_BASE_URL, EmulatorTransport, build_bot_kwargs
from bot.telegram.bot import ProposalBot, reply_html
from bot.telegram.keyboards import keyboard
from bot.telegram.request import JsonRequest
from config.settings import load_settings
from tests.test_api_request import Recording

USER_ID = 42
GROUP_ID = -(10**12) - 5


@pytest.fixture
def emulator() -> BotApiEmulator:
    return BotApiEmulator(now=lambda: datetime(2024, 4, 29, 1, 0, tzinfo=UTC))


@pytest.fixture
def user(emulator: BotApiEmulator) -> SandboxUser:
    return emulator.add_user(user_id=USER_ID, first_name="康红恩")


@pytest.fixture
async def bot(emulator: BotApiEmulator, user: SandboxUser) -> AsyncIterator[ProposalBot]:
    async with ProposalBot(**build_bot_kwargs(emulator)) as lean:
        yield lean


def _markup() -> Any:
    return keyboard(Rendered("x", ((Button("时间线", "tl:1"), Button("答复全文", "full:1")),)))


async def test_send_html_sends_what_send_message_sends_and_returns_the_id(
    bot: ProposalBot, emulator: BotApiEmulator
) -> None:
    message_id = await bot.send_html(USER_ID, "第 <b>018</b> 号 &amp; 答复", reply_markup=_markup())
    sent = emulator.sent[-1]
    assert sent.message_id == message_id
    assert (sent.chat_id, sent.text, sent.parse_mode) == (USER_ID, "第 018 号 & 答复", "HTML")
    assert [[b.label for b in row] for row in sent.buttons] == [["时间线", "答复全文"]]
    # the very message PTB's own call produces, field for field
    full = await bot.send_message(USER_ID, "第 <b>018</b> 号 &amp; 答复", parse_mode="HTML", reply_markup=_markup())
    assert full.message_id == message_id + 1
    assert (emulator.sent[-1].html, emulator.sent[-1].buttons) == (sent.html, sent.buttons)
    assert emulator.violations == []


async def test_send_html_raises_the_errors_ptb_raises(bot: ProposalBot, emulator: BotApiEmulator) -> None:
    with pytest.raises(BadRequest, match="parse entities"):
        await bot.send_html(USER_ID, "<b>unclosed")
    emulator.block(USER_ID)
    with pytest.raises(Forbidden):
        await bot.send_html(USER_ID, "hello")
    emulator.unblock(USER_ID)
    emulator.inject(faults.ServerError(500), method="sendMessage")
    with pytest.raises(Exception, match="Internal Server Error"):
        await bot.send_html(USER_ID, "hello")
    assert await bot.send_html(USER_ID, "hello") > 0


async def test_reply_html_answers_in_the_same_forum_topic(emulator: BotApiEmulator, user: SandboxUser) -> None:
    emulator.add_group(GROUP_ID, "长宁区人大代表联络群")
    recording = Recording(EmulatorTransport(emulator))
    request = JsonRequest(httpx_kwargs={"transport": recording})
    async with ProposalBot(**(build_bot_kwargs(emulator) | {"request": request})) as lean:
        incoming = emulator.message_update(user, "018", chat_id=GROUP_ID)["message"]
        incoming |= {"message_thread_id": 7, "is_topic_message": True}
        message = Message.de_json(incoming, lean)
        await reply_html(message, "<b>018</b>", _markup())
        plain = Message.de_json(emulator.message_update(user, "018", chat_id=GROUP_ID)["message"], lean)
        await reply_html(plain, "018")
    bodies = [json.loads(body) for method, _, body in recording.requests if method == "sendMessage"]
    assert bodies[0]["chat_id"] == GROUP_ID and bodies[0]["message_thread_id"] == 7
    assert bodies[0]["reply_markup"] == _markup().to_dict()
    assert "message_thread_id" not in bodies[1] and "reply_markup" not in bodies[1]
    assert emulator.violations == []


async def test_reply_html_refuses_a_bot_that_is_not_the_applications(
    emulator: BotApiEmulator, user: SandboxUser
) -> None:
    async with Bot(**build_bot_kwargs(emulator)) as plain:
        message = Message.de_json(emulator.message_update(user, "018")["message"], plain)
        with pytest.raises(TypeError, match="ProposalBot"):
            await reply_html(message, "018")


def test_the_application_runs_on_a_proposal_bot_and_rejects_unknown_bot_kwargs(emulator: BotApiEmulator) -> None:
    settings = load_settings(database_url="sqlite+aiosqlite:///:memory:")
    app = build_application(settings, bot_kwargs=build_bot_kwargs(emulator), tick_interval=None)
    assert isinstance(app.bot, ProposalBot)
    assert app.bot.base_url == f"{SANDBOX_BASE_URL}/bot123456:SANDBOX"
    with pytest.raises(TypeError, match="unknown bot_kwargs: proxy"):
        build_application(settings, bot_kwargs={**build_bot_kwargs(emulator), "proxy": "socks5://x"})
