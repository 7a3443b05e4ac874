"""Webhook mode end to end: the real bot behind its own webhook server (bot/telegram/webhook.py), the emulator on
loopback as Telegram, and real HTTP requests: the secret checked from the headers before the body is read, the
body limit, malformed bodies answered 400 without their content in the log, and ``GET /healthz``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from bot.app import build_application, open_webhook
from bot.domain.clock import VirtualClock
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.transport import serve_loopback
from bot.telegram.webhook import MAX_BODY, SECRET_HEADER, WebhookServer
from config.settings import load_settings

TOKEN = "123456789:AAHwebhookwebhookwebhookwebhook"
SECRET = "s3cret-token-for-tests"
NOW = datetime(2024, 6, 3, 2, tzinfo=UTC)
MARKER = "PAYLOAD-7f3a-do-not-log"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Hook:
    emulator: BotApiEmulator
    server: WebhookServer
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/healthz"


@pytest.fixture
async def hook(sqlite_url: str) -> AsyncIterator[Hook]:
    emulator = BotApiEmulator(now=lambda: NOW)
    loopback = await serve_loopback(emulator)
    port = _free_port()
    settings = load_settings(
        database_url=sqlite_url,
        token=TOKEN,
        api_base_url=loopback.url,
        webhook_url="https://bot.example.test",  # what Telegram is told; the test posts to the local server
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        webhook_port=port,
    )
    app = build_application(settings, tick_interval=None, with_updater=False, clock=VirtualClock(NOW))
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    server = await open_webhook(app)
    await app.start()
    try:
        yield Hook(emulator, server, port)
    finally:
        await server.stop()
        await app.stop()
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
        await loopback.stop()


async def _wait_for_reply(emulator: BotApiEmulator, chat_id: int) -> str:
    for _ in range(500):  # waiting for the bot's HTTP round trip, not for wall-clock time
        messages = emulator.messages_to(chat_id)
        if messages:
            return messages[-1].text
        await asyncio.sleep(0.01)
    raise AssertionError("the bot never answered")


async def _head_only(port: int, headers: dict[str, str]) -> tuple[int, float]:
    """Send a POST's headers and no body; the status the server answers and how long that took."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = ["POST /telegram HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    started = time.perf_counter()
    writer.write("\r\n".join(lines).encode())
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    elapsed = time.perf_counter() - started
    writer.close()
    return int(status_line.split()[1]), elapsed


async def test_webhook_registers_itself_and_answers_with_secret(hook: Hook) -> None:
    assert hook.emulator.webhook_url == "https://bot.example.test/telegram"
    assert hook.emulator.webhook_secret == SECRET
    user = hook.emulator.add_user(user_id=555, first_name="测试")
    update = hook.emulator.message_update(user, "/start")
    async with httpx.AsyncClient() as client:
        response = await client.post(hook.url, json=update, headers={SECRET_HEADER: SECRET})
    assert response.status_code == 200
    assert "您好" in await _wait_for_reply(hook.emulator, user.chat_id)


async def test_webhook_rejects_wrong_secret(hook: Hook) -> None:
    user = hook.emulator.add_user(user_id=556, first_name="冒充")
    update = hook.emulator.message_update(user, "/start")
    async with httpx.AsyncClient() as client:
        wrong = await client.post(hook.url, json=update, headers={SECRET_HEADER: "wrong"})
        missing = await client.post(hook.url, json=update)
    assert wrong.status_code == missing.status_code == 403
    assert hook.emulator.messages_to(user.chat_id) == []


async def test_webhook_95_mb_without_secret_refused_from_the_headers(hook: Hook) -> None:
    """The acceptance figure: 403 in under 0.1 s, with no byte of the announced 95 MB body sent or read."""
    status, seconds = await _head_only(
        hook.port, {"Content-Type": "application/json", "Content-Length": str(95 * 1024 * 1024)}
    )
    assert status == 403
    assert seconds < 0.1


async def test_webhook_eight_floods_without_secret_cost_no_memory(hook: Hook) -> None:
    """Eight clients each pushing 95 MB without the secret: all refused, and the bot holds none of it."""
    body = memoryview(bytes(95 * 1024 * 1024))
    head = (
        "POST /telegram HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    answers: list[bytes] = []

    def flood() -> None:
        with socket.create_connection(("127.0.0.1", hook.port), timeout=10) as sock:
            sock.sendall(head)
            with contextlib.suppress(OSError):  # the server closed the connection after its answer: the point
                sock.sendall(body)
            try:
                answers.append(sock.recv(64))
            except OSError:
                answers.append(b"reset")

    tracemalloc.start()
    try:
        started = time.perf_counter()
        threads = [threading.Thread(target=flood) for _ in range(8)]
        for thread in threads:
            thread.start()
        await asyncio.gather(*(asyncio.to_thread(t.join) for t in threads))  # the server answers on this loop
        elapsed = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(answers) == 8
    assert all(a.startswith(b"HTTP/1.1 403") or a in (b"", b"reset") for a in answers)
    assert peak < 16 * 1024 * 1024
    assert elapsed < 5


async def test_webhook_body_over_one_megabyte_with_secret_gets_413(hook: Hook) -> None:
    status, _seconds = await _head_only(
        hook.port,
        {SECRET_HEADER: SECRET, "Content-Type": "application/json", "Content-Length": str(2 * 1024 * 1024)},
    )
    assert status == 413
    async with httpx.AsyncClient() as client:
        at_limit = await client.post(
            hook.url,
            content=b'{"update_id": 1' + b" " * (MAX_BODY - 16) + b"}",
            headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
        )
    assert at_limit.status_code == 200  # exactly 1 MB is still fine


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b"{not json " + MARKER.encode(),
        json.dumps({"note": MARKER}).encode(),
        json.dumps([1, 2, MARKER]).encode(),
        json.dumps({"update_id": "1", "message": MARKER}).encode(),
        "答复".encode("gb18030") + MARKER.encode(),
    ],
    ids=["empty-object", "not-json", "no-update-id", "a-list", "string-id", "not-utf8"],
)
async def test_webhook_malformed_body_gets_400_and_stays_out_of_the_log(
    hook: Hook, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            hook.url, content=body, headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"}
        )
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": "not an update"}
    assert MARKER not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_webhook_healthz_reports_database_and_last_bot_api_call(hook: Hook) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(hook.health_url)
        wrong_method = await client.get(hook.url)
        unknown = await client.get(f"http://127.0.0.1:{hook.port}/elsewhere")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "database": "ok", "last_bot_api_call": NOW.isoformat()}
    assert wrong_method.status_code == 405
    assert unknown.status_code == 404
