"""End-to-end: nothing non-public reaches someone who may not read it (bot/domain/access.py decides).

The demo's item 008 has a non-public reply, 018 a public one; `_withhold` makes an item itself non-public, as an
import would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from bot.sandbox.emulator import SentMessage
from bot.sandbox.harness import Sandbox
from config.settings import load_settings
from storage.cards import refresh_card
from storage.models import Proposal

AT = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)  # a Monday morning in Shanghai; 008's non-public reply is in
PHONE = "13800138000"


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT) as box:
        await box.load_demo()
        yield box
    assert box.emulator.violations == []
    assert box.emulator.unanswered_callbacks == []


async def _withhold(sandbox: Sandbox, number: str) -> int:
    """Make the item non-public, and return its id."""
    async with sandbox.deps.sessionmaker.begin() as session:
        proposal_id = (await session.scalars(select(Proposal.id).where(Proposal.number == number))).one()
        await session.execute(update(Proposal).where(Proposal.id == proposal_id).values(public=False))
        await refresh_card(session, proposal_id=proposal_id)
    return int(proposal_id)


def _texts(messages: list[SentMessage]) -> str:
    return "\n".join(m.text for m in messages)


async def _rate_unsatisfied_with_reason(sandbox: Sandbox) -> None:
    await sandbox.use("deputy:康红恩")
    await sandbox.say("/rate 018")
    await sandbox.press("不满意")
    await sandbox.say(f"问题仍未解决，请回电 {PHONE}")


async def test_timeline_hides_the_rating_reason_from_the_public(sandbox: Sandbox) -> None:
    await _rate_unsatisfied_with_reason(sandbox)
    await sandbox.use("public")
    await sandbox.say("/status 018")
    timeline = _texts(await sandbox.press("🕑 时间线"))
    assert "重新办理" in timeline
    assert PHONE not in timeline


@pytest.mark.parametrize("role", ["admin", "unit:长宁区科学技术委员会", "unit:区建管委", "deputy:康红恩"])
async def test_timeline_shows_the_rating_reason_to_the_item_s_own(sandbox: Sandbox, role: str) -> None:
    await _rate_unsatisfied_with_reason(sandbox)
    await sandbox.use(role)
    await sandbox.say("/status 018")
    assert PHONE in _texts(await sandbox.press("🕑 时间线"))


async def test_forged_timeline_of_a_non_public_item_reveals_nothing(sandbox: Sandbox) -> None:
    proposal_id = await _withhold(sandbox, "010")
    user = await sandbox.use("public")
    [card] = await sandbox.say("/status 010")
    assert "心理健康" not in card.text and card.buttons == ()
    forged = sandbox.emulator.forged_callback_update(user, card.message_id, f"tl:{proposal_id}")
    answer = _texts(await sandbox.feed(forged))
    assert "不予公开" in answer
    assert "开始办理" not in answer and "交办" not in answer
