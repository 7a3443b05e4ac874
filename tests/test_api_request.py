"""JsonRequest: calls without files go to the Bot API as JSON bodies, uploads as PTB's forms, errors as PTB's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.sandbox.emulator import BotApiEmulator, SandboxUser
from bot.sandbox.transport import SANDBOX_BASE_URL, EmulatorTransport
from bot.telegram.request import JsonRequest

TOKEN = "123456:SANDBOX"
USER_ID = 42


class Recording(httpx.AsyncBaseTransport):
    """Passes requests on to the emulator and keeps each one's content type and body."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[tuple[str, str, bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        method = request.url.path.rsplit("/", 1)[-1]
        self.requests.append((method, request.headers.get("content-type", ""), body))
        return await self.inner.handle_async_request(request)


@pytest.fixture
def emulator() -> BotApiEmulator:
    return BotApiEmulator(now=lambda: datetime(2024, 4, 29, 1, 0, tzinfo=UTC))


@pytest.fixture
def user(emulator: BotApiEmulator) -> SandboxUser:
    return emulator.add_user(user_id=USER_ID, first_name="康红恩")


@pytest.fixture
def recording(emulator: BotApiEmulator) -> Recording:
    return Recording(EmulatorTransport(emulator))


@pytest.fixture
async def bot(recording: Recording, user: SandboxUser) -> AsyncIterator[Bot]:
    request = JsonRequest(httpx_kwargs={"transport": recording})
    async with Bot(TOKEN, base_url=f"{SANDBOX_BASE_URL}/bot", request=request) as json_bot:
        yield json_bot


async def test_a_message_with_buttons_goes_as_one_json_object(
    bot: Bot, recording: Recording, emulator: BotApiEmulator
) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("时间线", callback_data="tl:1")]])
    message = await bot.send_message(USER_ID, "第 <b>018</b> 号", parse_mode=ParseMode.HTML, reply_markup=markup)
    method, content_type, body = recording.requests[-1]
    assert (method, content_type) == ("sendMessage", "application/json")
    assert json.loads(body) == {
        "chat_id": USER_ID,
        "text": "第 <b>018</b> 号",
        "parse_mode": "HTML",
        "reply_markup": {"inline_keyboard": [[{"text": "时间线", "callback_data": "tl:1"}]]},
    }
    assert "第".encode() in body  # UTF-8 as it is, not \\u escapes or percent-encoding
    assert message.text == "第 018 号" and message.reply_markup == markup
    assert emulator.violations == []


async def test_an_upload_still_goes_as_a_multipart_form(bot: Bot, recording: Recording) -> None:
    message = await bot.send_document(USER_ID, document=b"reply letter", filename="reply.txt", caption="答复")
    method, content_type, _ = recording.requests[-1]
    assert method == "sendDocument" and content_type.startswith("multipart/form-data")
    assert message.document is not None and message.document.file_name == "reply.txt"


async def test_an_api_error_comes_back_as_ptb_raises_it(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(999, "nobody")


@pytest.mark.parametrize(
    ("failure", "raised", "words"),
    [
        (httpx.ReadTimeout("slow"), TimedOut, "Timed out"),
        (httpx.PoolTimeout("busy"), TimedOut, "Pool timeout"),
        (httpx.ConnectError("refused"), NetworkError, "httpx.ConnectError: refused"),
    ],
)
async def test_transport_failures_become_ptbs_errors(
    failure: httpx.HTTPError, raised: type[Exception], words: str
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure

    request = JsonRequest(httpx_kwargs={"transport": httpx.MockTransport(fail)})
    await request.initialize()
    try:
        with pytest.raises(raised, match=words):
            await request.post(f"{SANDBOX_BASE_URL}/bot{TOKEN}/getMe", request_data=_data())
    finally:
        await request.shutdown()


async def test_timeouts_given_per_call_reach_httpx() -> None:
    seen: list[dict[str, float | None]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"ok": True, "result": True})

    request = JsonRequest(read_timeout=7.0, httpx_kwargs={"transport": httpx.MockTransport(answer)})
    await request.initialize()
    try:
        url = f"{SANDBOX_BASE_URL}/bot{TOKEN}/close"
        await request.post(url, request_data=_data())
        await request.post(url, request_data=_data(), read_timeout=30.0, connect_timeout=2.0)
    finally:
        await request.shutdown()
    assert seen[0]["read"] == 7.0
    assert (seen[1]["read"], seen[1]["connect"]) == (30.0, 2.0)


def _data() -> RequestData:
    return RequestData([RequestParameter.from_input("chat_id", USER_ID)])
