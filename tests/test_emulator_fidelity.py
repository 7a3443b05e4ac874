"""The emulator refuses what Telegram refuses: keyboard limits, long callback answers, stale queries, and
groups that became supergroups. Driven through real PTB objects over the in-process transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram import error as tg_error

from bot.domain.clock import VirtualClock
from bot.sandbox.emulator import BotApiEmulator, SandboxUser
from bot.sandbox.faults import ChatMigrated
from bot.sandbox.limits import ApiError, check_button, check_keyboard
from bot.sandbox.transport import build_bot_kwargs

START = datetime(2024, 4, 29, 9, 0, tzinfo=UTC)
USER_ID = 42
GROUP_ID = -4001


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def emulator(clock: VirtualClock) -> BotApiEmulator:
    return BotApiEmulator(now=clock.now)


@pytest.fixture
def user(emulator: BotApiEmulator) -> SandboxUser:
    return emulator.add_user(user_id=USER_ID, first_name="康红恩")


@pytest.fixture
async def bot(emulator: BotApiEmulator, user: SandboxUser) -> AsyncIterator[Bot]:
    async with Bot(**build_bot_kwargs(emulator)) as sandbox_bot:
        yield sandbox_bot


def _keyboard(rows: int, per_row: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(f"{r}.{c}", callback_data=f"{r}.{c}") for c in range(per_row)] for r in range(rows)]
    )


# ---- inline keyboards ---------------------------------------------------------------------------------------


async def test_keyboard_100_buttons_accepted(bot: Bot, emulator: BotApiEmulator) -> None:
    await bot.send_message(USER_ID, "x", reply_markup=_keyboard(20, 5))
    assert sum(len(row) for row in emulator.last_message(USER_ID).buttons) == 100


async def test_keyboard_101_buttons_raises_bad_request(bot: Bot, emulator: BotApiEmulator) -> None:
    markup = InlineKeyboardMarkup([*_keyboard(20, 5).inline_keyboard, (InlineKeyboardButton("x", callback_data="x"),)])
    with pytest.raises(tg_error.BadRequest, match=r"(?i)too many inline keyboard buttons"):
        await bot.send_message(USER_ID, "x", reply_markup=markup)
    assert emulator.sent == []


async def test_keyboard_nine_in_a_row_raises_bad_request(bot: Bot, emulator: BotApiEmulator) -> None:
    await bot.send_message(USER_ID, "x", reply_markup=_keyboard(1, 8))
    with pytest.raises(tg_error.BadRequest, match=r"(?i)too many buttons in a row"):
        await bot.send_message(USER_ID, "x", reply_markup=_keyboard(1, 9))
    assert len(emulator.sent) == 1


async def test_keyboard_limits_apply_to_edits(bot: Bot, emulator: BotApiEmulator) -> None:
    sent = await bot.send_message(USER_ID, "x", reply_markup=_keyboard(1, 1))
    with pytest.raises(tg_error.BadRequest, match=r"(?i)too many inline keyboard buttons"):
        await bot.edit_message_reply_markup(USER_ID, sent.message_id, reply_markup=_keyboard(13, 8))
    assert len(emulator.last_message(USER_ID).buttons) == 1


@pytest.mark.parametrize("text", ["", "   "])
async def test_button_empty_text_raises_bad_request(bot: Bot, text: str) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data="a")]])
    with pytest.raises(tg_error.BadRequest, match=r"(?i)Text must be non-empty"):
        await bot.send_message(USER_ID, "x", reply_markup=markup)


async def test_button_two_actions_raises_bad_request(bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a", url="https://example.org")]])
    with pytest.raises(tg_error.BadRequest, match=r"(?i)exactly one action"):
        await bot.send_message(USER_ID, "x", reply_markup=markup)


def test_callback_data_counted_in_utf8_bytes() -> None:
    check_button({"text": "a", "callback_data": "数" * 21})  # 63 bytes
    with pytest.raises(ApiError, match=r"(?i)BUTTON_DATA_INVALID"):
        check_button({"text": "a", "callback_data": "数" * 22})  # 66 bytes, 22 characters


@given(st.lists(st.integers(min_value=0, max_value=12), max_size=20))
def test_check_keyboard_refuses_exactly_what_telegram_refuses(row_sizes: list[int]) -> None:
    rows = [["b"] * size for size in row_sizes]
    allowed = all(size <= 8 for size in row_sizes) and sum(row_sizes) <= 100
    if allowed:
        check_keyboard(rows)
    else:
        with pytest.raises(ApiError) as caught:
            check_keyboard(rows)
        assert caught.value.status == 400


# ---- callback answers ---------------------------------------------------------------------------------------


async def _press(bot: Bot, emulator: BotApiEmulator, user: SandboxUser) -> str:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="a")]])
    sent = await bot.send_message(USER_ID, "x", reply_markup=markup)
    return str(emulator.callback_update(user, sent.message_id, "a")["callback_query"]["id"])


async def test_callback_answer_200_chars_accepted_201_refused(
    bot: Bot, emulator: BotApiEmulator, user: SandboxUser
) -> None:
    query_id = await _press(bot, emulator, user)
    with pytest.raises(tg_error.BadRequest, match=r"(?i)MESSAGE_TOO_LONG"):
        await bot.answer_callback_query(query_id, text="长" * 201)
    await bot.answer_callback_query(query_id, text="长" * 200)
    assert [a.text for a in emulator.callback_answers] == ["长" * 200]


async def test_callback_answer_after_timeout_is_too_old(
    bot: Bot, emulator: BotApiEmulator, user: SandboxUser, clock: VirtualClock
) -> None:
    query_id = await _press(bot, emulator, user)
    clock.advance(timedelta(seconds=16))
    with pytest.raises(tg_error.BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)
    assert emulator.callback_answers == []


async def test_callback_timeout_configurable(clock: VirtualClock) -> None:
    emulator = BotApiEmulator(now=clock.now, callback_timeout=timedelta(minutes=5))
    user = emulator.add_user(user_id=USER_ID, first_name="康红恩")
    async with Bot(**build_bot_kwargs(emulator)) as bot:
        query_id = await _press(bot, emulator, user)
        clock.advance(timedelta(minutes=4))
        assert await bot.answer_callback_query(query_id) is True


def test_callback_timeout_must_be_positive(clock: VirtualClock) -> None:
    with pytest.raises(ValueError, match=r"(?i)callback_timeout"):
        BotApiEmulator(now=clock.now, callback_timeout=timedelta(0))


# ---- migrated groups ----------------------------------------------------------------------------------------


async def test_chat_migrated_fault_raises_ptb_chat_migrated(bot: Bot, emulator: BotApiEmulator) -> None:
    emulator.add_group(GROUP_ID, "代表小组")
    emulator.inject(ChatMigrated(new_chat_id=-1001234567890), chat_id=GROUP_ID)
    with pytest.raises(tg_error.ChatMigrated) as caught:
        await bot.send_message(GROUP_ID, "x")
    assert caught.value.new_chat_id == -1001234567890
    await bot.send_message(-1001234567890, "again")
    assert emulator.chats[-1001234567890].type == "supergroup"
    assert [m.chat_id for m in emulator.sent] == [-1001234567890]


async def test_migrate_refuses_every_later_request_to_the_old_id(bot: Bot, emulator: BotApiEmulator) -> None:
    emulator.add_group(GROUP_ID, "代表小组")
    chat = emulator.migrate(GROUP_ID, -1009876543210)
    assert (chat.type, chat.title) == ("supergroup", "代表小组")
    for _ in range(2):
        with pytest.raises(tg_error.ChatMigrated):
            await bot.send_message(GROUP_ID, "x")
    await bot.send_message(-1009876543210, "x")
    assert len(emulator.sent) == 1


# ---- groups, privacy mode, edits, channels, membership ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "delivered"),
    [
        ("大家好", False),
        ("018", False),
        ("/status 018", True),
        ("/status@proposal_bot 018", True),
        ("/status@Proposal_Bot 018", True),
        ("/status@otherbot 018", False),
        ("@proposal_bot 018", True),
        ("请 @proposal_bot 查 018", True),
        ("@otherbot 018", False),
    ],
)
def test_privacy_mode_group_delivers_commands_and_mentions_only(
    emulator: BotApiEmulator, user: SandboxUser, text: str, delivered: bool
) -> None:
    emulator.add_group(GROUP_ID, "代表小组")
    update = emulator.message_update(user, text, chat_id=GROUP_ID)
    assert emulator.reaches_bot(update) is delivered
    emulator.enqueue(update)
    assert emulator.pending_updates == int(delivered)
    assert emulator.violations == []


async def test_privacy_mode_group_delivers_replies_to_the_bot_only(
    bot: Bot, emulator: BotApiEmulator, user: SandboxUser
) -> None:
    emulator.add_group(GROUP_ID, "代表小组")
    mine = await bot.send_message(GROUP_ID, "请回复编号")
    chatter = emulator.message_update(user, "大家好", chat_id=GROUP_ID)
    to_bot = emulator.message_update(user, "018", chat_id=GROUP_ID, reply_to=mine.message_id)
    to_user = emulator.message_update(user, "018", chat_id=GROUP_ID, reply_to=chatter["message"]["message_id"])
    assert (emulator.reaches_bot(to_bot), emulator.reaches_bot(to_user)) == (True, False)


def test_group_without_privacy_delivers_everything(emulator: BotApiEmulator, user: SandboxUser) -> None:
    emulator.add_group(GROUP_ID, "代表小组", privacy=False)
    assert emulator.reaches_bot(emulator.message_update(user, "大家好", chat_id=GROUP_ID))
    assert emulator.reaches_bot(emulator.message_update(user, "/status@otherbot 1", chat_id=GROUP_ID))


def test_private_chat_delivers_everything(emulator: BotApiEmulator, user: SandboxUser) -> None:
    assert emulator.reaches_bot(emulator.message_update(user, "大家好"))


def test_message_update_mention_entity_in_utf16(emulator: BotApiEmulator, user: SandboxUser) -> None:
    message = emulator.message_update(user, "/s@x 😀 @proposal_bot")["message"]
    assert message["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 4},
        {"type": "mention", "offset": 8, "length": 13},
    ]


async def test_edited_message_update_parses_as_ptb_edit(emulator: BotApiEmulator, user: SandboxUser) -> None:
    original = emulator.message_update(user, "018")["message"]
    update = emulator.edited_message_update(user, original["message_id"], "/status 019")
    parsed = Update.de_json(update, None)
    assert parsed.edited_message is not None and parsed.message is None
    assert parsed.edited_message.text == "/status 019"
    assert parsed.edited_message.message_id == original["message_id"]
    assert parsed.edited_message.edit_date is not None
    assert emulator.violations == []


def test_edited_message_update_of_unknown_message_raises(emulator: BotApiEmulator, user: SandboxUser) -> None:
    with pytest.raises(LookupError):
        emulator.edited_message_update(user, 99, "x")


async def test_channel_post_update_parses_with_sender_chat(emulator: BotApiEmulator) -> None:
    emulator.add_channel(-1005550000001, "长宁人大")
    parsed = Update.de_json(emulator.channel_post_update(-1005550000001, "/status 018"), None)
    assert parsed.channel_post is not None and parsed.channel_post.from_user is None
    assert parsed.channel_post.sender_chat is not None and parsed.channel_post.sender_chat.title == "长宁人大"
    assert parsed.effective_chat is not None and parsed.effective_chat.type == "channel"
    assert emulator.violations == []


async def test_my_chat_member_kicked_blocks_member_unblocks(
    bot: Bot, emulator: BotApiEmulator, user: SandboxUser
) -> None:
    update = emulator.my_chat_member_update(user, "member", "kicked")
    parsed = Update.de_json(update, None)
    assert parsed.my_chat_member is not None
    assert (parsed.my_chat_member.old_chat_member.status, parsed.my_chat_member.new_chat_member.status) == (
        "member",
        "kicked",
    )
    with pytest.raises(tg_error.Forbidden):
        await bot.send_message(USER_ID, "x")
    emulator.my_chat_member_update(user, "kicked", "member")
    await bot.send_message(USER_ID, "back")
    assert [m.text for m in emulator.sent] == ["back"]
    assert emulator.violations == []
