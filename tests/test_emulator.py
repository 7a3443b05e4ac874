"""Tests for the sandbox Bot API emulator, driven through real PTB objects over the in-process transport."""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
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

from bot.sandbox.emulator import (
    BotApiEmulator,
    Button,
    EntityParseError,
    Forbidden,
    RetryAfter,
    SandboxUser,
    ServerError,
    SimulatedTimeout,
    Timeout,
    parse_html,
)
from bot.sandbox.spec import BotApiSpec, SpecViolation
from bot.sandbox.transport import build_bot_kwargs, make_request, serve_loopback

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
