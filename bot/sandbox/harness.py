"""The sandbox harness: the real application wired to the in-process emulator, a virtual clock and roles.

Tests, benchmarks and the console chat all drive the bot through this class, so what they see is what a
Telegram user would see.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from telegram import Update

from bot.app import build_application
from bot.context import App
from bot.domain.clock import VirtualClock
from bot.sandbox.demo import load_demo
from bot.sandbox.emulator import BotApiEmulator, SandboxUser, SentMessage
from bot.sandbox.transport import build_bot_kwargs
from config.settings import Settings
from storage.accounts import bind_account
from storage.models import Proposal
from storage.proposals import find_deputy, find_unit, get_or_create_unit

ADMIN_ID = 10001
PUBLIC_ID = 20001
ROLE_NAMES = ("public", "admin", "deputy:<name>", "unit:<name>")


class RoleError(ValueError):
    """An unknown `--as` / `:as` role."""


@dataclass(frozen=True, slots=True)
class Role:
    kind: str  # public | admin | deputy | unit
    name: str | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}" if self.name else self.kind

    @classmethod
    def parse(cls, text: str) -> Role:
        kind, _, name = text.strip().partition(":")
        if kind in {"public", "admin"} and not name:
            return cls(kind)
        if kind in {"deputy", "unit"} and name.strip():
            return cls(kind, name.strip())
        raise RoleError(f"unknown role {text!r}: expected {', '.join(ROLE_NAMES)}")

    @property
    def user_id(self) -> int:
        if self.kind == "admin":
            return ADMIN_ID
        if self.kind == "public":
            return PUBLIC_ID
        base = 30000 if self.kind == "deputy" else 40000
        return base + zlib.crc32((self.name or "").encode("utf-8")) % 9_000_000


class Sandbox:
    """The bot, the emulator and the virtual clock, started and stopped together."""

    def __init__(
        self,
        settings: Settings,
        *,
        at: datetime | None = None,
        language_code: str = "zh-hans",
        emulator: BotApiEmulator | None = None,
        polling: bool = False,
        rate_limit: bool = False,
    ) -> None:
        """`emulator` lets several instances of the bot share one Telegram (the multi-instance tests).

        With `polling`, the bot also fetches updates the way `proposal-bot run` does, through PTB's Updater
        and getUpdates, so an update put on the emulator's queue (`emulator.enqueue`) travels the whole way in.
        With `rate_limit`, the bot is built as `proposal-bot run` builds it, with the production rate limiter
        (bot/telegram/pacing.py).
        """
        self.clock = VirtualClock(at or datetime.now(UTC))
        self.emulator = emulator or BotApiEmulator(now=self.clock.now)
        admin_settings = settings.model_copy(update={"admins": (*settings.admins, ADMIN_ID)})
        self.settings = admin_settings
        self.app: App = build_application(
            admin_settings,
            clock=self.clock,
            bot_kwargs=build_bot_kwargs(self.emulator),
            with_updater=polling,
            rate_limit=rate_limit,
            tick_interval=None,  # the sandbox drives the ticker itself, on the virtual clock
        )
        self.language_code = language_code
        self.role = Role("public")
        self.chat_id: int | None = None  # the group the user talks in; None: their private chat with the bot
        self._users: dict[int, Role] = {}
        self._printed = 0

    async def start(self) -> None:
        await self.app.initialize()
        if self.app.post_init is not None:
            await self.app.post_init(self.app)
        await self.app.start()
        if self.app.updater is not None:
            await self.app.updater.start_polling(poll_interval=0.0)

    async def stop(self) -> None:
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        await self.app.shutdown()
        if self.app.post_shutdown is not None:
            await self.app.post_shutdown(self.app)

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def deps(self) -> Any:
        return self.app.bot_data

    async def load_demo(self) -> int:
        """Load the demo items into an empty database; returns how many items it loaded (0 if not empty)."""
        async with self.deps.sessionmaker() as session:
            if await session.scalar(select(func.count()).select_from(Proposal)):
                return 0
        return await load_demo(
            self.deps.sessionmaker,
            calendar=self.deps.calendar,
            profile=self.settings.profile,
            today=self.clock.now().astimezone(self.settings.tz).date(),
            tz=self.settings.tz,
        )

    async def use(self, role: Role | str) -> SandboxUser:
        """Act as `role` from now on; deputies and unit staff act as already-bound accounts."""
        role = Role.parse(role) if isinstance(role, str) else role
        self.role = role
        user = self.emulator.add_user(
            user_id=role.user_id,
            first_name=role.name or ("管理员" if role.kind == "admin" else "访客"),
            language_code=self.language_code,
            label=role.label,
        )
        self._users[role.user_id] = role
        if role.kind in {"deputy", "unit", "admin"}:
            await self._bind(role)
        return user

    async def _bind(self, role: Role) -> None:
        now = self.clock.now()
        async with self.deps.sessionmaker.begin() as session:
            deputy_id = unit_id = None
            if role.kind == "deputy":
                deputy = await find_deputy(session, name=role.name or "")
                deputy_id = deputy.id if deputy else None
            elif role.kind == "unit":
                unit = await find_unit(session, name=role.name or "") or await get_or_create_unit(
                    session, role.name or ""
                )
                unit_id = unit.id
            await bind_account(
                session,
                telegram_id=role.user_id,
                chat_id=role.user_id,
                role=role.kind,
                now=now,
                deputy_id=deputy_id,
                unit_id=unit_id,
                display_name=role.name or "",
            )

    def _user(self) -> SandboxUser:
        user = self.emulator.find_user(self.role.label)
        if user is None:
            raise RuntimeError("call use() before sending")
        return user

    def join_group(self, title: str, *, privacy: bool = True) -> int:
        """Talk in the group ``title`` from now on (created on first use, with the bot a member); its chat id."""
        chat_id = -(1 + zlib.crc32(title.encode("utf-8")) % 900_000_000)
        known = self.emulator.chats.get(chat_id)
        if known is None or known.privacy != privacy:
            self.emulator.add_group(chat_id, title, privacy=privacy)
        self.chat_id = chat_id
        return chat_id

    def leave_group(self) -> None:
        """Talk in the private chat with the bot again."""
        self.chat_id = None

    async def feed(self, update: dict[str, Any]) -> list[SentMessage]:
        """Process one update to completion; return the messages the bot sent or edited meanwhile, in order.

        An update that Telegram would not deliver (a group's chatter under privacy mode) never reaches the bot.
        """
        if not self.emulator.reaches_bot(update):
            return []
        sent, edits = len(self.emulator.sent), len(self.emulator.edits)
        await self.app.process_update(Update.de_json(update, self.app.bot))
        await self.deps.ticker.dispatch()  # pushes the update caused, if they are due now
        changed = self.emulator.sent[sent:] + self.emulator.edits[edits:]
        return sorted(changed, key=lambda m: (m.edit_date or m.date, m.message_id))

    async def say(self, text: str, *, reply_to: int | None = None) -> list[SentMessage]:
        """Send ``text`` in the current chat, optionally as a reply to the message ``reply_to`` there."""
        update = self.emulator.message_update(self._user(), text, chat_id=self.chat_id, reply_to=reply_to)
        return await self.feed(update)

    async def reply(self, text: str) -> list[SentMessage]:
        """Answer the bot's latest message in the current chat as a Telegram reply."""
        user = self._user()
        last = self.emulator.last_message(self.chat_id if self.chat_id is not None else user.chat_id)
        return await self.say(text, reply_to=last.message_id)

    async def upload(self, path: Path, caption: str | None = None) -> list[SentMessage]:
        update = self.emulator.document_update(
            self._user(), path.name, path.read_bytes(), caption, chat_id=self.chat_id
        )
        return await self.feed(update)

    async def press(self, label: str) -> list[SentMessage]:
        """Press the button `label` on the newest bot message in the current chat that has it."""
        user = self._user()
        chat_id = self.chat_id if self.chat_id is not None else user.chat_id
        for message in reversed(self.emulator.messages_to(chat_id)):
            for row in message.buttons:
                for button in row:
                    if button.label == label and button.callback_data:
                        return await self.feed(
                            self.emulator.callback_update(
                                user, message.message_id, button.callback_data, chat_id=self.chat_id
                            )
                        )
        raise LookupError(f"no button {label!r} on the bot's recent messages")

    async def advance(self, delta: timedelta) -> list[SentMessage]:
        """Move the virtual clock, running every sweep and push that falls due on the way, in order."""
        before = len(self.emulator.sent)
        await self.deps.ticker.advance_to(self.clock, self.clock.now() + delta)
        return list(self.emulator.sent[before:])

    def who(self, chat_id: int) -> str:
        role = self._users.get(chat_id)
        if role is not None:
            return role.label
        chat = self.emulator.chats.get(chat_id)
        return f"group {chat.title}" if chat is not None and chat.is_group else str(chat_id)

    def format(self, message: SentMessage) -> str:
        """One printed block per message: `[to <who> @ <time>] <text>`, then its buttons as `[label]`."""
        at = message.date.astimezone(self.settings.tz).strftime("%Y-%m-%d %H:%M")
        head = f"[to {self.who(message.chat_id)} @ {at}]"
        if message.kind == "document":
            body = f"[document {message.filename}] {message.caption or ''}".rstrip()
        elif message.kind == "photo":
            body = f"[photo {message.filename}] {message.caption or ''}".rstrip()
        else:
            body = message.text
        lines = [f"{head} {body}"]
        lines += [" ".join(f"[{b.label}]" for b in row) for row in message.buttons]
        return "\n".join(lines)
