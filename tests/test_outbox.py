"""The outbox repository on SQLite and PostgreSQL: dedup, claim order and exclusivity, leases, outcomes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage import outbox
from storage.errors import NotFound
from storage.models import Account, OutboxMessage

NOW = datetime(2024, 4, 29, 1, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


async def add_account(sm: async_sessionmaker[AsyncSession], chat_id: int, *, active: bool = True) -> int:
    async with sm.begin() as session:
        account = Account(telegram_id=chat_id, chat_id=chat_id, active=active, created_at=NOW)
        session.add(account)
        await session.flush()
        return account.id


async def queue(
    sm: async_sessionmaker[AsyncSession],
    key: str,
    *,
    chat_id: int = 1001,
    account_id: int | None = None,
    due_at: datetime = NOW,
) -> bool:
    async with sm.begin() as session:
        return await outbox.enqueue(
            session,
            dedup_key=key,
            chat_id=chat_id,
            account_id=account_id,
            kind="reminder",
            payload={"text": key},
            due_at=due_at,
            now=NOW,
        )


async def claim(
    sm: async_sessionmaker[AsyncSession], worker: str, *, now: datetime = NOW, limit: int = 100
) -> list[outbox.Claimed]:
    async with sm.begin() as session:
        return await outbox.claim(session, worker=worker, now=now, limit=limit, lease=LEASE)


async def row(sm: async_sessionmaker[AsyncSession], message_id: int) -> OutboxMessage:
    async with sm() as session:
        found = await session.get(OutboxMessage, message_id)
        assert found is not None
        return found


async def counts(sm: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sm() as session:
        return await outbox.count_by_status(session)


async def test_enqueue_same_dedup_key_twice_queues_once(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    assert await queue(sessionmaker, "u1:assigned:018") is True
    assert await queue(sessionmaker, "u1:assigned:018") is False
    assert await queue(sessionmaker, "u1:due-7:018") is True
    assert (await counts(sessionmaker))["pending"] == 2


async def test_enqueue_inactive_account_queues_nothing(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    blocked = await add_account(sessionmaker, 2002, active=False)
    assert await queue(sessionmaker, "k", chat_id=2002, account_id=blocked) is False
    assert await counts(sessionmaker) == {"pending": 0, "claimed": 0, "sent": 0, "dead": 0}


async def test_enqueue_unknown_account_raises_not_found(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(NotFound):
        await queue(sessionmaker, "k", account_id=999_999)


async def test_enqueue_rolled_back_with_the_state_change_leaves_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """The row commits with the caller's transaction, or not at all."""
    with pytest.raises(RuntimeError):
        async with sessionmaker.begin() as session:
            await outbox.enqueue(
                session,
                dedup_key="k",
                chat_id=1,
                account_id=None,
                kind="reminder",
                payload={"text": "x"},
                due_at=NOW,
                now=NOW,
            )
            raise RuntimeError("the state change failed")
    assert (await counts(sessionmaker))["pending"] == 0


async def test_claim_takes_due_rows_oldest_first_up_to_limit(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await queue(sessionmaker, "late", due_at=NOW - timedelta(minutes=1))
    await queue(sessionmaker, "future", due_at=NOW + timedelta(seconds=1))
    await queue(sessionmaker, "oldest", due_at=NOW - timedelta(hours=1))
    await queue(sessionmaker, "now-a", due_at=NOW)
    await queue(sessionmaker, "now-b", due_at=NOW)

    first = await claim(sessionmaker, "w1", limit=3)
    assert [c.payload["text"] for c in first] == ["oldest", "late", "now-a"]
    assert all(c.attempts == 0 and c.kind == "reminder" and c.chat_id == 1001 for c in first)
    rest = await claim(sessionmaker, "w1")
    assert [c.payload["text"] for c in rest] == ["now-b"]
    assert await claim(sessionmaker, "w1") == []

    held = await row(sessionmaker, first[0].id)
    assert held.status == "claimed"
    assert held.claimed_by == "w1"
    assert held.claimed_until == NOW + LEASE


async def test_claim_concurrent_claimers_never_share_a_row(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    for i in range(60):
        await queue(sessionmaker, f"k{i}", chat_id=1000 + i)

    results = await asyncio.gather(*(claim(sessionmaker, f"w{n}", limit=25) for n in range(4)))
    ids = [c.id for batch in results for c in batch]
    assert len(ids) == 60
    assert len(set(ids)) == 60


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_claim_postgres_open_transactions_skip_each_others_rows(engine: AsyncEngine) -> None:
    """Two connections, both transactions open at once: the second skips the rows the first has locked."""
    sm = async_sessionmaker(engine, expire_on_commit=False)
    for i in range(10):
        await queue(sm, f"k{i}", chat_id=1000 + i)

    async with sm.begin() as first, sm.begin() as second:
        a = await outbox.claim(first, worker="a", now=NOW, limit=6, lease=LEASE)
        b = await asyncio.wait_for(outbox.claim(second, worker="b", now=NOW, limit=6, lease=LEASE), timeout=5)
    assert len(a) == 6
    assert len(b) == 4
    assert not {c.id for c in a} & {c.id for c in b}


async def test_claim_expired_lease_is_claimed_again(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await queue(sessionmaker, "k")
    (taken,) = await claim(sessionmaker, "crashed")

    assert await claim(sessionmaker, "other", now=NOW + LEASE) == []  # still leased at the very end
    (again,) = await claim(sessionmaker, "other", now=NOW + LEASE + timedelta(seconds=1))
    assert again.id == taken.id
    assert (await row(sessionmaker, taken.id)).claimed_by == "other"


async def test_mark_sent_records_delivery(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await queue(sessionmaker, "k")
    (item,) = await claim(sessionmaker, "w")
    async with sessionmaker.begin() as session:
        assert await outbox.mark_sent(session, item.id, now=NOW + timedelta(seconds=3)) is True
    sent = await row(sessionmaker, item.id)
    assert (sent.status, sent.sent_at, sent.claimed_until) == ("sent", NOW + timedelta(seconds=3), None)
    assert await claim(sessionmaker, "w", now=NOW + timedelta(days=1)) == []


async def test_mark_retry_counts_attempt_and_requeues_until_due(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await queue(sessionmaker, "k")
    (item,) = await claim(sessionmaker, "w")
    later = NOW + timedelta(seconds=30)
    async with sessionmaker.begin() as session:
        assert await outbox.mark_retry(session, item.id, due_at=later, error="NetworkError: 502", worker="w")

    stored = await row(sessionmaker, item.id)
    assert (stored.status, stored.attempts, stored.last_error) == ("pending", 1, "NetworkError: 502")
    assert await claim(sessionmaker, "w", now=later - timedelta(seconds=1)) == []
    (again,) = await claim(sessionmaker, "w", now=later)
    assert again.attempts == 1


async def test_marks_by_a_worker_that_lost_the_lease_change_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await queue(sessionmaker, "k")
    (item,) = await claim(sessionmaker, "slow")
    await claim(sessionmaker, "fast", now=NOW + LEASE + timedelta(seconds=1))
    async with sessionmaker.begin() as session:
        assert await outbox.mark_retry(session, item.id, due_at=NOW, error="x", worker="slow") is False
        assert await outbox.mark_dead(session, item.id, error="x", worker="slow") is False
        assert await outbox.release(session, [item.id], worker="slow") == 0
    stored = await row(sessionmaker, item.id)
    assert (stored.status, stored.claimed_by, stored.attempts) == ("claimed", "fast", 0)


async def test_release_requeues_without_counting_an_attempt(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await queue(sessionmaker, "a")
    await queue(sessionmaker, "b")
    items = await claim(sessionmaker, "w")
    later = NOW + timedelta(seconds=5)
    async with sessionmaker.begin() as session:
        assert await outbox.release(session, [i.id for i in items], worker="w", due_at=later, error="429") == 2
    for item in items:
        stored = await row(sessionmaker, item.id)
        assert (stored.status, stored.attempts, stored.due_at, stored.claimed_by) == ("pending", 0, later, None)


async def test_mark_dead_is_listed_for_admins(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await queue(sessionmaker, "a", due_at=NOW - timedelta(minutes=5))
    await queue(sessionmaker, "b")
    first, second = await claim(sessionmaker, "w")
    async with sessionmaker.begin() as session:
        assert await outbox.mark_dead(session, first.id, error="BadRequest: Chat not found", worker="w")
        assert await outbox.mark_dead(session, second.id, error="BadRequest: Message is too long", worker="w")

    async with sessionmaker() as session:
        dead = await outbox.list_dead(session, limit=10)
        assert [d.id for d in dead] == [second.id, first.id]
        assert dead[1].last_error == "BadRequest: Chat not found"
        assert dead[1].attempts == 1
        assert [d.id for d in await outbox.list_dead(session, limit=1)] == [second.id]
    assert await counts(sessionmaker) == {"pending": 0, "claimed": 0, "sent": 0, "dead": 2}


async def test_deactivate_chat_kills_undelivered_rows_and_refuses_new_ones(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    account = await add_account(sessionmaker, 3003)
    other = await add_account(sessionmaker, 4004)
    await queue(sessionmaker, "sent", chat_id=3003, account_id=account)
    (delivered,) = await claim(sessionmaker, "w")
    async with sessionmaker.begin() as session:
        await outbox.mark_sent(session, delivered.id, now=NOW)
    await queue(sessionmaker, "pending", chat_id=3003, account_id=account, due_at=NOW + timedelta(days=1))
    await queue(sessionmaker, "claimed", chat_id=3003, account_id=account)
    await queue(sessionmaker, "bystander", chat_id=4004, account_id=other)
    await claim(sessionmaker, "w")

    async with sessionmaker.begin() as session:
        assert await outbox.deactivate_chat(session, 3003) == 2

    async with sessionmaker() as session:
        states = dict((await session.execute(select(OutboxMessage.dedup_key, OutboxMessage.status))).all())
        errors = {d.last_error for d in await outbox.list_dead(session)}
        active = dict((await session.execute(select(Account.chat_id, Account.active))).all())
    assert states == {"sent": "sent", "pending": "dead", "claimed": "dead", "bystander": "claimed"}
    assert errors == {"blocked"}
    assert active == {3003: False, 4004: True}
    assert await queue(sessionmaker, "follow-up", chat_id=3003, account_id=account) is False


async def test_next_due_at_is_earliest_pending_or_lease_end(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        assert await outbox.next_due_at(session) is None
    await queue(sessionmaker, "now")
    await queue(sessionmaker, "later", due_at=NOW + timedelta(hours=1))
    await claim(sessionmaker, "w", limit=1)
    async with sessionmaker() as session:
        assert await outbox.next_due_at(session) == NOW + LEASE
    await queue(sessionmaker, "soon", due_at=NOW + timedelta(seconds=10))
    async with sessionmaker() as session:
        assert await outbox.next_due_at(session) == NOW + timedelta(seconds=10)
