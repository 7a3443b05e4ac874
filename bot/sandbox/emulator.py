"""An in-memory Telegram Bot API server: the sandbox core.

It answers the Bot API methods the bot uses the way real Telegram does (the same JSON envelopes, the same
400/403/409/429 errors and descriptions), builds spec-valid incoming updates, and records everything the bot sends
so tests can assert on outcomes. It knows nothing about HTTP: ``bot.sandbox.transport`` routes PTB's requests here.
What it leans on: ``spec`` (the official types), ``markup`` (the HTML parser), ``limits`` (Telegram's size and
flood limits and value checks) and ``faults`` (injected failures, blocked chats).

Deliberate simplifications, each documented where it is implemented:
- only HTML is parsed; Markdown texts are stored as sent, unvalidated;
- message length is counted in code points, and flood limits are token buckets (``limits``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
import mimetypes
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypeAlias

from bot.sandbox.faults import (
    BadRequest,
    ChatMigrated,
    Fault,
    FaultPlan,
    Forbidden,
    RetryAfter,
    ServerError,
    SimulatedTimeout,
    Timeout,
)
from bot.sandbox.limits import (
    CHAT_ACTIONS,
    MAX_DOWNLOAD_BYTES,
    ApiError,
    FloodLimiter,
    check_button,
    check_callback_answer,
    check_keyboard,
    check_length,
    check_upload,
    commands_key,
    image_size,
    parse_commands,
)
from bot.sandbox.markup import EntityParseError, parse_html, utf16_len
from bot.sandbox.spec import BotApiSpec, SpecViolation

__all__ = [
    "BotApiEmulator",
    "Button",
    "CallbackAnswer",
    "SandboxChat",
    "SandboxUser",
    "SentMessage",
    "StoredFile",
]

_LOGGER = logging.getLogger(__name__)

JSONDict: TypeAlias = dict[str, Any]
MessageKind: TypeAlias = Literal["message", "photo", "document"]
ChatMemberStatus: TypeAlias = Literal["member", "administrator", "left", "kicked"]

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


# ---- records and values -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SandboxUser:
    """A person chatting with the bot. Their private chat has the same id as the user."""

    user_id: int
    first_name: str
    language_code: str | None = "zh-hans"
    label: str | None = None
    username: str | None = None

    @property
    def chat_id(self) -> int:
        return self.user_id

    def to_api(self) -> JSONDict:
        """The Bot API ``User`` object."""
        user: JSONDict = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user


@dataclass(frozen=True, slots=True)
class SandboxChat:
    """A chat the bot can talk to: a private chat with a user, a group or supergroup, or a channel.

    ``privacy`` (groups only): the bot is not an admin there and privacy mode is on, so it sees only commands,
    replies to its own messages and mentions of it (see ``BotApiEmulator.reaches_bot``).
    """

    chat_id: int
    type: Literal["private", "group", "supergroup", "channel"]
    title: str | None = None
    first_name: str | None = None
    username: str | None = None
    privacy: bool = True

    @property
    def is_group(self) -> bool:
        return self.type in ("group", "supergroup")

    def to_api(self) -> JSONDict:
        """The Bot API ``Chat`` object."""
        chat: JSONDict = {"id": self.chat_id, "type": self.type}
        if self.title is not None:
            chat["title"] = self.title
        if self.first_name is not None:
            chat["first_name"] = self.first_name
        if self.username is not None:
            chat["username"] = self.username
        return chat


@dataclass(frozen=True, slots=True)
class Button:
    """One inline keyboard button as the user sees it."""

    label: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the bot sent, in its current (possibly edited) version.

    ``text`` is what the user reads (HTML tags stripped and entities unescaped; for a file, its caption or "");
    ``html`` is the raw text or caption as sent; ``caption`` is the plain caption of a file, if any.
    """

    chat_id: int
    message_id: int
    kind: MessageKind
    text: str
    html: str
    date: datetime
    buttons: tuple[tuple[Button, ...], ...] = ()
    parse_mode: str | None = None
    filename: str | None = None
    caption: str | None = None
    data: bytes | None = None
    edit_date: datetime | None = None

    def button(self, label: str) -> Button:
        """The button labelled ``label``; raises LookupError if the message has none."""
        for row in self.buttons:
            for candidate in row:
                if candidate.label == label:
                    return candidate
        raise LookupError(f"message {self.message_id} in chat {self.chat_id} has no button {label!r}")


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file the emulator holds: uploaded by the bot or sent by a user."""

    file_id: str
    file_unique_id: str
    file_path: str
    filename: str | None
    mime_type: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """The bot's answer to a button press (answerCallbackQuery)."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None


# ---- the emulator -------------------------------------------------------------------------------------------


class BotApiEmulator:
    """An in-memory Telegram Bot API server for one bot.

    Drive it through ``handle`` (or PTB via ``bot.sandbox.transport``); build incoming updates with
    ``message_update`` / ``document_update`` / ``callback_update`` and ``enqueue`` them for getUpdates; read
    ``sent``, ``edits``, ``commands``, ``callback_answers``, ``violations`` and ``stats`` to assert on outcomes.

    - ``commands[(scope, language_code)]`` holds ``((command, description), ...)``. ``scope`` is the scope
      type (``default``, ``all_private_chats``, ...), with the ids for per-chat scopes (``chat:<chat_id>``,
      ``chat_member:<chat_id>:<user_id>``); ``language_code`` is ``""`` for all languages, as in Telegram.
    - ``stats`` counts ``requests``, ``requests.<method>``, ``messages_sent``, ``http_429`` (every 429 answered,
      injected or not), ``rate_limited`` (429s caused by the flood limits), ``faults_injected``,
      ``fault.<Kind>`` and ``violations``.
    - ``violations`` lists requests that broke the spec, and any reply or built update of the emulator's own
      that did (a sandbox bug); a correct bot leaves it empty.
    """

    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        bot_username: str = "proposal_bot",
        enforce_limits: bool = False,
        limit_scale: float = 1.0,
        spec: BotApiSpec | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        bot_id: int = 123456,
        bot_name: str = "Proposal Bot",
        max_poll_wait: float = 10.0,
        check_responses: bool = True,
        callback_timeout: timedelta = timedelta(seconds=15),
    ) -> None:
        if limit_scale <= 0:
            raise ValueError("limit_scale must be positive")
        if callback_timeout <= timedelta(0):
            raise ValueError("callback_timeout must be positive")
        self.now = now
        self.monotonic = monotonic
        self.spec = spec if spec is not None else BotApiSpec.default()
        self.bot_username = bot_username
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.enforce_limits = enforce_limits
        self.limit_scale = limit_scale
        self.max_poll_wait = max_poll_wait
        self.check_responses = check_responses
        self.callback_timeout = callback_timeout

        self.users: dict[int, SandboxUser] = {}
        self.chats: dict[int, SandboxChat] = {}
        self.sent: list[SentMessage] = []
        self.edits: list[SentMessage] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.commands: dict[tuple[str, str], tuple[tuple[str, str], ...]] = {}
        self.menu_buttons: dict[int | None, JSONDict] = {}
        self.violations: list[str] = []
        self.stats: Counter[str] = Counter()
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self.closed = False
        self.logged_out = False

        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._bot_messages: dict[tuple[int, int], int] = {}  # (chat, message) -> index in self.sent
        self._next_message_id: dict[int, int] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._updates: list[JSONDict] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] | None = None
        self._wakeup: asyncio.Event | None = None
        self._poll_waiters = 0
        self._callback_queries: dict[str, bool] = {}
        self._callback_pressed: dict[str, datetime] = {}
        self._migrated: dict[int, int] = {}  # old group id -> the supergroup it became
        self._callback_counter = itertools.count(1)
        self._faults = FaultPlan()
        self._flood = FloodLimiter()
        self._handlers: dict[str, Callable[[Mapping[str, Any], Mapping[str, tuple[str, bytes]]], Any]] = {
            "getMe": self._get_me,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "close": self._close,
            "logOut": self._log_out,
        }

    # ---- people and chats -----------------------------------------------------------------------------------

    def add_user(
        self,
        *,
        user_id: int,
        first_name: str,
        language_code: str | None = "zh-hans",
        label: str | None = None,
        username: str | None = None,
    ) -> SandboxUser:
        """Register a user and their private chat (chat id = user id). Re-adding a user replaces them."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = SandboxUser(user_id, first_name, language_code, label, username)
        self.users[user_id] = user
        self.chats[user_id] = SandboxChat(user_id, "private", first_name=first_name, username=username)
        return user

    def add_group(self, chat_id: int, title: str, *, privacy: bool = True) -> SandboxChat:
        """Register a group chat (ids below -10**12 are supergroups, as in Telegram).

        With ``privacy=False`` the bot sees every message there (privacy mode off, or the bot is an admin).
        """
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        kind: Literal["group", "supergroup"] = "supergroup" if chat_id < -(10**12) else "group"
        chat = SandboxChat(chat_id, kind, title=title, privacy=privacy)
        self.chats[chat_id] = chat
        return chat

    def add_channel(self, chat_id: int, title: str) -> SandboxChat:
        """Register a channel the bot is an admin of (channel ids are below -10**12)."""
        if chat_id >= -(10**12):
            raise ValueError("channel ids are below -10**12")
        chat = SandboxChat(chat_id, "channel", title=title)
        self.chats[chat_id] = chat
        return chat

    def find_user(self, label: str) -> SandboxUser | None:
        """The user with this label (such as ``deputy:康红恩``), or None."""
        return next((u for u in self.users.values() if u.label == label), None)

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: every request to this chat answers 403 until they write again."""
        self._faults.block(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._faults.unblock(chat_id)

    def is_blocked(self, chat_id: int) -> bool:
        return self._faults.is_blocked(chat_id)

    def migrate(self, chat_id: int, new_chat_id: int) -> SandboxChat:
        """The group ``chat_id`` becomes the supergroup ``new_chat_id``: from now on every request to the old id
        answers 400 with ``migrate_to_chat_id``, as Telegram does."""
        self._migrated[chat_id] = new_chat_id
        return self._supergroup(new_chat_id, chat_id)

    def _supergroup(self, new_chat_id: int, old_chat_id: int | None) -> SandboxChat:
        known = self.chats.get(new_chat_id)
        if known is not None:
            return known
        old = self.chats.get(old_chat_id) if old_chat_id is not None else None
        chat = SandboxChat(new_chat_id, "supergroup", title=old.title if old is not None else None)
        self.chats[new_chat_id] = chat
        return chat

    # ---- records --------------------------------------------------------------------------------------------

    def forget(self) -> None:
        """Drop the record of past messages (long benchmarks); buttons of forgotten messages cannot be pressed."""
        self.sent.clear()
        self.edits.clear()
        self.callback_answers.clear()
        self.chat_actions.clear()
        self._messages.clear()
        self._bot_messages.clear()

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Everything the bot sent to ``chat_id``, oldest first, each in its current version."""
        return [m for m in self.sent if m.chat_id == chat_id]

    def last_message(self, chat_id: int) -> SentMessage:
        """The bot's latest message to ``chat_id``; raises LookupError if it sent none."""
        for message in reversed(self.sent):
            if message.chat_id == chat_id:
                return message
        raise LookupError(f"the bot sent nothing to chat {chat_id}")

    def file(self, file_id: str) -> StoredFile:
        """The stored file with this id; raises LookupError."""
        try:
            return self._files[file_id]
        except KeyError:
            raise LookupError(f"no file {file_id!r}") from None

    def download(self, file_path: str) -> bytes:
        """The content behind a getFile ``file_path``; raises LookupError for an unknown path."""
        try:
            return self._files_by_path[file_path].data
        except KeyError:
            raise LookupError(f"no file at {file_path!r}") from None

    @property
    def pending_updates(self) -> int:
        return len(self._updates)

    # ---- faults ---------------------------------------------------------------------------------------------

    def inject(self, fault: Fault, *, method: str | None = None, chat_id: int | None = None, times: int = 1) -> None:
        """Make the next ``times`` matching requests fail with ``fault``.

        A fault without ``method`` matches every method except getUpdates, so a polling loop in the background
        does not swallow a fault meant for a send. Faults are applied after spec validation, oldest first.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        canonical = None
        if method is not None:
            canonical = self.spec.method(method).name
        self._faults.add(fault, method=canonical, chat_id=chat_id, times=times)

    def _take_fault(self, method: str, chat_id: int | None) -> Fault | None:
        fault = self._faults.take(method, chat_id)
        if fault is not None:
            self.stats["faults_injected"] += 1
            self.stats[f"fault.{type(fault).__name__}"] += 1
        return fault

    # ---- the API --------------------------------------------------------------------------------------------

    async def handle(
        self,
        method: str,
        params: Mapping[str, Any],
        files: Mapping[str, tuple[str, bytes]] | None = None,
    ) -> tuple[int, JSONDict]:
        """Answer one Bot API call: (HTTP status, Telegram's JSON body).

        Raises SimulatedTimeout for an injected Timeout; everything else is an HTTP answer.
        """
        uploads = files or {}
        self.stats["requests"] += 1
        spec_method = self.spec.find_method(method)
        name = spec_method.name if spec_method is not None else method
        self.stats[f"requests.{name}"] += 1
        try:
            self.spec.check_request(method, params, uploads)
        except SpecViolation as exc:
            self.violations.append(f"{name}: {exc.description}")
            self.stats["violations"] += 1
            _LOGGER.warning("spec violation in %s: %s", name, exc.description)
            return self._error(400, f"Bad Request: {exc.description}")

        chat_id = _as_chat_id(params.get("chat_id"))
        fault = self._take_fault(name, chat_id)
        if isinstance(fault, Timeout) and not fault.delivered:
            raise SimulatedTimeout(f"{name} timed out (injected)")
        if isinstance(fault, RetryAfter):
            seconds = max(1, fault.seconds)
            return self._error(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)
        if isinstance(fault, ServerError):
            return self._error(fault.status, "Internal Server Error" if fault.status == 500 else "Bad Gateway")
        if isinstance(fault, Forbidden) or (chat_id is not None and self._faults.is_blocked(chat_id)):
            return self._error(403, self._forbidden_description(chat_id))
        if isinstance(fault, BadRequest):
            return self._error(400, fault.description)
        new_chat_id = fault.new_chat_id if isinstance(fault, ChatMigrated) else None
        if new_chat_id is None and chat_id is not None:
            new_chat_id = self._migrated.get(chat_id)
        if new_chat_id is not None:
            self._supergroup(new_chat_id, chat_id)
            return self._error(
                400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=new_chat_id
            )

        try:
            if name == "getUpdates":
                result: Any = await self._get_updates(params)
            else:
                handler = self._handlers.get(name)
                if handler is None:
                    return self._error(400, "Bad Request: method not supported by the sandbox")
                result = handler(params, uploads)
        except ApiError as exc:
            answer = self._error(exc.status, exc.description, exc.retry_after)
        else:
            if self.check_responses:
                for problem in self.spec.check_result(name, result):
                    self.violations.append(f"response of {name}: {problem}")
            answer = 200, {"ok": True, "result": result}
        if isinstance(fault, Timeout):
            raise SimulatedTimeout(f"{name} timed out after taking effect (injected)")
        return answer

    def _error(
        self, status: int, description: str, retry_after: int | None = None, *, migrate_to_chat_id: int | None = None
    ) -> tuple[int, JSONDict]:
        body: JSONDict = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        if migrate_to_chat_id is not None:
            body["parameters"] = {"migrate_to_chat_id": migrate_to_chat_id}
        if status == 429:
            self.stats["http_429"] += 1
        return status, body

    def _forbidden_description(self, chat_id: int | None) -> str:
        chat = self.chats.get(chat_id) if chat_id is not None else None
        if chat is not None and chat.is_group:
            return "Forbidden: bot was kicked from the group chat"
        return "Forbidden: bot was blocked by the user"

    # ---- incoming updates -----------------------------------------------------------------------------------

    def enqueue(self, update: Mapping[str, Any]) -> None:
        """Put an update on the getUpdates queue and wake a waiting long poll (unless privacy mode hides it)."""
        if not self.reaches_bot(update):
            self.stats["hidden_by_privacy"] += 1
            return
        self._updates.append(dict(update))
        if self._wakeup is not None:
            self._wakeup.set()
            self._wakeup = None

    def message_update(
        self, user: SandboxUser, text: str, *, chat_id: int | None = None, reply_to: int | None = None
    ) -> JSONDict:
        """A text message from ``user`` (in their private chat unless ``chat_id`` names a group).

        A text starting with "/" carries a bot_command entity, as Telegram adds one. ``reply_to`` names a message
        of the same chat that this one replies to; Telegram then includes it whole as ``reply_to_message``.
        """
        message = self._incoming_message(user, chat_id)
        message["text"] = text
        if reply_to is not None:
            original = self._messages.get((message["chat"]["id"], reply_to))
            if original is None:
                raise LookupError(f"chat {message['chat']['id']} has no message {reply_to} to reply to")
            message["reply_to_message"] = original
        _add_text_entities(message, text)
        return self._new_update("message", message)

    def edited_message_update(
        self, user: SandboxUser, message_id: int, text: str, *, chat_id: int | None = None
    ) -> JSONDict:
        """``user`` edits their earlier message ``message_id``: Telegram sends an ``edited_message`` update."""
        chat = self._chat_for(user, chat_id)
        original = self._messages.get((chat.chat_id, message_id))
        if original is None or original.get("from", {}).get("id") != user.user_id:
            raise LookupError(f"{user.user_id} sent no message {message_id} to chat {chat.chat_id}")
        message = {k: v for k, v in original.items() if k not in ("text", "entities")}
        message["text"] = text
        message["edit_date"] = self._timestamp()
        _add_text_entities(message, text)
        self._messages[(chat.chat_id, message_id)] = message
        return self._new_update("edited_message", message)

    def channel_post_update(self, chat_id: int, text: str) -> JSONDict:
        """A post in the channel ``chat_id`` (added with ``add_channel``); it has a sender chat and no ``from``."""
        chat = self.chats.get(chat_id)
        if chat is None or chat.type != "channel":
            raise LookupError(f"no channel {chat_id} in the sandbox")
        message_id = self._allocate_message_id(chat_id)
        message: JSONDict = {
            "message_id": message_id,
            "sender_chat": chat.to_api(),
            "chat": chat.to_api(),
            "date": self._timestamp(),
            "text": text,
        }
        _add_text_entities(message, text)
        self._messages[(chat_id, message_id)] = message
        return self._new_update("channel_post", message)

    def my_chat_member_update(
        self, user: SandboxUser, old: ChatMemberStatus, new: ChatMemberStatus, *, chat_id: int | None = None
    ) -> JSONDict:
        """The bot's status in a chat changes from ``old`` to ``new``, by ``user``.

        In a private chat "kicked" means the user blocked the bot and "member" that they restarted it; the
        emulator blocks or unblocks the chat accordingly.
        """
        chat = self._chat_for(user, chat_id)
        if new == "kicked":
            self._faults.block(chat.chat_id)
        elif new in ("member", "administrator"):
            self._faults.unblock(chat.chat_id)
        changed: JSONDict = {
            "chat": chat.to_api(),
            "from": user.to_api(),
            "date": self._timestamp(),
            "old_chat_member": self._bot_member(old),
            "new_chat_member": self._bot_member(new),
        }
        return self._new_update("my_chat_member", changed)

    def _bot_member(self, status: ChatMemberStatus) -> JSONDict:
        member: JSONDict = {"status": status, "user": self._bot_user()}
        if status == "kicked":
            member["until_date"] = 0
        return member

    def reaches_bot(self, update: Mapping[str, Any]) -> bool:
        """Whether Telegram delivers this update to the bot at all.

        In a group with privacy mode on, a message reaches the bot only if it is a command for this bot
        (``/status`` or ``/status@thisbot``, not ``/status@otherbot``), a reply to the bot's own message, or
        mentions the bot. Everything else (and every other kind of update) is delivered.
        """
        message = update.get("message") or update.get("edited_message")
        if not isinstance(message, Mapping):
            return True
        chat = self.chats.get(int(message["chat"]["id"]))
        if chat is None or not chat.is_group or not chat.privacy:
            return True
        text = str(message.get("text") or message.get("caption") or "")
        me = self.bot_username.lower()
        if text.startswith("/"):
            _, at, target = text.split(maxsplit=1)[0].partition("@")
            if not at or target.lower() == me:
                return True
        replied = message.get("reply_to_message")
        if isinstance(replied, Mapping) and replied.get("from", {}).get("id") == self.bot_id:
            return True
        return f"@{me}" in text.lower()

    def document_update(
        self,
        user: SandboxUser,
        filename: str,
        content: bytes,
        caption: str | None = None,
        mime_type: str | None = None,
        *,
        chat_id: int | None = None,
    ) -> JSONDict:
        """A document from ``user``; the file is stored so getFile and the download work."""
        stored = self._store_file("documents", filename, mime_type, content)
        message = self._incoming_message(user, chat_id)
        message["document"] = _document_api(stored)
        if caption is not None:
            message["caption"] = caption
        return self._new_update("message", message)

    def callback_update(self, user: SandboxUser, message_id: int, data: str, *, chat_id: int | None = None) -> JSONDict:
        """``user`` presses the button carrying ``data`` under the bot's message ``message_id``.

        Raises LookupError if that message has no such button, since no client could press it.
        """
        chat = self._chat_for(user, chat_id)
        index = self._bot_messages.get((chat.chat_id, message_id))
        if index is None:
            raise LookupError(f"the bot sent no message {message_id} to chat {chat.chat_id}")
        sent = self.sent[index]
        if not any(b.callback_data == data for row in sent.buttons for b in row):
            raise LookupError(f"message {message_id} has no button with callback data {data!r}")
        self._faults.unblock(user.user_id)
        return self.forged_callback_update(user, message_id, data, chat_id=chat_id)

    def forged_callback_update(
        self, user: SandboxUser, message_id: int, data: str, *, chat_id: int | None = None
    ) -> JSONDict:
        """A modified client presses a button of its own making under the bot's message ``message_id``.

        Telegram delivers whatever callback data a client sends (up to 64 bytes), so the bot must validate it.
        """
        chat = self._chat_for(user, chat_id)
        if (chat.chat_id, message_id) not in self._bot_messages:
            raise LookupError(f"the bot sent no message {message_id} to chat {chat.chat_id}")
        if len(data.encode("utf-8")) > 64:
            raise ValueError("Telegram carries at most 64 bytes of callback data")
        query_id = f"{self.bot_id}{next(self._callback_counter):010d}"
        self._callback_queries[query_id] = False
        self._callback_pressed[query_id] = self._now()
        query: JSONDict = {
            "id": query_id,
            "from": user.to_api(),
            "message": self._messages[(chat.chat_id, message_id)],
            "chat_instance": str(abs(hash((self.bot_id, chat.chat_id)))),
            "data": data,
        }
        return self._new_update("callback_query", query)

    @property
    def unanswered_callbacks(self) -> list[str]:
        """Ids of button presses the bot never answered (the user's client would spin until it gives up)."""
        return [query_id for query_id, answered in self._callback_queries.items() if not answered]

    def _chat_for(self, user: SandboxUser, chat_id: int | None) -> SandboxChat:
        if user.user_id not in self.users:
            raise LookupError(f"user {user.user_id} was not added to the sandbox")
        target = user.user_id if chat_id is None else chat_id
        chat = self.chats.get(target)
        if chat is None:
            raise LookupError(f"no chat {target} in the sandbox")
        return chat

    def _incoming_message(self, user: SandboxUser, chat_id: int | None) -> JSONDict:
        chat = self._chat_for(user, chat_id)
        # Writing to the bot means the user has (re)started it.
        self._faults.unblock(user.user_id)
        message_id = self._allocate_message_id(chat.chat_id)
        message: JSONDict = {
            "message_id": message_id,
            "from": user.to_api(),
            "chat": chat.to_api(),
            "date": self._timestamp(),
        }
        self._messages[(chat.chat_id, message_id)] = message
        return message

    def _new_update(self, kind: str, payload: JSONDict) -> JSONDict:
        update: JSONDict = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        if self.check_responses:
            for problem in self.spec.check_object("Update", update):
                self.violations.append(f"built update: {problem}")
        return update

    # ---- helpers --------------------------------------------------------------------------------------------

    def _timestamp(self) -> int:
        return int(self._now().timestamp())

    def _now(self) -> datetime:
        current = self.now()
        # A naive clock is taken to be UTC rather than the host's local time.
        return current if current.tzinfo is not None else current.replace(tzinfo=UTC)

    def _allocate_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _bot_user(self) -> JSONDict:
        return {"id": self.bot_id, "is_bot": True, "first_name": self.bot_name, "username": self.bot_username}

    def _resolve_chat(self, value: Any) -> SandboxChat:
        chat_id = _as_chat_id(value)
        chat = self.chats.get(chat_id) if chat_id is not None else None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _store_file(self, folder: str, filename: str | None, mime_type: str | None, data: bytes) -> StoredFile:
        number = next(self._file_counter)
        suffix = ""
        if filename and "." in filename:
            suffix = "." + filename.rsplit(".", 1)[1]
        if mime_type is None and filename:
            mime_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        stored = StoredFile(
            file_id=f"SBX{folder[:3].upper()}{number:08d}",
            file_unique_id=f"U{number:08d}",
            file_path=f"{folder}/file_{number}{suffix}",
            filename=filename,
            mime_type=mime_type,
            data=data,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _admit(self, chat: SandboxChat) -> None:
        """Apply Telegram's flood limits to one outgoing message; raise a 429 without spending anything."""
        if not self.enforce_limits:
            return
        seconds = self._flood.admit(chat.chat_id, group=chat.is_group, now=self.monotonic(), scale=self.limit_scale)
        if seconds is not None:
            self.stats["rate_limited"] += 1
            raise ApiError(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)

    def _render(self, text: str, parse_mode: str | None, *, caption: bool) -> tuple[str, list[JSONDict]]:
        mode = (parse_mode or "").lower()
        if mode == "html":
            try:
                plain, entities = parse_html(text)
            except EntityParseError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        elif mode in ("", "markdown", "markdownv2"):
            plain, entities = text, []
        else:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        check_length(plain, caption=caption)
        return plain, entities

    def _check_reply_target(self, chat: SandboxChat, params: Mapping[str, Any]) -> JSONDict | None:
        reply = params.get("reply_parameters")
        if not isinstance(reply, Mapping):
            return None
        target_chat = _as_chat_id(reply.get("chat_id")) or chat.chat_id
        original = self._messages.get((target_chat, int(reply["message_id"])))
        if original is None and not reply.get("allow_sending_without_reply"):
            raise ApiError(400, "Bad Request: message to be replied not found")
        return original

    def _send(
        self,
        kind: MessageKind,
        params: Mapping[str, Any],
        *,
        text: str,
        stored: StoredFile | None = None,
        extra: JSONDict | None = None,
    ) -> JSONDict:
        chat = self._resolve_chat(params["chat_id"])
        replied_to = self._check_reply_target(chat, params)
        markup, buttons = _inline_keyboard(params.get("reply_markup"))
        parse_mode = params.get("parse_mode")
        is_caption = kind != "message"
        plain, entities = self._render(text, parse_mode, caption=is_caption)
        self._admit(chat)

        moment = self._now()
        message_id = self._allocate_message_id(chat.chat_id)
        message: JSONDict = {
            "message_id": message_id,
            "from": self._bot_user(),
            "chat": chat.to_api(),
            "date": int(moment.timestamp()),
        }
        if replied_to is not None:
            message["reply_to_message"] = replied_to
        if extra:
            message.update(extra)
        if is_caption:
            if plain:
                message["caption"] = plain
            if entities:
                message["caption_entities"] = entities
        else:
            message["text"] = plain
            if entities:
                message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        if params.get("protect_content"):
            message["has_protected_content"] = True

        record = SentMessage(
            chat_id=chat.chat_id,
            message_id=message_id,
            kind=kind,
            text=plain,
            html=text,
            date=moment,
            buttons=buttons,
            parse_mode=parse_mode,
            filename=stored.filename if stored is not None else None,
            caption=(plain or None) if is_caption else None,
            data=stored.data if stored is not None else None,
        )
        self._messages[(chat.chat_id, message_id)] = message
        self._bot_messages[(chat.chat_id, message_id)] = len(self.sent)
        self.sent.append(record)
        self.stats["messages_sent"] += 1
        return message

    def _upload(
        self,
        field_name: str,
        params: Mapping[str, Any],
        files: Mapping[str, tuple[str, bytes]],
        folder: str,
    ) -> StoredFile:
        value = params.get(field_name)
        upload = files.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value.removeprefix("attach://"))
        if upload is not None:
            filename, data = upload
            check_upload(data)
            return self._store_file(folder, filename or None, None, data)
        if isinstance(value, str):
            existing = self._files.get(value)
            if existing is not None:
                return existing
            if value.startswith(("http://", "https://")):
                raise ApiError(400, "Bad Request: failed to get HTTP URL content")
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _editable(self, params: Mapping[str, Any]) -> tuple[SandboxChat, int, SentMessage]:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: method not supported by the sandbox (inline messages)")
        if "chat_id" not in params:
            raise ApiError(400, "Bad Request: chat_id is empty")
        if "message_id" not in params:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        chat = self._resolve_chat(params["chat_id"])
        key = (chat.chat_id, int(params["message_id"]))
        index = self._bot_messages.get(key)
        if index is None:
            if key in self._messages:
                raise ApiError(400, "Bad Request: message can't be edited")
            raise ApiError(400, "Bad Request: message to edit not found")
        return chat, index, self.sent[index]

    def _apply_edit(self, index: int, record: SentMessage, message: JSONDict) -> JSONDict:
        moment = self._now()
        message["edit_date"] = int(moment.timestamp())
        record = dataclasses.replace(record, edit_date=moment)
        self.sent[index] = record
        self.edits.append(record)
        self._messages[(record.chat_id, record.message_id)] = message
        return message

    # ---- methods --------------------------------------------------------------------------------------------

    def _get_me(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> JSONDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: Mapping[str, Any]) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
                "the webhook first",
            )
        offset = int(params.get("offset", 0))
        limit = min(100, max(1, int(params.get("limit", 100))))
        timeout = max(0.0, float(params.get("timeout", 0)))
        allowed = params.get("allowed_updates")
        if allowed is not None:
            self._allowed_updates = list(allowed) or None
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        if not self._updates and timeout > 0:
            if self._wakeup is None:
                self._wakeup = asyncio.Event()
            wakeup = self._wakeup
            self._poll_waiters += 1
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), min(timeout, self.max_poll_wait))
            finally:
                self._poll_waiters -= 1
                # Drop an idle event so it is never reused from another event loop.
                if self._poll_waiters == 0 and self._wakeup is wakeup:
                    self._wakeup = None
        if self._allowed_updates is not None:
            wanted = set(self._allowed_updates)
            self._updates = [u for u in self._updates if wanted.intersection(u.keys() - {"update_id"})]
        return self._updates[:limit]

    def _delete_webhook(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> bool:
        self.webhook_url = ""
        self.webhook_secret = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _set_webhook(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> bool:
        url = str(params["url"])
        if url and not url.startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook_url = url
        self.webhook_secret = params.get("secret_token")
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"]) or None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._allowed_updates is not None:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    def _set_my_commands(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> bool:
        key = commands_key(params)
        parsed = parse_commands(params["commands"])
        if parsed:
            self.commands[key] = tuple(parsed)
        else:
            self.commands.pop(key, None)
        return True

    def _get_my_commands(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> list[JSONDict]:
        key = commands_key(params)
        return [{"command": c, "description": d} for c, d in self.commands.get(key, ())]

    def _delete_my_commands(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> bool:
        self.commands.pop(commands_key(params), None)
        return True

    def _send_message(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> JSONDict:
        return self._send("message", params, text=str(params["text"]))

    def _send_document(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> JSONDict:
        self._resolve_chat(params["chat_id"])
        stored = self._upload("document", params, files, "documents")
        return self._send(
            "document",
            params,
            text=str(params.get("caption") or ""),
            stored=stored,
            extra={"document": _document_api(stored)},
        )

    def _send_photo(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> JSONDict:
        self._resolve_chat(params["chat_id"])
        stored = self._upload("photo", params, files, "photos")
        size = image_size(stored.data)
        if size is None:
            raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        photo = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "width": size[0],
            "height": size[1],
            "file_size": len(stored.data),
        }
        return self._send(
            "photo", params, text=str(params.get("caption") or ""), stored=stored, extra={"photo": [photo]}
        )

    def _edit_message_text(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> JSONDict:
        _, index, record = self._editable(params)
        if record.kind != "message":
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        if "text" not in params:
            raise ApiError(400, "Bad Request: message text is empty")
        html = str(params["text"])
        parse_mode = params.get("parse_mode")
        plain, entities = self._render(html, parse_mode, caption=False)
        markup, buttons = _inline_keyboard(params.get("reply_markup"))
        old = self._messages[(record.chat_id, record.message_id)]
        if plain == old.get("text") and entities == old.get("entities", []) and markup == old.get("reply_markup"):
            raise ApiError(400, _NOT_MODIFIED)
        message = {k: v for k, v in old.items() if k not in ("text", "entities", "reply_markup")}
        message["text"] = plain
        if entities:
            message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        record = dataclasses.replace(record, text=plain, html=html, parse_mode=parse_mode, buttons=buttons)
        return self._apply_edit(index, record, message)

    def _edit_message_reply_markup(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> JSONDict:
        _, index, record = self._editable(params)
        markup, buttons = _inline_keyboard(params.get("reply_markup"))
        old = self._messages[(record.chat_id, record.message_id)]
        if markup == old.get("reply_markup"):
            raise ApiError(400, _NOT_MODIFIED)
        message = {k: v for k, v in old.items() if k != "reply_markup"}
        if markup is not None:
            message["reply_markup"] = markup
        return self._apply_edit(index, dataclasses.replace(record, buttons=buttons), message)

    def _answer_callback_query(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> bool:
        query_id = str(params["callback_query_id"])
        pressed = self._callback_pressed.get(query_id)
        too_late = pressed is not None and self._now() - pressed > self.callback_timeout
        if self._callback_queries.get(query_id, True) or too_late:
            # Unknown, already answered (Telegram accepts one answer per query) or answered after the timeout.
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        check_callback_answer(params.get("text"))
        self._callback_queries[query_id] = True
        self.callback_answers.append(
            CallbackAnswer(
                callback_query_id=query_id,
                text=params.get("text"),
                show_alert=bool(params.get("show_alert", False)),
                url=params.get("url"),
            )
        )
        return True

    def _get_file(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> JSONDict:
        stored = self._files.get(str(params["file_id"]))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def _send_chat_action(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> bool:
        chat = self._resolve_chat(params["chat_id"])
        action = str(params["action"])
        if action not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self.chat_actions.append((chat.chat_id, action))
        return True

    def _set_chat_menu_button(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> bool:
        chat_id = None
        if "chat_id" in params:
            chat_id = self._resolve_chat(params["chat_id"]).chat_id
        self.menu_buttons[chat_id] = dict(params.get("menu_button") or {"type": "default"})
        return True

    def _get_chat_menu_button(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> JSONDict:
        chat_id = None
        if "chat_id" in params:
            chat_id = self._resolve_chat(params["chat_id"]).chat_id
        return dict(self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "commands"})

    def _close(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> bool:
        self.closed = True
        return True

    def _log_out(self, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]]) -> bool:
        self.logged_out = True
        return True


# ---- module helpers -----------------------------------------------------------------------------------------


def _as_chat_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    return None


_MENTION = re.compile(r"@[A-Za-z0-9_]{4,32}")


def _add_text_entities(message: JSONDict, text: str) -> None:
    """The entities Telegram adds to a user's text: a leading bot_command, and @username mentions."""
    entities: list[JSONDict] = []
    start = 0
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command)})
        start = len(command)
    for match in _MENTION.finditer(text, start):
        entities.append({"type": "mention", "offset": utf16_len(text[: match.start()]), "length": utf16_len(match[0])})
    if entities:
        message["entities"] = entities


def _inline_keyboard(markup: Any) -> tuple[JSONDict | None, tuple[tuple[Button, ...], ...]]:
    """The inline keyboard to echo in the Message and the buttons to record; other markups are not echoed."""
    if not isinstance(markup, Mapping) or "inline_keyboard" not in markup:
        return None, ()
    check_keyboard(markup["inline_keyboard"])
    rows: list[tuple[Button, ...]] = []
    for row in markup["inline_keyboard"]:
        buttons: list[Button] = []
        for raw in row:
            check_button(raw)
            buttons.append(Button(str(raw["text"]), raw.get("callback_data"), raw.get("url")))
        rows.append(tuple(buttons))
    return dict(markup), tuple(rows)


def _document_api(stored: StoredFile) -> JSONDict:
    document: JSONDict = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
    }
    if stored.filename:
        document["file_name"] = stored.filename
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    return document
