"""End-to-end: nothing non-public reaches someone who may not read it (bot/domain/access.py decides).

The demo's item 008 has a non-public reply, 018 a public one; `_withhold` makes an item itself non-public, as an
import would.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.sandbox.emulator import SentMessage
from bot.sandbox.harness import Sandbox
from config.settings import load_settings
from storage.accounts import find_account
from storage.cards import refresh_card
from storage.models import OutboxMessage, Proposal

AT = datetime(2024, 5, 6, 1, 0, tzinfo=UTC)  # a Monday morning in Shanghai; 008's non-public reply is in
PHONE = "13800138000"
SEED = Path(__file__).parent / "fixtures" / "000_22e5c766df40d68a.txt"
TITLE_010 = "心理健康"


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


def _letter_for_010(tmp_path: Path, *, withheld: bool) -> Path:
    """The seed letter (018's) re-addressed to 010, optionally marked 不予公开."""
    text = SEED.read_text(encoding="utf-8").replace("第 018 号", "第 010 号").replace("康红恩", "马骏")
    if withheld:
        text = text.replace("办理结果：", "公开类别：不予公开\n办理结果：", 1)
    path = tmp_path / "010.txt"
    path.write_text(text, encoding="utf-8")
    return path


async def _register(sandbox: Sandbox, letter: Path) -> list[SentMessage]:
    await sandbox.use("admin")
    await sandbox.upload(letter, "/reply 010")
    return await sandbox.press("✅ 确认")


async def _payloads_of(sandbox: Sandbox, telegram_id: int) -> list[str]:
    async with sandbox.deps.sessionmaker() as session:
        account = await find_account(session, telegram_id=telegram_id)
        assert account is not None
        rows = await session.scalars(select(OutboxMessage.payload).where(OutboxMessage.account_id == account.id))
        return [json.dumps(p, ensure_ascii=False) for p in rows]


async def test_a_public_follower_of_a_non_public_item_hears_nothing_of_its_reply(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    public = await sandbox.use("public")
    await sandbox.say("/follow 010")  # followed while 010 was public; an import then withholds it
    await _withhold(sandbox, "010")
    deputy = await sandbox.use("deputy:马骏")
    sent = await _register(sandbox, _letter_for_010(tmp_path, withheld=False))
    assert [m for m in sent if m.chat_id == public.chat_id] == []  # its card says only "not public": so does the push
    assert await _payloads_of(sandbox, public.user_id) == []
    [push] = [m for m in sent if m.chat_id == deputy.chat_id]
    assert TITLE_010 in push.text and "解决或采纳" in push.text  # the item's own deputy reads it all


async def test_a_withheld_reply_reaches_a_public_follower_as_number_and_title_only(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    public = await sandbox.use("public")
    await sandbox.say("/follow 010")
    sent = await _register(sandbox, _letter_for_010(tmp_path, withheld=True))
    [push] = [m for m in sent if m.chat_id == public.chat_id]
    assert "010" in push.text and TITLE_010 in push.text and "不予公开" in push.text  # as the card shows it
    [payload] = await _payloads_of(sandbox, public.user_id)
    for withheld in ("解决或采纳", "summary", "result", "区科委", "2024-"):
        assert withheld not in payload  # the outbox row stores no withheld content
