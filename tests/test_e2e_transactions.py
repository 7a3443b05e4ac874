"""End-to-end: every update the bot handles opens at most one database transaction (STYLE.md #5)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.sandbox.emulator import SentMessage
from bot.sandbox.harness import Sandbox
from config.settings import load_settings

SEED = Path(__file__).parent / "fixtures" / "000_22e5c766df40d68a.txt"
AT = datetime(2024, 4, 20, 1, 0, tzinfo=UTC)  # 09:00 Shanghai; 018 is in progress, with no reply yet


@pytest.fixture
async def sandbox(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT) as box:
        await box.load_demo()

        async def no_pushes() -> int:  # the pushes an update queues are the ticker's job, not the update's
            return 0

        monkeypatch.setattr(box.deps.ticker, "dispatch", no_pushes)
        yield box
    assert box.emulator.violations == []


@contextmanager
def transactions() -> Iterator[list[object]]:
    """Every transaction any session begins meanwhile."""
    begun: list[object] = []

    def count(session: Session, transaction: Any, connection: Any) -> None:
        begun.append(transaction)

    event.listen(Session, "after_begin", count)
    try:
        yield begun
    finally:
        event.remove(Session, "after_begin", count)


def _labels(messages: list[SentMessage]) -> list[str]:
    return [b.label for m in messages for row in m.buttons for b in row if b.callback_data]


async def _steps(box: Sandbox, steps: list[str]) -> dict[str, int]:
    """Run each step (`:press LABEL`, `:upload`, or a text) and count the transactions it began."""
    counts: dict[str, int] = {}
    for step in steps:
        with transactions() as begun:
            if step.startswith(":press "):
                await box.press(step.removeprefix(":press "))
            elif step == ":upload":
                await box.upload(SEED)
            else:
                await box.say(step)
        counts[f"{box.role.label} {step}"] = len(begun)
    return counts


async def test_every_update_begins_at_most_one_transaction(sandbox: Sandbox) -> None:
    counts: dict[str, int] = {}
    await sandbox.use("public")
    counts |= await _steps(sandbox, ["/status 018", "/start p_17-5_018", "/status 999"])
    for label in _labels(await sandbox.say("/status 018")):
        counts |= await _steps(sandbox, [f":press {label}"])
    await sandbox.use("deputy:康红恩")
    counts |= await _steps(sandbox, ["/mine", "/follow 018", "/follow unit 区建管委", "/follow session", "/following"])
    counts |= await _steps(sandbox, ["/unfollow 018", "/follow nothing-here", "/settings", ":press 不设免打扰"])
    await sandbox.use("unit:区建管委")
    counts |= await _steps(sandbox, ["/mine", "/due", "/overdue", "/unbind"])
    await sandbox.use("admin")
    counts |= await _steps(sandbox, ["/due", "/overdue", "/bind unit:区建管委", "/reply 018", ":upload"])
    counts |= await _steps(sandbox, [":press ✅ 确认"])
    await sandbox.use("deputy:康红恩")
    counts |= await _steps(sandbox, ["/rate 018", ":press 不满意", "理由：停车位仍然不够"])
    await sandbox.use("public")
    await sandbox.say("/status 018")
    counts |= await _steps(sandbox, [":press 📄 答复全文"])
    assert {step: n for step, n in counts.items() if n > 1} == {}
    assert len(counts) == 28  # every step ran, under its own name
