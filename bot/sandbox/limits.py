"""What Telegram refuses beyond the spec's types: its size and flood limits and the checks on values.

A refusal is an ``ApiError``: the HTTP status and Telegram's description, which the emulator answers with.

Deliberate simplifications:
- message length is counted in code points after HTML parsing (Telegram's limit is 4096 "characters");
- a private chat's flood limit is a token bucket refilling at 1 message/s with a burst of 3, since Telegram
  tolerates short bursts to one chat; the overall limit allows 30/s and a group 20/min.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHAT_ACTIONS",
    "MAX_BUTTONS_PER_ROW",
    "MAX_CALLBACK_ANSWER_LENGTH",
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_CAPTION_LENGTH",
    "MAX_COMMANDS",
    "MAX_DOWNLOAD_BYTES",
    "MAX_KEYBOARD_BUTTONS",
    "MAX_TEXT_LENGTH",
    "MAX_UPLOAD_BYTES",
    "ApiError",
    "FloodLimiter",
    "check_button",
    "check_callback_answer",
    "check_keyboard",
    "check_length",
    "check_upload",
    "commands_key",
    "image_size",
    "parse_commands",
]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64  # "1-64 bytes": UTF-8 bytes, not characters
MAX_KEYBOARD_BUTTONS = 100
MAX_BUTTONS_PER_ROW = 8
MAX_CALLBACK_ANSWER_LENGTH = 200  # answerCallbackQuery text: "0-200 characters"
MAX_COMMANDS = 100
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANGUAGE_RE = re.compile(r"[a-z]{2}")


class ApiError(Exception):
    """A request Telegram refuses: the HTTP status, its description and, for a 429, the seconds to wait."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


# ---- sizes and values ---------------------------------------------------------------------------------------


def check_length(plain: str, *, caption: bool) -> None:
    """Refuse an empty text, or a text or caption (after parsing) longer than Telegram allows."""
    if caption:
        if len(plain) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
    else:
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(plain) > MAX_TEXT_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")


def check_upload(data: bytes) -> None:
    """Refuse an empty upload or one larger than the Bot API accepts."""
    if not data:
        raise ApiError(400, "Bad Request: file must be non-empty")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "Request Entity Too Large")


def commands_key(params: Mapping[str, Any]) -> tuple[str, str]:
    """The (scope, language_code) a setMyCommands / getMyCommands / deleteMyCommands call is about."""
    language = str(params.get("language_code") or "")
    if language and not _LANGUAGE_RE.fullmatch(language):
        raise ApiError(400, "Bad Request: invalid language code specified")
    return _scope_key(params.get("scope")), language


def parse_commands(commands: Any) -> list[tuple[str, str]]:
    """The (command, description) pairs of setMyCommands, each as Telegram accepts it."""
    if len(commands) > MAX_COMMANDS:
        raise ApiError(400, "Bad Request: too many commands")
    parsed: list[tuple[str, str]] = []
    for command in commands:
        name, description = str(command["command"]), str(command["description"])
        if not _COMMAND_RE.fullmatch(name):
            raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        if not 1 <= len(description.strip()) <= 256:
            raise ApiError(400, "Bad Request: command description must be 1-256 characters long")
        parsed.append((name, description))
    return parsed


def _scope_key(scope: Any) -> str:
    """``default``, ``all_private_chats``, ``chat:<id>``, ``chat_member:<chat>:<user>``, ..."""
    if scope is None:
        return "default"
    scope_type = str(scope.get("type", ""))
    if scope_type not in _SCOPE_TYPES:
        raise ApiError(400, "Bad Request: wrong scope type specified")
    if scope_type in ("chat", "chat_administrators"):
        return f"{scope_type}:{scope['chat_id']}"
    if scope_type == "chat_member":
        return f"chat_member:{scope['chat_id']}:{scope['user_id']}"
    return scope_type


# ---- inline buttons ---------------------------------------------------------------------------------------

_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


def _actions(raw: Mapping[str, Any]) -> int:
    """How many actions the button names (Telegram wants exactly one)."""
    count = 0
    for key in _BUTTON_ACTIONS:  # a loop: sum() over a generator costs more than the look-ups
        if key in raw:
            count += 1
    return count


def check_button(raw: Mapping[str, Any]) -> None:
    """Refuse an inline button with no text, with no action or several, callback data outside 1-64 bytes of
    UTF-8, or a URL of no known scheme."""
    if not str(raw.get("text") or "").strip():
        raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text must be non-empty")
    actions = _actions(raw)
    if actions == 0:
        raise ApiError(
            400, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if actions > 1:
        raise ApiError(400, "Bad Request: can't parse inline keyboard button: exactly one action must be specified")
    data = raw.get("callback_data")
    if data is not None and not 1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    url = raw.get("url")
    if url is not None and not str(url).startswith(("http://", "https://", "tg://")):
        raise ApiError(400, f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def check_keyboard(rows: Sequence[Sequence[Any]]) -> None:
    """Refuse an inline keyboard of more than 100 buttons, or a row of more than 8."""
    total = 0
    for row in rows:
        if len(row) > MAX_BUTTONS_PER_ROW:
            raise ApiError(400, "Bad Request: too many buttons in a row of the inline keyboard")
        total += len(row)
    if total > MAX_KEYBOARD_BUTTONS:
        raise ApiError(400, "Bad Request: reply markup is too long: too many inline keyboard buttons")


def check_callback_answer(text: str | None) -> None:
    """Refuse an answerCallbackQuery notification longer than 200 characters."""
    if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
        raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")


# ---- flood limits -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _TokenBucket:
    rate: float
    capacity: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now

    def wait(self) -> float:
        # A small tolerance so a sender pacing at exactly the limit is never refused for float rounding.
        missing = 1.0 - self.tokens
        return 0.0 if missing <= 1e-9 else missing / self.rate


class FloodLimiter:
    """Telegram's flood limits on outgoing messages: one bucket overall and one per chat."""

    #: Telegram's flood limits, before ``scale``.
    GLOBAL_PER_SECOND = 30.0
    PRIVATE_PER_SECOND = 1.0
    PRIVATE_BURST = 3.0
    GROUP_PER_MINUTE = 20.0

    __slots__ = ("_chat_buckets", "_global_bucket")

    def __init__(self) -> None:
        self._global_bucket: _TokenBucket | None = None
        self._chat_buckets: dict[int, _TokenBucket] = {}

    def admit(self, chat_id: int, *, group: bool, now: float, scale: float) -> int | None:
        """Spend one message to ``chat_id``, or spend nothing and return the seconds to wait (Retry-After).

        ``scale`` multiplies the allowed rates of the buckets made by this call (each on its first use).
        """
        if self._global_bucket is None:
            capacity = max(1.0, self.GLOBAL_PER_SECOND * scale)
            self._global_bucket = _TokenBucket(self.GLOBAL_PER_SECOND * scale, capacity, capacity, now)
        bucket = self._chat_buckets.get(chat_id)
        if bucket is None:
            if group:
                rate, capacity = self.GROUP_PER_MINUTE * scale / 60.0, max(1.0, self.GROUP_PER_MINUTE * scale)
            else:
                rate, capacity = self.PRIVATE_PER_SECOND * scale, self.PRIVATE_BURST
            bucket = _TokenBucket(rate, capacity, capacity, now)
            self._chat_buckets[chat_id] = bucket
        buckets = (self._global_bucket, bucket)
        for b in buckets:
            b.refill(now)
        wait = max(b.wait() for b in buckets)
        if wait > 0:
            return max(1, math.ceil(wait))
        for b in buckets:
            b.tokens -= 1.0
        return None


# ---- photos -------------------------------------------------------------------------------------------------


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG image, or None when the bytes are no image Telegram accepts."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    start_of_frame = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        (size,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker in start_of_frame:
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + size
    return None
