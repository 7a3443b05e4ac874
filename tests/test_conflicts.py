"""Broken unique and foreign keys surface as storage's Conflict, raised from the driver's error, on both engines."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.accounts import bind_account, ensure_account
from storage.errors import Conflict
from storage.follows import follow
from storage.models import Account, Proposal, Reply, Subscription
from storage.proposals import ProposalRecord, SessionKey, upsert_proposal
from storage.replies import ReplyRecord, add_feedback, add_reply

NOW = datetime(2024, 3, 25, 2, 0, tzinfo=UTC)
CHANGNING = SessionKey(region="长宁区", body="人大", term=17, sitting=5)
ITEM_018 = ProposalRecord(
    session=CHANGNING, number="018", number_key="18", title="上海硅巷", lead_unit="长宁区科学技术委员会"
)
MISSING = 987_654
WAITING_ON_A_LOCK = (
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def _from_integrity_error(info: pytest.ExceptionInfo[Conflict]) -> bool:
    return isinstance(info.value.__cause__, IntegrityError)


async def _count(sm: async_sessionmaker[AsyncSession], model: type[object]) -> int:
    async with sm() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_follow_by_unknown_account_is_a_conflict(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(Conflict, match="follow of item:1") as info:
        async with sessionmaker.begin() as s:
            await follow(s, account_id=MISSING, kind="item", key="1", now=NOW)
    assert _from_integrity_error(info)
    assert await _count(sessionmaker, Subscription) == 0


async def test_bind_account_to_unknown_deputy_is_a_conflict(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(Conflict, match="deputy binding of Telegram user 7") as info:
        async with sessionmaker.begin() as s:
            await bind_account(s, telegram_id=7, chat_id=7, role="deputy", now=NOW, deputy_id=MISSING)
    assert _from_integrity_error(info)
    assert await _count(sessionmaker, Account) == 0


async def test_upsert_number_stored_under_another_key_is_a_conflict(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """`018` is stored under the key `18`; a record that keys it `018` would be a second item No. 018."""
    async with sessionmaker.begin() as s:
        await upsert_proposal(s, ITEM_018, now=NOW, initial_state="assigned")
    clash = ProposalRecord(session=CHANGNING, number="018", number_key="018", title="另一件")
    with pytest.raises(Conflict, match=r"No\. 018") as info:
        async with sessionmaker.begin() as s:
            await upsert_proposal(s, clash, now=NOW, initial_state="assigned")
    assert _from_integrity_error(info)
    assert await _count(sessionmaker, Proposal) == 1


async def test_reply_to_unknown_item_is_a_conflict(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(Conflict, match=f"reply letter for item {MISSING}") as info:
        async with sessionmaker.begin() as s:
            await add_reply(s, proposal_id=MISSING, record=ReplyRecord(replied_on=date(2024, 4, 29)), now=NOW)
    assert _from_integrity_error(info)
    assert await _count(sessionmaker, Reply) == 0


async def test_rating_of_unknown_reply_is_a_conflict(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.begin() as s:
        pid = (await upsert_proposal(s, ITEM_018, now=NOW, initial_state="assigned")).proposal_id
    with pytest.raises(Conflict, match=f"rating of reply {MISSING}") as info:
        async with sessionmaker.begin() as s:
            await add_feedback(s, reply_id=MISSING, proposal_id=pid, rating="满意", now=NOW)
    assert _from_integrity_error(info)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_ensure_account_racing_first_contact_is_a_conflict(engine: AsyncEngine) -> None:
    """Two updates from a new user at once: the second insert waits for the first, then breaks the unique key."""
    sm = async_sessionmaker(engine, expire_on_commit=False)

    async def second_update() -> None:
        async with sm.begin() as s:
            await ensure_account(s, telegram_id=42, chat_id=42, now=NOW)

    async with sm.begin() as first:
        await ensure_account(first, telegram_id=42, chat_id=42, now=NOW)
        racing = asyncio.create_task(second_update())
        async with engine.connect() as watcher:  # wait until the second insert is blocked on the first's row
            for _ in range(100):
                waiting = await watcher.scalar(text(WAITING_ON_A_LOCK))
                await watcher.rollback()  # pg_stat_activity is read once per transaction
                if waiting:
                    break
                await asyncio.sleep(0.05)
    with pytest.raises(Conflict, match="account of Telegram user 42") as info:
        await asyncio.wait_for(racing, timeout=5)
    assert _from_integrity_error(info)
    assert await _count(sm, Account) == 1
