"""Webhook mode end to end: the real bot behind its webhook server, the emulator on loopback as Telegram."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from bot.app import build_application, webhook_options
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.transport import serve_loopback
from config.settings import load_settings

TOKEN = "123456789:AAHwebhookwebhookwebhookwebhook"
SECRET = "s3cret-token-for-tests"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def webhook_bot(sqlite_url: str) -> AsyncIterator[tuple[BotApiEmulator, str]]:
    emulator = BotApiEmulator(now=lambda: datetime(2024, 6, 3, 2, tzinfo=UTC))
    server = await serve_loopback(emulator)
    port = _free_port()
    settings = load_settings(
        database_url=sqlite_url,
        token=TOKEN,
        api_base_url=server.url,
        webhook_url="https://bot.example.test",  # what Telegram is told; the test posts to the local server
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        webhook_port=port,
    )
    app = build_application(settings, tick_interval=None)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    assert app.updater is not None
    options = webhook_options(settings)
    await app.updater.start_webhook(**options)
    await app.start()
    try:
        yield emulator, f"http://127.0.0.1:{port}/telegram"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
        await server.stop()


async def _wait_for_reply(emulator: BotApiEmulator, chat_id: int) -> str:
    for _ in range(500):  # waiting for the bot's HTTP round trip, not for wall-clock time
        messages = emulator.messages_to(chat_id)
        if messages:
            return messages[-1].text
        await asyncio.sleep(0.01)
    raise AssertionError("the bot never answered")


async def test_webhook_registers_itself_and_answers_with_secret(webhook_bot: tuple[BotApiEmulator, str]) -> None:
    emulator, url = webhook_bot
    assert emulator.webhook_url == "https://bot.example.test/telegram"
    user = emulator.add_user(user_id=555, first_name="测试")
    update = emulator.message_update(user, "/start")
    async with httpx.AsyncClient() as client:
        response = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status_code == 200
    assert "您好" in await _wait_for_reply(emulator, user.chat_id)


async def test_webhook_rejects_wrong_secret(webhook_bot: tuple[BotApiEmulator, str]) -> None:
    emulator, url = webhook_bot
    user = emulator.add_user(user_id=556, first_name="冒充")
    update = emulator.message_update(user, "/start")
    async with httpx.AsyncClient() as client:
        response = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"})
    assert response.status_code == 403
    assert emulator.messages_to(user.chat_id) == []
