"""Tests for the sandbox Bot API emulator, driven through real PTB objects over the in-process transport."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram import error as tg_error
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.sandbox.emulator import BotApiEmulator, Button, SandboxUser
from bot.sandbox.faults import Forbidden, RetryAfter, ServerError, SimulatedTimeout, Timeout
from bot.sandbox.markup import _ENTITY_TYPES, _HTML_ENTITY_RE, _HTML_TAGS, _NAMED_ENTITIES, EntityParseError, parse_html
from bot.sandbox.spec import BotApiSpec, SpecViolation
from bot.sandbox.transport import _json_answer, build_bot_kwargs, dispatch, make_request, serve_loopback

START = datetime(2024, 4, 29, 9, 0, tzinfo=UTC)
USER_ID = 42


class FakeClock:
    """A virtual wall clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current


class FakeTicks:
    """A monotonic clock for the rate limiter that only moves when the test says so."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it PTB 22 warns (PTBDeprecationWarning) when it builds a RetryAfter, and warnings are errors here.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def ticks() -> FakeTicks:
    return FakeTicks()


@pytest.fixture
def emulator(clock: FakeClock, ticks: FakeTicks) -> BotApiEmulator:
    return BotApiEmulator(now=clock, monotonic=ticks)


@pytest.fixture
def limited(clock: FakeClock, ticks: FakeTicks) -> BotApiEmulator:
    return BotApiEmulator(now=clock, monotonic=ticks, enforce_limits=True)


@pytest.fixture
def user(emulator: BotApiEmulator) -> SandboxUser:
    return emulator.add_user(user_id=USER_ID, first_name="康红恩", label="deputy:康红恩")


@pytest.fixture
async def bot(emulator: BotApiEmulator, user: SandboxUser) -> AsyncIterator[Bot]:
    async with Bot(**build_bot_kwargs(emulator)) as sandbox_bot:
        yield sandbox_bot


@pytest.fixture
def spec() -> BotApiSpec:
    return BotApiSpec.default()


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


# ---- the spec -----------------------------------------------------------------------------------------------


def test_spec_method_any_case_returns_canonical_name(spec: BotApiSpec) -> None:
    assert spec.method("SENDMESSAGE").name == "sendMessage"
    assert spec.find_method("noSuchMethod") is None


def test_spec_check_request_missing_required_raises(spec: BotApiSpec) -> None:
    with pytest.raises(SpecViolation, match="'text' is required"):
        spec.check_request("sendMessage", {"chat_id": 1})


def test_spec_check_request_unknown_parameter_raises(spec: BotApiSpec) -> None:
    with pytest.raises(SpecViolation, match="unknown parameter 'colour'"):
        spec.check_request("sendMessage", {"chat_id": 1, "text": "x", "colour": "red"})


def test_spec_check_request_button_without_text_raises(spec: BotApiSpec) -> None:
    markup = {"inline_keyboard": [[{"callback_data": "x"}]]}
    with pytest.raises(SpecViolation, match="text: missing required field"):
        spec.check_request("sendMessage", {"chat_id": 1, "text": "x", "reply_markup": markup})


def test_spec_check_request_upload_counts_as_parameter_passes(spec: BotApiSpec) -> None:
    spec.check_request("sendDocument", {"chat_id": 1}, {"document": ("a.txt", b"a")})


def test_spec_check_object_nested_missing_field_reported(spec: BotApiSpec) -> None:
    update = {"update_id": 1, "message": {"message_id": 1, "date": 0, "chat": {"type": "private"}}}
    assert spec.check_object("Update", update) == ["Update.message.chat.id: missing required field of Chat"]


def test_spec_check_object_callback_message_checked_through_abstract_type(spec: BotApiSpec) -> None:
    query = {"id": "1", "from": {"id": 1, "is_bot": False}, "chat_instance": "1", "message": {"message_id": 1}}
    problems = spec.check_object("CallbackQuery", query)
    assert "CallbackQuery.from.first_name: missing required field of User" in problems
    assert any(p.startswith("CallbackQuery.message.") for p in problems)


def test_spec_decode_form_types_follow_declared_parameters(spec: BotApiSpec) -> None:
    form = {"chat_id": "42", "text": "123", "reply_markup": '{"inline_keyboard": []}', "protect_content": "true"}
    assert spec.decode_form("sendMessage", form) == {
        "chat_id": 42,
        "text": "123",
        "reply_markup": {"inline_keyboard": []},
        "protect_content": True,
    }
    assert spec.decode_form("sendMessage", {"chat_id": "@channel"}) == {"chat_id": "@channel"}


# ---- HTML entities ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "plain", "entities"),
    [
        ("plain", "plain", []),
        ("<b>a</b> &amp; &lt;b&gt; &#x27;q&#39; &nbsp;", "a & <b> 'q' &nbsp;", [(0, 1, "bold")]),
        ("<B>x<i>y</i></B>", "xy", [(0, 2, "bold"), (1, 1, "italic")]),
        ('<a href="https://t.me/x?a=1&amp;b=2">l</a>', "l", [(0, 1, "text_link")]),
        ('<pre><code class="language-python">x</code></pre>', "x", [(0, 1, "pre")]),
        ('<span class="tg-spoiler">s</span>', "s", [(0, 1, "spoiler")]),
        ("<blockquote expandable>q</blockquote>", "q", [(0, 1, "expandable_blockquote")]),
        ("😀<b>x</b>", "😀x", [(2, 1, "bold")]),
        ("tom & jerry", "tom & jerry", []),
    ],
)
def test_parse_html_valid_input_gives_plain_text_and_entities(
    html: str, plain: str, entities: list[tuple[int, int, str]]
) -> None:
    text, parsed = parse_html(html)
    assert text == plain
    assert [(e["offset"], e["length"], e["type"]) for e in parsed] == entities


def test_parse_html_link_and_language_attributes_kept() -> None:
    _, link = parse_html('<a href="https://t.me/x?a=1&amp;b=2">l</a>')
    _, pre = parse_html('<pre><code class="language-python">x</code></pre>')
    assert link[0]["url"] == "https://t.me/x?a=1&b=2"
    assert pre[0]["language"] == "python"


@pytest.mark.parametrize(
    ("html", "message"),
    [
        ("<p>x</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ('<a href="x>y</a>', "Unclosed start tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("数<br>", 'Unsupported start tag "br" at byte offset 3'),
    ],
)
def test_parse_html_malformed_input_raises_telegram_message(html: str, message: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_html(html)
    assert str(caught.value) == message


# ---- requests through PTB -----------------------------------------------------------------------------------


async def test_get_me_through_transport_returns_bot_user(bot: Bot, emulator: BotApiEmulator) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (emulator.bot_id, "proposal_bot", True)
    assert emulator.violations == []


async def test_send_message_html_with_keyboard_records_text_and_buttons(
    bot: Bot, emulator: BotApiEmulator, clock: FakeClock
) -> None:
    clock.current = START + timedelta(hours=3)
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("关注", callback_data="follow:18")],
            [InlineKeyboardButton("全文", url="https://example.org/18")],
        ]
    )
    message = await bot.send_message(USER_ID, "<b>第018号</b> 已答复 &lt;A&gt;", parse_mode="HTML", reply_markup=markup)

    sent = emulator.last_message(USER_ID)
    assert sent.text == "第018号 已答复 <A>"
    assert sent.html == "<b>第018号</b> 已答复 &lt;A&gt;"
    assert sent.buttons == (
        (Button("关注", callback_data="follow:18"),),
        (Button("全文", url="https://example.org/18"),),
    )
    assert sent.date == clock.current
    assert message.date == clock.current
    assert message.text == sent.text
    assert message.text_html == "<b>第018号</b> 已答复 &lt;A&gt;"
    assert message.reply_markup == markup
    assert emulator.messages_to(USER_ID) == [sent]
    assert emulator.stats["messages_sent"] == 1


async def test_send_message_too_long_raises_bad_request(bot: Bot, emulator: BotApiEmulator) -> None:
    with pytest.raises(tg_error.BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER_ID, "字" * 4097)
    assert emulator.sent == []


async def test_send_message_4096_chars_after_tags_accepted(bot: Bot, emulator: BotApiEmulator) -> None:
    await bot.send_message(USER_ID, "<b>" + "字" * 4090 + "</b>&amp;" + "x" * 5, parse_mode="HTML")
    assert len(emulator.last_message(USER_ID).text) == 4096


@pytest.mark.parametrize("html", ["<p>x</p>", "<b>x", "a < b", "<b><i>x</b></i>"])
async def test_send_message_malformed_html_raises_bad_request(bot: Bot, emulator: BotApiEmulator, html: str) -> None:
    with pytest.raises(tg_error.BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER_ID, html, parse_mode="HTML")
    assert emulator.sent == []


async def test_send_message_unknown_chat_raises_bad_request(bot: Bot) -> None:
    with pytest.raises(tg_error.BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(777, "hi")


async def test_send_message_callback_data_over_64_bytes_raises_bad_request(bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="数" * 22)]])
    with pytest.raises(tg_error.BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(USER_ID, "hi", reply_markup=markup)


async def test_send_document_get_file_download_round_trips_bytes(bot: Bot, emulator: BotApiEmulator) -> None:
    content = "答复函 第018号\n".encode()
    message = await bot.send_document(USER_ID, content, filename="答复.txt", caption="<i>全文</i>", parse_mode="HTML")
    assert message.document is not None
    assert message.document.file_name == "答复.txt"

    file = await bot.get_file(message.document.file_id)
    assert bytes(await file.download_as_bytearray()) == content

    sent = emulator.last_message(USER_ID)
    assert (sent.kind, sent.filename, sent.caption, sent.data) == ("document", "答复.txt", "全文", content)


async def test_document_update_file_downloads_through_bot(
    bot: Bot, emulator: BotApiEmulator, user: SandboxUser
) -> None:
    raw = emulator.document_update(user, "letter.txt", b"\xe7\xad\x94", caption="/reply 018")
    update = Update.de_json(raw, bot)
    assert update.message is not None and update.message.document is not None
    file = await update.message.document.get_file()
    assert bytes(await file.download_as_bytearray()) == b"\xe7\xad\x94"
    assert update.message.document.mime_type == "text/plain"


async def test_send_photo_png_records_dimensions(bot: Bot, emulator: BotApiEmulator) -> None:
    message = await bot.send_photo(USER_ID, _png(3, 2), filename="chart.png", caption="图表")
    assert [(p.width, p.height) for p in message.photo] == [(3, 2)]
    assert emulator.last_message(USER_ID).kind == "photo"


async def test_send_photo_non_image_raises_bad_request(bot: Bot) -> None:
    with pytest.raises(tg_error.BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(USER_ID, b"not an image", filename="chart.png")


async def test_edit_message_text_updates_record_and_logs_edit(
    bot: Bot, emulator: BotApiEmulator, clock: FakeClock
) -> None:
    first = await bot.send_message(USER_ID, "v1")
    clock.current = START + timedelta(minutes=5)
    edited = await bot.edit_message_text("<b>v2</b>", chat_id=USER_ID, message_id=first.message_id, parse_mode="HTML")
    assert isinstance(edited, type(first))
    assert edited.edit_date == clock.current
    assert emulator.last_message(USER_ID).text == "v2"
    assert [e.text for e in emulator.edits] == ["v2"]
    assert len(emulator.sent) == 1


async def test_edit_message_text_same_content_raises_not_modified(bot: Bot) -> None:
    first = await bot.send_message(USER_ID, "v1")
    with pytest.raises(tg_error.BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("v1", chat_id=USER_ID, message_id=first.message_id)


async def test_edit_message_reply_markup_removes_buttons(bot: Bot, emulator: BotApiEmulator) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a")]])
    first = await bot.send_message(USER_ID, "v1", reply_markup=markup)
    await bot.edit_message_reply_markup(chat_id=USER_ID, message_id=first.message_id)
    assert emulator.last_message(USER_ID).buttons == ()


async def test_set_my_commands_stored_per_scope_and_language(bot: Bot, emulator: BotApiEmulator) -> None:
    await bot.set_my_commands([("status", "查询建议状态")], language_code="zh")
    await bot.set_my_commands([("status", "Item status")], language_code="en")
    await bot.set_my_commands([("status", "Status")])

    assert emulator.commands[("default", "zh")] == (("status", "查询建议状态"),)
    assert emulator.commands[("default", "en")] == (("status", "Item status"),)
    assert emulator.commands[("default", "")] == (("status", "Status"),)
    fetched = await bot.get_my_commands(language_code="zh")
    assert [(c.command, c.description) for c in fetched] == [("status", "查询建议状态")]

    await bot.delete_my_commands(language_code="en")
    assert ("default", "en") not in emulator.commands


@pytest.mark.parametrize(
    ("commands", "language", "message"),
    [
        ([("Status", "x")], None, "BOT_COMMAND_INVALID"),
        ([("/status", "x")], None, "BOT_COMMAND_INVALID"),
        ([("status", "x")], "zh-hans", "invalid language code"),
    ],
)
async def test_set_my_commands_invalid_input_raises_bad_request(
    bot: Bot, commands: list[tuple[str, str]], language: str | None, message: str
) -> None:
    with pytest.raises(tg_error.BadRequest, match=f"(?i){message}"):
        await bot.set_my_commands(commands, language_code=language)


async def test_misc_methods_answer_true_and_record(bot: Bot, emulator: BotApiEmulator) -> None:
    assert await bot.send_chat_action(USER_ID, "typing")
    assert await bot.set_chat_menu_button()
    assert await bot.delete_webhook(drop_pending_updates=True)
    info = await bot.get_webhook_info()
    assert info.url == ""
    assert emulator.chat_actions == [(USER_ID, "typing")]
    assert emulator.violations == []


# ---- spec enforcement ---------------------------------------------------------------------------------------


async def test_handle_unknown_method_answers_400_and_records_violation(emulator: BotApiEmulator) -> None:
    status, body = await emulator.handle("sendTelepathy", {"chat_id": 1})
    assert status == 400
    assert body["ok"] is False
    assert "unknown method" in body["description"]
    assert emulator.violations == ["sendTelepathy: unknown method 'sendTelepathy'"]


async def test_handle_unknown_parameter_answers_400_and_records_violation(
    emulator: BotApiEmulator, user: SandboxUser
) -> None:
    status, body = await emulator.handle("sendMessage", {"chat_id": USER_ID, "text": "x", "colour": "red"})
    assert (status, body["error_code"]) == (400, 400)
    assert body["description"] == "Bad Request: unknown parameter 'colour' for method sendMessage"
    assert len(emulator.violations) == 1
    assert emulator.sent == []


async def test_handle_missing_required_parameter_answers_400_and_records_violation(
    emulator: BotApiEmulator,
) -> None:
    status, _ = await emulator.handle("sendMessage", {"text": "x"})
    assert status == 400
    assert "'chat_id' is required" in emulator.violations[0]


async def test_handle_method_name_any_case_accepted(emulator: BotApiEmulator, user: SandboxUser) -> None:
    status, body = await emulator.handle("SendMessage", {"chat_id": USER_ID, "text": "x"})
    assert status == 200
    assert body["result"]["text"] == "x"
    assert emulator.stats["requests.sendMessage"] == 1


async def test_handle_spec_method_not_emulated_answers_400_without_violation(emulator: BotApiEmulator) -> None:
    status, body = await emulator.handle("getChat", {"chat_id": 1})
    assert status == 400
    assert body["description"] == "Bad Request: method not supported by the sandbox"
    assert emulator.violations == []


async def test_results_and_updates_pass_spec_object_check(
    emulator: BotApiEmulator, user: SandboxUser, spec: BotApiSpec
) -> None:
    keyboard = {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]}
    emulator.add_group(-100, "代表小组")
    calls: list[tuple[str, dict[str, Any], dict[str, tuple[str, bytes]] | None]] = [
        ("getMe", {}, None),
        ("sendMessage", {"chat_id": USER_ID, "text": "<b>x</b>", "parse_mode": "HTML", "reply_markup": keyboard}, None),
        ("sendMessage", {"chat_id": -100, "text": "group"}, None),
        ("sendDocument", {"chat_id": USER_ID, "caption": "c"}, {"document": ("a.pdf", b"%PDF")}),
        ("sendPhoto", {"chat_id": USER_ID}, {"photo": ("c.png", _png(1, 1))}),
        ("editMessageText", {"chat_id": USER_ID, "message_id": 1, "text": "y"}, None),
        ("getFile", {"file_id": "SBXDOC00000001"}, None),
        ("getWebhookInfo", {}, None),
        ("getMyCommands", {}, None),
        ("getChatMenuButton", {}, None),
    ]
    for method, params, files in calls:
        status, body = await emulator.handle(method, params, files)
        assert status == 200, body
        assert spec.check_result(method, body["result"]) == []
    sent = (await emulator.handle("sendMessage", {"chat_id": USER_ID, "text": "k", "reply_markup": keyboard}))[1]
    updates = [
        emulator.message_update(user, "/status 018"),
        emulator.message_update(user, "hello", chat_id=-100),
        emulator.document_update(user, "a.docx", b"PK"),
        emulator.callback_update(user, sent["result"]["message_id"], "a"),
    ]
    for update in updates:
        assert spec.check_object("Update", update) == []
    assert emulator.violations == []


def test_message_update_command_carries_bot_command_entity(emulator: BotApiEmulator, user: SandboxUser) -> None:
    first = emulator.message_update(user, "/status 018")
    second = emulator.message_update(user, "018")
    assert first["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 7}]
    assert "entities" not in second["message"]
    assert second["update_id"] == first["update_id"] + 1
    assert second["message"]["message_id"] == first["message"]["message_id"] + 1


def test_callback_update_unknown_button_raises_lookup_error(emulator: BotApiEmulator, user: SandboxUser) -> None:
    with pytest.raises(LookupError):
        emulator.callback_update(user, 99, "follow:18")


# ---- faults -------------------------------------------------------------------------------------------------


async def test_inject_retry_after_raises_ptb_retry_after(bot: Bot, emulator: BotApiEmulator) -> None:
    emulator.inject(RetryAfter(7), method="sendMessage")
    with pytest.raises(tg_error.RetryAfter) as caught:
        await bot.send_message(USER_ID, "x")
    assert caught.value.retry_after == timedelta(seconds=7)
    assert emulator.stats["http_429"] == 1
    assert emulator.stats["faults_injected"] == 1


@pytest.mark.parametrize("fault", [ServerError(500), ServerError(502)])
async def test_inject_server_error_raises_network_error(bot: Bot, emulator: BotApiEmulator, fault: ServerError) -> None:
    emulator.inject(fault)
    with pytest.raises(tg_error.NetworkError) as caught:
        await bot.send_message(USER_ID, "x")
    assert not isinstance(caught.value, tg_error.TimedOut)
    assert emulator.sent == []


async def test_inject_timeout_raises_timed_out_without_sending(bot: Bot, emulator: BotApiEmulator) -> None:
    emulator.inject(Timeout(), method="sendMessage")
    with pytest.raises(tg_error.TimedOut):
        await bot.send_message(USER_ID, "x")
    assert emulator.sent == []


async def test_inject_timeout_delivered_sends_then_times_out(bot: Bot, emulator: BotApiEmulator) -> None:
    emulator.inject(Timeout(delivered=True), method="sendMessage")
    with pytest.raises(tg_error.TimedOut):
        await bot.send_message(USER_ID, "x")
    assert [m.text for m in emulator.sent] == ["x"]


async def test_inject_forbidden_raises_ptb_forbidden(bot: Bot, emulator: BotApiEmulator) -> None:
    emulator.inject(Forbidden(), chat_id=USER_ID)
    with pytest.raises(tg_error.Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER_ID, "x")
    await bot.send_message(USER_ID, "after")
    assert [m.text for m in emulator.sent] == ["after"]


async def test_inject_times_fails_that_many_then_succeeds(bot: Bot, emulator: BotApiEmulator) -> None:
    emulator.inject(ServerError(), method="sendMessage", times=2)
    for _ in range(2):
        with pytest.raises(tg_error.NetworkError):
            await bot.send_message(USER_ID, "x")
    await bot.send_message(USER_ID, "x")
    assert len(emulator.sent) == 1


async def test_inject_chat_scoped_fault_spares_other_chats(bot: Bot, emulator: BotApiEmulator) -> None:
    emulator.add_user(user_id=43, first_name="other")
    emulator.inject(ServerError(), chat_id=43)
    await bot.send_message(USER_ID, "x")
    with pytest.raises(tg_error.NetworkError):
        await bot.send_message(43, "x")


async def test_inject_without_method_spares_get_updates(bot: Bot, emulator: BotApiEmulator) -> None:
    emulator.inject(ServerError())
    assert await bot.get_updates(timeout=0) == ()
    with pytest.raises(tg_error.NetworkError):
        await bot.send_message(USER_ID, "x")


async def test_block_chat_forbidden_until_user_writes(bot: Bot, emulator: BotApiEmulator, user: SandboxUser) -> None:
    emulator.block(USER_ID)
    for _ in range(2):
        with pytest.raises(tg_error.Forbidden):
            await bot.send_message(USER_ID, "x")
    emulator.message_update(user, "/start")
    await bot.send_message(USER_ID, "welcome back")
    assert [m.text for m in emulator.sent] == ["welcome back"]


async def test_handle_injected_timeout_raises_simulated_timeout(emulator: BotApiEmulator) -> None:
    emulator.inject(Timeout(), method="getMe")
    with pytest.raises(SimulatedTimeout):
        await emulator.handle("getMe", {})


# ---- rate limits --------------------------------------------------------------------------------------------


async def _send(emulator: BotApiEmulator, chat_id: int) -> tuple[int, dict[str, Any]]:
    return await emulator.handle("sendMessage", {"chat_id": chat_id, "text": "x"})


async def test_rate_limit_private_chat_burst_exceeded_returns_429(limited: BotApiEmulator) -> None:
    limited.add_user(user_id=USER_ID, first_name="a")
    statuses = [(await _send(limited, USER_ID))[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    _, body = await _send(limited, USER_ID)
    assert body["parameters"]["retry_after"] >= 1
    assert limited.stats["http_429"] == 2
    assert len(limited.sent) == 3


async def test_rate_limit_private_chat_paced_never_429(limited: BotApiEmulator, ticks: FakeTicks) -> None:
    limited.add_user(user_id=USER_ID, first_name="a")
    for _ in range(20):
        assert (await _send(limited, USER_ID))[0] == 200
        ticks.advance(1.0)
    assert limited.stats["http_429"] == 0


async def test_rate_limit_retry_after_honoured_then_accepted(limited: BotApiEmulator, ticks: FakeTicks) -> None:
    limited.add_user(user_id=USER_ID, first_name="a")
    for _ in range(3):
        await _send(limited, USER_ID)
    status, body = await _send(limited, USER_ID)
    assert status == 429
    ticks.advance(body["parameters"]["retry_after"])
    assert (await _send(limited, USER_ID))[0] == 200


async def test_rate_limit_global_31st_message_in_a_second_returns_429(
    limited: BotApiEmulator, ticks: FakeTicks
) -> None:
    for chat_id in range(1, 32):
        limited.add_user(user_id=chat_id, first_name=str(chat_id))
    statuses = [(await _send(limited, chat_id))[0] for chat_id in range(1, 32)]
    assert statuses.count(429) == 1
    assert statuses[-1] == 429
    ticks.advance(1 / 30)
    assert (await _send(limited, 31))[0] == 200


async def test_rate_limit_global_paced_at_30_per_second_never_429(limited: BotApiEmulator, ticks: FakeTicks) -> None:
    for chat_id in range(1, 301):
        limited.add_user(user_id=chat_id, first_name=str(chat_id))
    for chat_id in range(1, 301):
        assert (await _send(limited, chat_id))[0] == 200
        ticks.advance(1 / 30)
    assert limited.stats["http_429"] == 0


async def test_rate_limit_group_21st_message_in_a_minute_returns_429(limited: BotApiEmulator) -> None:
    limited.add_group(-100, "group")
    statuses = [(await _send(limited, -100))[0] for _ in range(21)]
    assert statuses == [200] * 20 + [429]


async def test_rate_limit_group_paced_at_20_per_minute_never_429(limited: BotApiEmulator, ticks: FakeTicks) -> None:
    limited.add_group(-100, "group")
    for _ in range(60):
        assert (await _send(limited, -100))[0] == 200
        ticks.advance(3.0)


async def test_rate_limit_scale_multiplies_allowed_rate(clock: FakeClock, ticks: FakeTicks) -> None:
    fast = BotApiEmulator(now=clock, monotonic=ticks, enforce_limits=True, limit_scale=10.0)
    fast.add_user(user_id=USER_ID, first_name="a")
    for _ in range(50):
        assert (await _send(fast, USER_ID))[0] == 200
        ticks.advance(0.1)
    assert fast.stats["http_429"] == 0


async def test_rate_limit_exceeded_through_ptb_raises_retry_after(limited: BotApiEmulator) -> None:
    limited.add_user(user_id=USER_ID, first_name="a")
    async with Bot(**build_bot_kwargs(limited)) as limited_bot:
        for _ in range(3):
            await limited_bot.send_message(USER_ID, "x")
        with pytest.raises(tg_error.RetryAfter) as caught:
            await limited_bot.send_message(USER_ID, "x")
    assert caught.value.retry_after == timedelta(seconds=1)


async def test_rate_limit_off_by_default_allows_bursts(emulator: BotApiEmulator, user: SandboxUser) -> None:
    for _ in range(50):
        assert (await _send(emulator, USER_ID))[0] == 200


# ---- updates ------------------------------------------------------------------------------------------------


async def test_get_updates_long_poll_wakes_on_enqueue(emulator: BotApiEmulator, user: SandboxUser) -> None:
    poll = asyncio.create_task(emulator.handle("getUpdates", {"timeout": 30}))
    await asyncio.sleep(0)  # let the poll start waiting; no time passes
    assert not poll.done()
    update = emulator.message_update(user, "hi")
    emulator.enqueue(update)
    status, body = await asyncio.wait_for(poll, 5)
    assert status == 200
    assert body["result"] == [update]


async def test_get_updates_offset_confirms_earlier_updates(
    bot: Bot, emulator: BotApiEmulator, user: SandboxUser
) -> None:
    first, second = emulator.message_update(user, "1"), emulator.message_update(user, "2")
    emulator.enqueue(first)
    emulator.enqueue(second)
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [first["update_id"], second["update_id"]]
    assert [u.update_id for u in await bot.get_updates(offset=second["update_id"], timeout=0)] == [second["update_id"]]
    assert await bot.get_updates(offset=second["update_id"] + 1, timeout=0) == ()
    assert emulator.pending_updates == 0


async def test_get_updates_with_webhook_set_raises_conflict(bot: Bot) -> None:
    await bot.set_webhook("https://example.org/hook", secret_token="s3cret")
    with pytest.raises(tg_error.Conflict):
        await bot.get_updates(timeout=0)
    await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == ()


# ---- a real Application -------------------------------------------------------------------------------------


def _application(emulator: BotApiEmulator) -> Application[Any, Any, Any, Any, Any, Any]:
    kwargs = build_bot_kwargs(emulator)
    return (
        ApplicationBuilder()
        .token(kwargs["token"])
        .base_url(kwargs["base_url"])
        .base_file_url(kwargs["base_file_url"])
        .request(kwargs["request"])
        .get_updates_request(kwargs["get_updates_request"])
        .updater(None)
        .build()
    )


async def test_application_echo_handler_replies_through_emulator(emulator: BotApiEmulator, user: SandboxUser) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text is not None
        await update.effective_message.reply_text(update.effective_message.text)

    application = _application(emulator)
    application.add_handler(MessageHandler(filters.TEXT, echo))
    async with application:
        await application.process_update(Update.de_json(emulator.message_update(user, "你好 018"), application.bot))

    assert emulator.last_message(USER_ID).text == "你好 018"
    assert emulator.violations == []


async def test_application_button_press_answered_and_edited(emulator: BotApiEmulator, user: SandboxUser) -> None:
    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("已关注")
        await query.edit_message_text(f"followed {query.data}")

    application = _application(emulator)
    application.add_handler(CallbackQueryHandler(pressed))
    async with application:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("关注", callback_data="follow:18")]])
        sent = await application.bot.send_message(USER_ID, "第018号", reply_markup=markup)
        data = emulator.last_message(USER_ID).button("关注").callback_data
        assert data is not None
        raw = emulator.callback_update(user, sent.message_id, data)
        await application.process_update(Update.de_json(raw, application.bot))

    assert [a.text for a in emulator.callback_answers] == ["已关注"]
    assert emulator.last_message(USER_ID).text == "followed follow:18"
    assert emulator.violations == []


async def test_application_polling_receives_enqueued_updates(emulator: BotApiEmulator, user: SandboxUser) -> None:
    """The real Updater long-polls the emulator: enqueued updates arrive without any sleeping."""
    kwargs = build_bot_kwargs(emulator)
    application = (
        ApplicationBuilder()
        .token(kwargs["token"])
        .base_url(kwargs["base_url"])
        .base_file_url(kwargs["base_file_url"])
        .request(kwargs["request"])
        .get_updates_request(kwargs["get_updates_request"])
        .build()
    )
    answered = asyncio.Event()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text is not None
        await update.effective_message.reply_text(update.effective_message.text.upper())
        if len(emulator.sent) == 3:
            answered.set()

    application.add_handler(MessageHandler(filters.TEXT, echo))
    async with application:
        assert application.updater is not None
        await application.start()
        await application.updater.start_polling()
        for text in ("a", "b", "c"):
            emulator.enqueue(emulator.message_update(user, text))
        await asyncio.wait_for(answered.wait(), 5)
        await application.updater.stop()
        await application.stop()

    assert [m.text for m in emulator.sent] == ["A", "B", "C"]
    assert emulator.pending_updates == 0
    assert emulator.violations == []


async def test_answer_callback_query_twice_raises_bad_request(
    bot: Bot, emulator: BotApiEmulator, user: SandboxUser
) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a")]])
    sent = await bot.send_message(USER_ID, "x", reply_markup=markup)
    query_id = emulator.callback_update(user, sent.message_id, "a")["callback_query"]["id"]
    await bot.answer_callback_query(query_id)
    with pytest.raises(tg_error.BadRequest, match=r"(?i)query id is invalid"):
        await bot.answer_callback_query(query_id)


# ---- loopback server ----------------------------------------------------------------------------------------


async def test_loopback_server_serves_a_bot_over_http(emulator: BotApiEmulator, user: SandboxUser) -> None:
    server = await serve_loopback(emulator)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        loopback_bot = Bot(
            "123456:LOOPBACK",
            base_url=server.base_url,
            base_file_url=server.base_file_url,
            request=HTTPXRequest(httpx_kwargs={"trust_env": False}),
        )
        async with loopback_bot:
            assert (await loopback_bot.get_me()).username == "proposal_bot"
            await loopback_bot.send_message(USER_ID, "<b>经</b> loopback", parse_mode="HTML")
            message = await loopback_bot.send_document(USER_ID, b"PDF-ish", filename="答复.pdf")
            assert message.document is not None
            file = await loopback_bot.get_file(message.document.file_id)
            assert bytes(await file.download_as_bytearray()) == b"PDF-ish"
            with pytest.raises(tg_error.BadRequest, match=r"(?i)can't parse entities"):
                await loopback_bot.send_message(USER_ID, "<b>x", parse_mode="HTML")
    finally:
        await server.stop()
    assert [m.text for m in emulator.sent] == ["经 loopback", ""]
    assert emulator.sent[1].filename == "答复.pdf"
    assert emulator.violations == []


async def test_make_request_extra_httpx_kwargs_kept(emulator: BotApiEmulator, user: SandboxUser) -> None:
    request = make_request(emulator, read_timeout=1.0, httpx_kwargs={"follow_redirects": False})
    async with Bot("123456:SANDBOX", base_url="http://sandbox.invalid/bot", request=request) as custom:
        await custom.send_message(USER_ID, "x")
    assert emulator.last_message(USER_ID).text == "x"


# ---- the fast paths agree with the straightforward ones -----------------------------------------------------
#
# The spec checks and the HTML parser were made cheaper per request (compiled yes/no checks, jumping from one
# "<" or "&" to the next). The oracles below are the implementations from before that change, unchanged but
# for names and inlined constants, so these tests hold the fast code to exactly their answers and messages.


def _old_utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _old_decode_entity_at(source: str, i: int) -> tuple[str, int] | None:
    match = _HTML_ENTITY_RE.match(source, i)
    if match is None:
        return None
    decimal, hexadecimal, named = match.groups()
    if named is not None:
        return _NAMED_ENTITIES[named], match.end()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def _old_unescape(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        decoded = _old_decode_entity_at(value, i) if value[i] == "&" else None
        if decoded is None:
            out.append(value[i])
            i += 1
        else:
            out.append(decoded[0])
            i = decoded[1]
    return "".join(out)


@dataclass(slots=True)
class _OldOpenTag:
    name: str
    attrs: dict[str, str]
    start: int
    language: str | None = None


def _old_parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    out: list[str] = []
    length = 0
    stack: list[_OldOpenTag] = []
    entities: list[dict[str, Any]] = []
    n = len(source)
    i = 0

    def byte_offset(pos: int) -> int:
        return len(source[:pos].encode("utf-8"))

    def emit(text: str) -> None:
        nonlocal length
        out.append(text)
        length += _old_utf16_len(text)

    while i < n:
        ch = source[i]
        if ch == "&":
            decoded = _old_decode_entity_at(source, i)
            if decoded is None:
                emit("&")
                i += 1
            else:
                emit(decoded[0])
                i = decoded[1]
            continue
        if ch != "<":
            j = i
            while j < n and source[j] not in "<&":
                j += 1
            emit(source[i:j])
            i = j
            continue

        begin = i
        if i + 1 < n and source[i + 1] == "/":
            j = i + 2
            while j < n and not source[j].isspace() and source[j] != ">":
                j += 1
            name = source[i + 2 : j].lower()
            while j < n and source[j].isspace():
                j += 1
            if j >= n or source[j] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            top = stack.pop()
            if name != top.name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {byte_offset(begin)}, expected "</{top.name}>", '
                    f'found "</{name}>"'
                )
            _old_close_tag(top, length, stack, entities)
            i = j + 1
            continue

        j = i + 1
        while j < n and not source[j].isspace() and source[j] != ">":
            j += 1
        name = source[i + 1 : j].lower()
        if name not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {byte_offset(begin)}')
        attrs, i = _old_parse_attributes(source, j, name, byte_offset(begin))
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}')
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise EntityParseError(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {byte_offset(begin)}')
        stack.append(_OldOpenTag(name, attrs, length))

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _old_parse_attributes(source: str, j: int, tag: str, begin_offset: int) -> tuple[dict[str, str], int]:
    n = len(source)
    attrs: dict[str, str] = {}
    unclosed = f"Unclosed start tag at byte offset {begin_offset}"
    while True:
        while j < n and source[j].isspace():
            j += 1
        if j >= n:
            raise EntityParseError(unclosed)
        if source[j] == ">":
            return attrs, j + 1
        k = j
        while k < n and (source[k].isalnum() or source[k] in "-_"):
            k += 1
        attr = source[j:k].lower()
        if not attr:
            raise EntityParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin_offset}')
        j = k
        while j < n and source[j].isspace():
            j += 1
        if j >= n:
            raise EntityParseError(unclosed)
        if source[j] != "=":
            if tag == "blockquote" and attr == "expandable":
                attrs[attr] = ""
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte offset {begin_offset}'
            )
        j += 1
        while j < n and source[j].isspace():
            j += 1
        if j >= n:
            raise EntityParseError(unclosed)
        if source[j] in "\"'":
            end = source.find(source[j], j + 1)
            if end < 0:
                raise EntityParseError(unclosed)
            attrs[attr] = _old_unescape(source[j + 1 : end])
            j = end + 1
        else:
            k = j
            while k < n and (source[k].isalnum() or source[k] in ".-"):
                k += 1
            if k == j:
                raise EntityParseError(unclosed)
            attrs[attr] = source[j:k]
            j = k


def _old_close_tag(tag: _OldOpenTag, end: int, stack: list[_OldOpenTag], entities: list[dict[str, Any]]) -> None:
    size = end - tag.start
    if tag.name == "code" and stack and stack[-1].name == "pre":
        language = tag.attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1].language = language.removeprefix("language-")
            return
    if size <= 0:
        return
    entity: dict[str, Any] = {"type": _ENTITY_TYPES[tag.name], "offset": tag.start, "length": size}
    if tag.name == "a":
        href = tag.attrs.get("href")
        if not href:
            return
        entity["url"] = href
    elif tag.name == "pre" and tag.language:
        entity["language"] = tag.language
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs["emoji-id"]
    entities.append(entity)


def _outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """What a call did: ("ok", its result) or ("raised", the exception's type and message)."""
    try:
        return "ok", call()
    except Exception as exc:
        return "raised", (type(exc).__name__, str(exc))


# Pieces that exercise every branch of the parser: good and broken tags and attributes, character references
# valid and not, whitespace that str.isspace() knows (including the odd ones), astral characters that take two
# UTF-16 units, and a lone surrogate (which the UTF-16 count refuses, the same way in both versions).
_HTML_PIECES = [
    "<b>",
    "</b>",
    "<B>",
    "</B >",
    "<strong>",
    "</strong>",
    "<i>",
    "</i>",
    "<em>",
    "</em>",
    "<u>",
    "</u>",
    "<s>",
    "</s>",
    "<del>",
    "</del>",
    "<code>",
    "</code>",
    "<pre>",
    "</pre>",
    '<code class="language-py">',
    '<code class="x">',
    '<a href="https://t.me/x?a=1&amp;b=2">',
    "<a href=https://x.org>",
    "<a href='u&#0;v'>",
    "<a>",
    "</a>",
    '<span class="tg-spoiler">',
    "<span>",
    "</span>",
    "<tg-spoiler>",
    "</tg-spoiler>",
    "<blockquote>",
    "<blockquote expandable>",
    "<blockquote expandable x>",
    "</blockquote>",
    '<tg-emoji emoji-id="5368324170671202286">',
    "<tg-emoji>",
    "</tg-emoji>",
    "<p>",
    "<br/>",
    "< b>",
    "<",
    "</",
    "</>",
    ">",
    "<b\u3000>",
    "</b\x1c>",
    "<b\n",
    '<a href = "x" >',
    '<a href="x',
    "<a href=>",
    "<a =x>",
    "<a href x>",
    "<a-b_c=d>",
    "&lt;",
    "&gt;",
    "&amp;",
    "&quot;",
    "&nbsp;",
    "&#128512;",
    "&#x1F600;",
    "&#X41;",
    "&#0;",
    "&#xD800;",
    "&#1114112;",
    "&#123456789;",
    "&",
    "&#",
    "&lt",
    ";",
    "=",
    '"',
    "'",
    " ",
    "\n",
    "\t",
    "\u3000",
    "\u00a0",
    "\x1c",
    "\u2028",
    "😀",
    "字",
    "x",
    "1",
    "ab",
    "\ud800",
]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_HTML_PIECES), st.text(max_size=4)), max_size=14).map("".join))
def test_parse_html_matches_old_parser_on_tag_soup(html: str) -> None:
    assert _outcome(lambda: parse_html(html)) == _outcome(lambda: _old_parse_html(html))


@pytest.mark.parametrize(
    "html",
    [
        "编号 <code>018</code> 在多个会次中都有，请选择：\n只列出最近的会次；"
        "更早的请加上届次查询，例如 <code>17-4-018</code>。",
        "😀<b>x😀<i>y</i></b>😀<code>z</code>",
        "<b>" + "字" * 3000 + "</b>&amp;" + "x" * 500,
        '<pre><code class="language-python">x</code></pre><a href="https://t.me/x?a=1&amp;b=2&#0;">l</a>',
        "<b><i></i></b><a href=\"\">x</a><blockquote expandable>q</blockquote><tg-emoji emoji-id='1'>e</tg-emoji>",
    ],
)
def test_parse_html_matches_old_parser_on_replies(html: str) -> None:
    assert parse_html(html) == _old_parse_html(html)


class _OldSpecChecks:
    """The spec checks as they were: one recursive pass that words a problem at every step."""

    def __init__(self, spec: BotApiSpec) -> None:
        self.spec = spec

    def check_request(self, method: str, params: Mapping[str, Any], files: Mapping[str, Any] | None = None) -> None:
        spec = self.spec.method(method)
        uploads = files or {}
        for name in params:
            if name not in spec.fields:
                raise SpecViolation(f"unknown parameter {name!r} for method {spec.name}")
        for name in uploads:
            if name not in spec.fields and not any(
                isinstance(v, str) and v == "attach://" + name for v in params.values()
            ):
                raise SpecViolation(f"unexpected upload {name!r} for method {spec.name}")
        for field in spec.fields.values():
            present = field.name in params or field.name in uploads
            if field.required and not present:
                raise SpecViolation(f"parameter {field.name!r} is required for method {spec.name}")
            if field.name in params:
                problems = self._check_value(field.types, params[field.name], field.name, 0, uploads, True)
                if problems:
                    raise SpecViolation(f"{spec.name}: {problems[0]}")

    def check_object(self, type_name: str, obj: Any) -> list[str]:
        return self._check_object(type_name, obj, type_name, 0, {}, False)

    def check_result(self, method: str, result: Any) -> list[str]:
        spec = self.spec.method(method)
        return self._check_value(spec.returns, result, f"{spec.name}()", 0, {}, False)

    def _check_object(
        self, type_name: str, obj: Any, path: str, depth: int, uploads: Mapping[str, Any], lenient: bool
    ) -> list[str]:
        spec = self.spec.find_type(type_name)
        if spec is None:
            return [f"{path}: unknown type {type_name}"]
        if type_name == "InputFile":
            return _old_check_input_file(obj, path, uploads)
        if spec.subtypes:
            return self._best_of(spec.subtypes, obj, path, depth, uploads, lenient)
        if not isinstance(obj, Mapping):
            return [f"{path}: expected {type_name} object, got {type(obj).__name__}"]
        problems: list[str] = []
        for field in spec.fields.values():
            if field.required and field.name not in obj:
                problems.append(f"{path}.{field.name}: missing required field of {type_name}")
        for key, value in obj.items():
            declared = spec.fields.get(key)
            if declared is None:
                if not lenient:
                    problems.append(f"{path}.{key}: unknown field of {type_name}")
                continue
            if depth < 6:
                problems.extend(self._check_value(declared.types, value, f"{path}.{key}", depth + 1, uploads, lenient))
        return problems

    def _best_of(
        self, type_names: Sequence[str], obj: Any, path: str, depth: int, uploads: Mapping[str, Any], lenient: bool
    ) -> list[str]:
        best: list[str] | None = None
        for name in type_names:
            problems = self._check_value((name,), obj, path, depth, uploads, lenient)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        return best or []

    def _check_value(
        self, types: Sequence[str], value: Any, path: str, depth: int, uploads: Mapping[str, Any], lenient: bool
    ) -> list[str]:
        if len(types) > 1:
            return self._best_of(types, value, path, depth, uploads, lenient)
        if not types:
            return []
        type_name = types[0]
        if type_name.startswith("Array of "):
            if not isinstance(value, list | tuple):
                return [f"{path}: expected {type_name}, got {type(value).__name__}"]
            inner = (type_name.removeprefix("Array of "),)
            problems: list[str] = []
            for i, item in enumerate(value):
                problems.extend(self._check_value(inner, item, f"{path}[{i}]", depth, uploads, lenient))
            return problems
        if type_name in ("String", "Integer", "Float", "Boolean", "True"):
            return [] if _old_scalar_matches(type_name, value) else [f"{path}: expected {type_name}, got {value!r}"]
        return self._check_object(type_name, value, path, depth, uploads, lenient)


def _old_scalar_matches(type_name: str, value: Any) -> bool:
    match type_name:
        case "String":
            return isinstance(value, str)
        case "Integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "Float":
            return isinstance(value, int | float) and not isinstance(value, bool)
        case "Boolean":
            return isinstance(value, bool)
        case "True":
            return value is True
    return False


def _old_check_input_file(value: Any, path: str, uploads: Mapping[str, Any]) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: expected InputFile (an upload or attach:// reference), got {type(value).__name__}"]
    if value.startswith("attach://") and value.removeprefix("attach://") not in uploads:
        return [f"{path}: {value} names no uploaded file"]
    if not value.startswith("attach://"):
        return [f"{path}: expected InputFile (an upload or attach:// reference), got a string"]
    return []


_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 2),
    st.floats(allow_nan=False, width=16),
    st.text(max_size=2),
    st.sampled_from(["attach://doc", "attach://nothing"]),
    st.lists(st.integers(0, 1), max_size=2),
    st.dictionaries(st.sampled_from(["text", "id", "type"]), st.integers(0, 1), max_size=2),
)
_SCALAR_VALUES = {
    "String": st.text(max_size=2),
    "Integer": st.integers(-3, 3),
    "Float": st.one_of(st.floats(allow_nan=False, width=16), st.integers(-1, 1)),
    "Boolean": st.booleans(),
    "True": st.just(True),
}


@st.composite
def _near_value(draw: st.DrawFn, spec: BotApiSpec, types: tuple[str, ...], depth: int = 0) -> Any:
    """A value of one of ``types``, mostly valid: now and then a wrong value, a missing required field or an
    unknown one, anywhere in the tree. Nested objects thin out with depth so examples stay small."""
    if not types or depth > 9 or draw(st.integers(0, 14)) == 0:
        return draw(_JUNK)
    type_name = draw(st.sampled_from(types))
    if type_name.startswith("Array of "):
        return draw(st.lists(_near_value(spec, (type_name.removeprefix("Array of "),), depth + 1), max_size=2))
    if type_name in _SCALAR_VALUES:
        return draw(_SCALAR_VALUES[type_name])
    type_spec = spec.find_type(type_name)
    if type_spec is None or type_name == "InputFile":
        return draw(st.sampled_from(["attach://doc", "attach://nothing", "file-id", 7]))
    if type_spec.subtypes:
        return draw(_near_value(spec, type_spec.subtypes, depth))
    obj: dict[str, Any] = {}
    for field in type_spec.fields.values():
        # Keep required fields (usually), a few optional ones, and follow reply_to_message deep enough to
        # reach the depth limit where nested values stop being checked.
        if field.required:
            keep = draw(st.integers(0, 19)) > 0
        elif field.name == "reply_to_message":
            keep = draw(st.integers(0, 2)) > 0
        else:
            keep = draw(st.integers(0, 3 + 2 * len(type_spec.fields))) == 0
        if keep:
            obj[field.name] = draw(_near_value(spec, field.types, depth + 1))
    if draw(st.integers(0, 9)) == 0:
        obj["no_such_field"] = draw(_JUNK)
    return obj


_CHECKED_TYPES = [
    "Update",
    "Message",
    "CallbackQuery",
    "MaybeInaccessibleMessage",
    "InlineKeyboardMarkup",
    "BotCommandScope",
    "MenuButton",
    "InputMediaDocument",
    "String",
    "NoSuchType",
]
_CHECKED_METHODS = [
    "sendMessage",
    "editMessageText",
    "getMyCommands",
    "getFile",
    "getChatMenuButton",
    "getUpdates",
    "setMyCommands",
    "sendDocument",
    "sendMediaGroup",
    "answerCallbackQuery",
]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), type_name=st.sampled_from(_CHECKED_TYPES))
def test_spec_check_object_matches_old_checks(data: st.DataObject, type_name: str) -> None:
    spec = BotApiSpec.default()
    obj = data.draw(_near_value(spec, (type_name,)))
    assert spec.check_object(type_name, obj) == _OldSpecChecks(spec).check_object(type_name, obj)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), method=st.sampled_from(_CHECKED_METHODS))
def test_spec_check_result_matches_old_checks(data: st.DataObject, method: str) -> None:
    spec = BotApiSpec.default()
    result = data.draw(_near_value(spec, spec.method(method).returns))
    assert spec.check_result(method, result) == _OldSpecChecks(spec).check_result(method, result)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), method=st.sampled_from(_CHECKED_METHODS))
def test_spec_check_request_matches_old_checks(data: st.DataObject, method: str) -> None:
    spec = BotApiSpec.default()
    fields = spec.method(method).fields
    params: dict[str, Any] = {}
    for field in fields.values():
        include = data.draw(st.integers(0, 9)) > 0 if field.required else data.draw(st.integers(0, 3)) == 0
        if include:
            params[field.name] = data.draw(_near_value(spec, field.types))
    if data.draw(st.integers(0, 9)) == 0:
        params["colour"] = "red"
    files = data.draw(st.sampled_from([None, {}, {"doc": ("a.txt", b"a")}, {"document": ("a.txt", b"a")}]))
    old = _OldSpecChecks(spec)
    assert _outcome(lambda: spec.check_request(method, params, files)) == _outcome(
        lambda: old.check_request(method, params, files)
    )


@pytest.mark.parametrize("depth", range(10))
def test_spec_check_object_depth_limit_matches_old_checks(spec: BotApiSpec, depth: int) -> None:
    message: dict[str, Any] = {"message_id": 1, "date": 0, "chat": {"id": "not an int", "type": "private"}}
    for _ in range(depth):
        message = {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "reply_to_message": message}
    update = {"update_id": 1, "message": message}
    assert spec.check_object("Update", update) == _OldSpecChecks(spec).check_object("Update", update)


def test_spec_checks_a_union_that_contains_an_array_of_itself(spec: BotApiSpec) -> None:
    # RichText is a String, a RichText object, or an Array of RichText. Compiling its check once recursed without
    # end; hypothesis found it through test_spec_check_result_matches_old_checks.
    assert "Array of RichText" in spec.find_type("RichText").subtypes  # type: ignore[union-attr]
    nested: Any = "plain"
    for _ in range(4):
        nested = [nested, "more"]
    assert spec.check_object("RichText", nested) == _OldSpecChecks(spec).check_object("RichText", nested) == []
    assert spec.check_object("RichText", [nested, 7]) == _OldSpecChecks(spec).check_object("RichText", [nested, 7])
    assert spec.check_object("RichText", [nested, 7]) != []


def test_spec_check_object_accepts_mappings_that_are_not_dicts(spec: BotApiSpec) -> None:
    chat = MappingProxyType({"id": 1, "type": "private"})
    assert spec.check_object("Chat", chat) == []
    assert spec.check_object("Chat", MappingProxyType({"id": 1})) == ["Chat.type: missing required field of Chat"]


def _old_decode_form_value(raw: str, types: Sequence[str]) -> Any:
    if types and all(t == "String" for t in types):
        return raw
    if "InputFile" in types and ("String" in types or raw.startswith("attach://")):
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    if "String" in types and not _old_json_kind_fits(types, value):
        return raw
    return value


def _old_json_kind_fits(types: Sequence[str], value: Any) -> bool:
    scalars = ("String", "Integer", "Float", "Boolean", "True")
    for t in types:
        if t in scalars and t != "String" and _old_scalar_matches(t, value):
            return True
        if t.startswith("Array of ") and isinstance(value, list):
            return True
        if t not in scalars and not t.startswith("Array of ") and isinstance(value, dict):
            return True
    return False


_FORM_VALUES = st.one_of(
    st.sampled_from(["42", "-1", "@channel", "true", "1.5", "null", '{"inline_keyboard": []}', "[1]", "attach://x"]),
    st.text(max_size=4),
)


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from(["sendMessage", "sendDocument", "sendMediaGroup", "setMyCommands", "noSuchMethod"]),
    form=st.dictionaries(
        st.sampled_from(["chat_id", "text", "document", "caption", "reply_markup", "media", "commands", "odd"]),
        _FORM_VALUES,
    ),
)
def test_spec_decode_form_matches_old_decoding(method: str, form: dict[str, str]) -> None:
    spec = BotApiSpec.default()
    found = spec.find_method(method)
    expected = {}
    for name, raw in form.items():
        field = found.fields.get(name) if found is not None else None
        expected[name] = _old_decode_form_value(raw, field.types if field is not None else ())
    assert spec.decode_form(method, form) == expected


def test_json_answer_body_is_what_json_dumps_gives() -> None:
    body = {"ok": True, "result": {"text": "编号 018 😀", "entities": [{"type": "code", "offset": 3, "length": 3}]}}
    assert _json_answer(200, body).body == json.dumps(body, ensure_ascii=False).encode("utf-8")


async def test_dispatch_form_body_as_ptb_sends_it_matches_handle(user: SandboxUser) -> None:
    """The transport's decoding (a query string, then the url-encoded form PTB sends) gives handle()'s answer."""
    params: dict[str, Any] = {
        "chat_id": USER_ID,
        "text": "编号 <code>018</code> 在多个会次中都有，请选择：&amp; 😀",
        "parse_mode": "HTML",
        "reply_markup": {"inline_keyboard": [[{"text": "第018号 · 长宁区", "callback_data": "card:98175"}]] * 5},
    }
    form = {k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in params.items()}
    answers = []
    for via_dispatch in (False, True):
        emulator = BotApiEmulator(now=lambda: START)
        emulator.add_user(user_id=USER_ID, first_name=user.first_name)
        if via_dispatch:
            answer = await dispatch(
                emulator,
                http_method="POST",
                path="/bot123456:SANDBOX/sendMessage",
                query="disable_notification=true",
                content_type="application/x-www-form-urlencoded",
                body=urlencode(form).encode("ascii"),
            )
            answers.append((answer.status, json.loads(answer.body)))
        else:
            answers.append(await emulator.handle("sendMessage", {**params, "disable_notification": True}))
        assert emulator.violations == []
    assert answers[0] == answers[1]
    assert answers[0][1]["result"]["entities"] == [{"type": "code", "offset": 3, "length": 3}]
