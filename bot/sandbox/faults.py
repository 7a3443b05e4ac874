"""Fault injection: the failures the sandbox can make a request meet, and the chats that blocked the bot.

A test plans a fault with ``BotApiEmulator.inject`` (a 429, a 5xx, a lost answer, a 403, a 400, a group migrated
to a supergroup) or blocks a chat with
``BotApiEmulator.block``; the emulator asks the plan before it answers each request. The plan only decides which
request fails; the emulator writes the answer Telegram would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

__all__ = [
    "BadRequest",
    "ChatMigrated",
    "Fault",
    "FaultPlan",
    "Forbidden",
    "RetryAfter",
    "ServerError",
    "SimulatedTimeout",
    "Timeout",
]


@dataclass(frozen=True, slots=True)
class RetryAfter:
    """Answer 429 Too Many Requests with ``parameters.retry_after = seconds``."""

    seconds: int = 1


@dataclass(frozen=True, slots=True)
class ServerError:
    """Answer with a 5xx status."""

    status: Literal[500, 502] = 500


@dataclass(frozen=True, slots=True)
class Timeout:
    """Never answer: the transport raises ``httpx.ReadTimeout``.

    With ``delivered=True`` the request takes effect first (the message is sent) and only the answer is
    lost, which is the case that makes retries produce duplicates.
    """

    delivered: bool = False


@dataclass(frozen=True, slots=True)
class Forbidden:
    """Answer 403 as if the user blocked the bot (or, in a group, the bot was removed)."""


@dataclass(frozen=True, slots=True)
class BadRequest:
    """Answer 400 with ``description``: Telegram refusing a call as malformed, which is the bot's own bug."""

    description: str = "Bad Request: can't parse entities: unexpected end tag"


@dataclass(frozen=True, slots=True)
class ChatMigrated:
    """Answer 400 with ``parameters.migrate_to_chat_id``: the group became the supergroup ``new_chat_id``.

    ``BotApiEmulator.migrate`` makes the migration itself (every later request to the old id fails so); this
    fault fails only the planned requests, and the emulator adds the new chat if it does not know it.
    """

    new_chat_id: int


Fault: TypeAlias = RetryAfter | ServerError | Timeout | Forbidden | BadRequest | ChatMigrated


class SimulatedTimeout(Exception):
    """Raised by ``BotApiEmulator.handle`` for an injected Timeout; transports turn it into a read timeout."""


@dataclass(slots=True)
class _PendingFault:
    fault: Fault
    method: str | None
    chat_id: int | None
    remaining: int


class FaultPlan:
    """The faults waiting for matching requests, oldest first, and the chats that blocked the bot."""

    __slots__ = ("_blocked", "_pending")

    def __init__(self) -> None:
        self._pending: list[_PendingFault] = []
        self._blocked: set[int] = set()

    def add(self, fault: Fault, *, method: str | None, chat_id: int | None, times: int) -> None:
        """Fail the next ``times`` (at least 1) requests to ``method`` and ``chat_id``; None matches any."""
        self._pending.append(_PendingFault(fault, method, chat_id, times))

    def take(self, method: str, chat_id: int | None) -> Fault | None:
        """The oldest fault planned for this request, used up once; None if the request goes through.

        A fault without a method never matches getUpdates, so a polling loop in the background does not
        swallow a fault meant for a send.
        """
        for pending in self._pending:
            if pending.method is None and method == "getUpdates":
                continue
            if pending.method is not None and pending.method != method:
                continue
            if pending.chat_id is not None and pending.chat_id != chat_id:
                continue
            pending.remaining -= 1
            if pending.remaining == 0:
                self._pending.remove(pending)
            return pending.fault
        return None

    def block(self, chat_id: int) -> None:
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def is_blocked(self, chat_id: int) -> bool:
        return chat_id in self._blocked
