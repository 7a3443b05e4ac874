"""The dispatcher against the in-process emulator: delivery, faults, pacing and several instances.

Time is virtual throughout: ``FakeTime.sleep`` moves the dispatcher's monotonic clock, the emulator's rate
limiter and the wall clock together, so pacing and backoff are checked without waiting.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import telegram
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.delivery.dispatcher import Dispatcher, DispatchStats, RenderedPush
from bot.domain.clock import VirtualClock
from bot.render.cards import Button
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.faults import Forbidden, RetryAfter, ServerError, Timeout
from bot.sandbox.transport import build_bot_kwargs
from bot.telegram.request import JsonRequest
from storage import outbox
from storage.models import Account, OutboxMessage

START = datetime(2024, 4, 29, 1, 0, tzinfo=UTC)
GROUP = -100_500


class FakeTime:
    """One virtual time for the dispatcher's pacing, the emulator's limiter and the wall clock."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.value = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.value

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.value += seconds
        self.clock.advance(timedelta(seconds=seconds))


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without it PTB 22 warns when it builds a RetryAfter, and warnings are errors here.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def fake_time(clock: VirtualClock) -> FakeTime:
    return FakeTime(clock)


@pytest.fixture
def emulator(clock: VirtualClock, fake_time: FakeTime) -> BotApiEmulator:
    emu = BotApiEmulator(now=clock.now, monotonic=fake_time.monotonic, enforce_limits=True)
    emu.add_group(GROUP, "长宁区科委 staff")
    return emu


@pytest.fixture
async def bot(emulator: BotApiEmulator) -> AsyncIterator[telegram.Bot]:
    instance = telegram.Bot(**build_bot_kwargs(emulator))
    await instance.initialize()
    yield instance
    await instance.shutdown()


def make_dispatcher(
    sessionmaker: async_sessionmaker[AsyncSession],
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
    **overrides: Any,
) -> Dispatcher:
    options: dict[str, Any] = {
        "sessionmaker": sessionmaker,
        "bot": bot,
        "clock": clock,
        "worker_id": "w1",
        "monotonic": fake_time.monotonic,
        "sleep": fake_time.sleep,
        "rng": random.Random(7),
    }
    options.update(overrides)
    return Dispatcher(**options)


async def add_recipient(sessionmaker: async_sessionmaker[AsyncSession], emulator: BotApiEmulator, chat_id: int) -> int:
    """An account for ``chat_id`` (and its private chat in the emulator unless it is the group)."""
    if chat_id > 0:
        emulator.add_user(user_id=chat_id, first_name=f"user{chat_id}")
    async with sessionmaker.begin() as session:
        account = Account(telegram_id=abs(chat_id), chat_id=chat_id, created_at=START)
        session.add(account)
        await session.flush()
        return account.id


async def add_recipients_with_a_push(
    sessionmaker: async_sessionmaker[AsyncSession], emulator: BotApiEmulator, chats: range
) -> None:
    """Many recipients, each with one push ``k<chat>`` due now, in one transaction."""
    async with sessionmaker.begin() as session:
        for chat in chats:
            emulator.add_user(user_id=chat, first_name=f"user{chat}")
            account = Account(telegram_id=chat, chat_id=chat, created_at=START)
            session.add(account)
            await session.flush()
            await outbox.enqueue(
                session,
                dedup_key=f"k{chat}",
                chat_id=chat,
                account_id=account.id,
                kind="reminder",
                payload={"text": f"<b>k{chat}</b> 到期提醒"},
                due_at=START,
                now=START,
            )


async def push(
    sessionmaker: async_sessionmaker[AsyncSession],
    key: str,
    chat_id: int,
    *,
    account_id: int | None = None,
    text: str | None = None,
    due_at: datetime | None = None,
    now: datetime = START,
) -> bool:
    async with sessionmaker.begin() as session:
        return await outbox.enqueue(
            session,
            dedup_key=key,
            chat_id=chat_id,
            account_id=account_id,
            kind="reminder",
            payload={"text": text if text is not None else f"<b>{key}</b> 到期提醒"},
            due_at=due_at or now,
            now=now,
        )


async def statuses(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with sessionmaker() as session:
        rows = await session.execute(select(OutboxMessage.dedup_key, OutboxMessage.status))
        return {key: status for key, status in rows}


async def stored(sessionmaker: async_sessionmaker[AsyncSession], key: str) -> OutboxMessage:
    async with sessionmaker() as session:
        found = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedup_key == key))
        assert found is not None
        return found


async def drain(
    dispatcher: Dispatcher, sessionmaker: async_sessionmaker[AsyncSession], fake_time: FakeTime, *, limit: int = 100
) -> list[DispatchStats]:
    """Run rounds until nothing is pending or claimed, letting virtual time pass while nothing is due."""
    rounds: list[DispatchStats] = []
    for _ in range(10_000):
        stats = await dispatcher.run_once(limit=limit)
        rounds.append(stats)
        if stats.idle:
            async with sessionmaker() as session:
                counts = await outbox.count_by_status(session)
            if counts["pending"] + counts["claimed"] == 0:
                return rounds
            await fake_time.sleep(0.25)
    raise AssertionError("the outbox never drained")


def copies(emulator: BotApiEmulator) -> Counter[int]:
    return Counter(message.chat_id for message in emulator.sent)


# ---- delivery -----------------------------------------------------------------------------------------------


async def test_dispatcher_delivers_every_due_row_once_as_html(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    for chat in (101, 102, 103):
        account = await add_recipient(sessionmaker, emulator, chat)
        await push(sessionmaker, f"k{chat}", chat, account_id=account)
    await push(sessionmaker, "tomorrow", 101, due_at=START + timedelta(days=1))

    stats = await make_dispatcher(sessionmaker, bot, clock, fake_time).run_once()

    assert (stats.claimed, stats.sent, stats.retried, stats.dead) == (3, 3, 0, 0)
    assert copies(emulator) == {101: 1, 102: 1, 103: 1}
    assert emulator.last_message(102).text == "k102 到期提醒"
    assert emulator.last_message(102).parse_mode == "HTML"
    assert await statuses(sessionmaker) == {"k101": "sent", "k102": "sent", "k103": "sent", "tomorrow": "pending"}
    assert (await stored(sessionmaker, "k101")).sent_at == emulator.last_message(101).date


async def test_dispatcher_renders_buttons_with_the_given_renderer(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    await add_recipient(sessionmaker, emulator, 101)
    await push(sessionmaker, "k", 101)

    async def render(item: outbox.Claimed) -> RenderedPush:
        return RenderedPush(html=f"{item.kind}: 018", buttons=((Button("全文", "full:18"),),))

    await make_dispatcher(sessionmaker, bot, clock, fake_time, render=render).run_once()

    message = emulator.last_message(101)
    assert message.text == "reminder: 018"
    assert message.button("全文").callback_data == "full:18"


async def test_dispatcher_takes_over_rows_of_a_crashed_worker_after_its_lease(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    await add_recipient(sessionmaker, emulator, 101)
    await push(sessionmaker, "k", 101)
    async with sessionmaker.begin() as session:
        await outbox.claim(session, worker="crashed", now=START, limit=10, lease=timedelta(minutes=2))
    dispatcher = make_dispatcher(sessionmaker, bot, clock, fake_time)

    assert (await dispatcher.run_once()).claimed == 0
    fake_time.advance(121)
    assert (await dispatcher.run_once()).sent == 1
    assert copies(emulator) == {101: 1}


# ---- faults -------------------------------------------------------------------------------------------------


async def test_dispatcher_retry_after_reschedules_pauses_and_loses_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    for chat in (101, 102, 103):
        await add_recipient(sessionmaker, emulator, chat)
        await push(sessionmaker, f"k{chat}", chat)
    emulator.inject(RetryAfter(seconds=7), chat_id=101)
    dispatcher = make_dispatcher(sessionmaker, bot, clock, fake_time)

    first = await dispatcher.run_once()

    # The whole sender pauses: the rest of the batch goes back to the outbox, due when the pause ends, and no
    # row is held under a lease while it waits.
    assert (first.sent, first.rate_limited, first.released) == (0, 1, 2)
    assert max(fake_time.slept) < 1.0  # only the pace of the first send: no waiting out the 7 s in the round
    for key in ("k101", "k102", "k103"):
        row = await stored(sessionmaker, key)
        assert (row.status, row.attempts, row.claimed_by) == ("pending", 0, None)
        assert START + timedelta(seconds=7) <= row.due_at <= START + timedelta(seconds=8)
    assert (await dispatcher.run_once()).claimed == 0  # still paused

    await drain(dispatcher, sessionmaker, fake_time)
    assert copies(emulator) == {101: 1, 102: 1, 103: 1}
    assert emulator.stats["http_429"] == 1
    assert min(m.date for m in emulator.sent) >= START + timedelta(seconds=7)


@pytest.mark.parametrize(
    "fault",
    [ServerError(500), ServerError(502), Timeout()],
    ids=["500", "502-bad-gateway", "timeout"],
)
async def test_dispatcher_transient_error_backs_off_then_delivers(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
    fault: ServerError | Timeout,
) -> None:
    await add_recipient(sessionmaker, emulator, 101)
    await push(sessionmaker, "k", 101)
    emulator.inject(fault, chat_id=101, times=2)
    dispatcher = make_dispatcher(sessionmaker, bot, clock, fake_time)

    first = await dispatcher.run_once()
    row = await stored(sessionmaker, "k")
    assert first.retried == 1
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error is not None
    assert START + timedelta(seconds=1) <= row.due_at <= START + timedelta(seconds=2)  # 2 s, jitter in [½, 1]
    assert (await dispatcher.run_once()).claimed == 0  # not before the backoff

    await drain(dispatcher, sessionmaker, fake_time)
    row = await stored(sessionmaker, "k")
    assert (row.status, row.attempts) == ("sent", 2)
    assert copies(emulator) == {101: 1}


async def test_dispatcher_timeout_after_delivery_repeats_the_message_rather_than_losing_it(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    """Telegram sent it but the answer was lost: the only safe move is to send again (the one in-flight copy)."""
    await add_recipient(sessionmaker, emulator, 101)
    await push(sessionmaker, "k", 101)
    emulator.inject(Timeout(delivered=True), chat_id=101)

    await drain(make_dispatcher(sessionmaker, bot, clock, fake_time), sessionmaker, fake_time)

    assert copies(emulator) == {101: 2}
    assert (await stored(sessionmaker, "k")).status == "sent"


async def test_dispatcher_backoff_grows_exponentially_with_jitter_up_to_the_cap(
    sessionmaker: async_sessionmaker[AsyncSession], bot: telegram.Bot, clock: VirtualClock, fake_time: FakeTime
) -> None:
    dispatcher = make_dispatcher(sessionmaker, bot, clock, fake_time)
    for attempts, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (9, 512.0), (10, 600.0), (40, 600.0)]:
        for _ in range(20):
            assert ceiling / 2 <= dispatcher.backoff(attempts) <= ceiling
    assert len({round(dispatcher.backoff(5), 6) for _ in range(20)}) > 1


async def test_dispatcher_forbidden_deactivates_the_chat_and_queues_nothing_more(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    blocked = await add_recipient(sessionmaker, emulator, 101)
    other = await add_recipient(sessionmaker, emulator, 102)
    await push(sessionmaker, "first", 101, account_id=blocked)
    await push(sessionmaker, "second", 101, account_id=blocked)
    await push(sessionmaker, "later", 101, account_id=blocked, due_at=START + timedelta(days=3))
    await push(sessionmaker, "bystander", 102, account_id=other)
    emulator.block(101)

    stats = await make_dispatcher(sessionmaker, bot, clock, fake_time).run_once()

    assert (stats.sent, stats.dead) == (1, 1)
    assert await statuses(sessionmaker) == {"first": "dead", "second": "dead", "later": "dead", "bystander": "sent"}
    assert "blocked" in ((await stored(sessionmaker, "first")).last_error or "")
    assert emulator.stats["requests.sendMessage"] == 2  # one 403, then nothing more to that chat
    async with sessionmaker() as session:
        account = await session.get(Account, blocked)
        assert account is not None
        assert account.active is False
    assert await push(sessionmaker, "follow-up", 101, account_id=blocked) is False


async def test_dispatcher_forbidden_in_a_group_kills_the_row(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    await add_recipient(sessionmaker, emulator, GROUP)
    await push(sessionmaker, "k", GROUP)
    emulator.inject(Forbidden(), chat_id=GROUP)

    await make_dispatcher(sessionmaker, bot, clock, fake_time).run_once()

    row = await stored(sessionmaker, "k")
    assert row.status == "dead"
    assert "kicked" in (row.last_error or "")


@pytest.mark.parametrize(
    ("chat_id", "text", "error"),
    [(999, "hello", "chat not found"), (101, "<b>oops", "parse")],
    ids=["chat-not-found", "bad-html"],
)
async def test_dispatcher_bad_request_kills_the_row_at_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
    chat_id: int,
    text: str,
    error: str,
) -> None:
    await add_recipient(sessionmaker, emulator, 101)
    await push(sessionmaker, "k", chat_id, text=text)

    stats = await make_dispatcher(sessionmaker, bot, clock, fake_time).run_once()

    row = await stored(sessionmaker, "k")
    assert (stats.dead, row.status, row.attempts) == (1, "dead", 1)
    assert error in (row.last_error or "").lower()
    async with sessionmaker() as session:
        assert [d.id for d in await outbox.list_dead(session)] == [row.id]


async def test_dispatcher_long_row_goes_in_several_messages(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    """A row longer than Telegram's 4096 characters was once killed as "message is too long"."""
    await add_recipient(sessionmaker, emulator, 101)
    await push(sessionmaker, "k", 101, text="\n".join(f"<b>{i}</b> " + "长" * 100 for i in range(60)))

    stats = await make_dispatcher(sessionmaker, bot, clock, fake_time).run_once()

    row = await stored(sessionmaker, "k")
    parts = emulator.messages_to(101)
    assert (stats.sent, row.status, len(parts)) == (1, "sent", 2)
    assert "".join(m.text for m in parts).count("长" * 100) == 60
    assert emulator.stats["http_429"] == 0


async def test_dispatcher_gives_up_after_max_attempts(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    await add_recipient(sessionmaker, emulator, 101)
    await push(sessionmaker, "k", 101)
    emulator.inject(ServerError(500), chat_id=101, times=10)

    rounds = await drain(make_dispatcher(sessionmaker, bot, clock, fake_time, max_attempts=3), sessionmaker, fake_time)

    row = await stored(sessionmaker, "k")
    assert (row.status, row.attempts) == ("dead", 3)
    assert sum(r.retried for r in rounds) == 2
    assert emulator.stats["requests.sendMessage"] == 3
    assert copies(emulator) == {}


async def test_dispatcher_unexpected_error_is_logged_and_retried(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await add_recipient(sessionmaker, emulator, 101)
    async with sessionmaker.begin() as session:
        await outbox.enqueue(
            session,
            dedup_key="no-text",
            chat_id=101,
            account_id=None,
            kind="reminder",
            payload={},
            due_at=START,
            now=START,
        )

    with caplog.at_level(logging.ERROR, logger="bot.delivery.dispatcher"):
        stats = await make_dispatcher(sessionmaker, bot, clock, fake_time).run_once()

    assert stats.retried == 1
    row = await stored(sessionmaker, "no-text")
    assert (row.status, row.attempts) == ("pending", 1)
    assert "KeyError" in (row.last_error or "")
    assert any(r.exc_info is not None and "no-text" not in r.getMessage() for r in caplog.records)


# ---- pacing -------------------------------------------------------------------------------------------------


async def test_dispatcher_paces_to_the_enforced_limits_without_a_single_429(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    """150 recipients at 30/s take 5 s of virtual time; 5 more messages to one chat and 3 to a group keep pace."""
    await add_recipients_with_a_push(sessionmaker, emulator, range(1001, 1151))
    await add_recipient(sessionmaker, emulator, GROUP)
    for n in range(5):
        await push(sessionmaker, f"busy{n}", 1001)
    for n in range(3):
        await push(sessionmaker, f"group{n}", GROUP)

    await drain(make_dispatcher(sessionmaker, bot, clock, fake_time), sessionmaker, fake_time)

    assert emulator.stats["http_429"] == 0
    assert sum(copies(emulator).values()) == 158
    assert copies(emulator)[1001] == 6
    # The bucket starts empty, so the 150th message to a distinct chat goes out at 5 s at the earliest.
    last = max(m.date for m in emulator.sent if m.text.startswith("k"))
    assert 5.0 - 1e-3 <= (last - START).total_seconds() <= 5.0 / 0.95  # at least 95 % of the allowed rate
    busy = [m.date for m in emulator.messages_to(1001)]
    assert all(b - a >= timedelta(seconds=1) for a, b in itertools.pairwise(busy))
    group = [m.date for m in emulator.messages_to(GROUP)]
    assert all(b - a >= timedelta(seconds=3) for a, b in itertools.pairwise(group))
    texts = [m.text for m in emulator.messages_to(1001)]
    assert texts == ["k1001 到期提醒"] + [f"busy{n} 到期提醒" for n in range(5)]  # due order kept


async def test_dispatcher_pause_past_the_lease_hands_the_rest_back(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    """It never starts a send so late in its lease that another instance could take the row over meanwhile."""
    for chat in (101, 102, 103):
        await add_recipient(sessionmaker, emulator, chat)
        await push(sessionmaker, f"k{chat}", chat)
    emulator.inject(RetryAfter(seconds=100), chat_id=101)

    stats = await make_dispatcher(sessionmaker, bot, clock, fake_time, lease=timedelta(minutes=2)).run_once()

    assert (stats.sent, stats.rate_limited, stats.released) == (0, 1, 2)
    assert set((await statuses(sessionmaker)).values()) == {"pending"}


def test_dispatcher_refuses_a_send_timeout_that_could_outlive_the_lease(
    sessionmaker: async_sessionmaker[AsyncSession], bot: telegram.Bot, clock: VirtualClock, fake_time: FakeTime
) -> None:
    # A send starts at the latest a quarter of the lease before it ends; it must end inside that quarter.
    for too_long in (30.0, 31.0, 0.0):
        with pytest.raises(ValueError, match="send_timeout"):
            make_dispatcher(sessionmaker, bot, clock, fake_time, lease=timedelta(minutes=2), send_timeout=too_long)
    make_dispatcher(sessionmaker, bot, clock, fake_time, lease=timedelta(minutes=2), send_timeout=29.0)
    make_dispatcher(sessionmaker, bot, clock, fake_time, lease=timedelta(seconds=4))  # the default fits any lease


class _Stalled(httpx.AsyncBaseTransport):
    """A Telegram that takes the request and never answers (a hung connection, no read timeout)."""

    def __init__(self) -> None:
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_dispatcher_a_send_that_never_answers_ends_within_the_lease_and_is_retried(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    await add_recipient(sessionmaker, emulator, 101)
    await push(sessionmaker, "k101", 101)
    stalled = _Stalled()
    kwargs = build_bot_kwargs(emulator)
    kwargs["request"] = JsonRequest(httpx_kwargs={"transport": stalled}, read_timeout=None, write_timeout=None)
    hung = telegram.Bot(**kwargs)
    # a lease of 0.4 s: sends start by 0.3 s into it and are cut off after 0.05 s (real time: the send is real I/O)
    dispatcher = make_dispatcher(sessionmaker, hung, clock, fake_time, lease=timedelta(seconds=0.4), send_timeout=0.05)

    stats = await asyncio.wait_for(dispatcher.run_once(), timeout=10)

    assert stalled.requests == 1
    assert (stats.sent, stats.retried) == (0, 1)
    row = await stored(sessionmaker, "k101")
    assert (row.status, row.attempts, row.claimed_by) == ("pending", 1, None)
    assert "no answer within" in (row.last_error or "")


async def test_run_forever_delivers_and_stops_handing_back_unsent_rows(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    for chat in (101, 102, 103):
        await add_recipient(sessionmaker, emulator, chat)
        await push(sessionmaker, f"k{chat}", chat)
    stop = asyncio.Event()

    def render(item: outbox.Claimed) -> RenderedPush:
        stop.set()  # the stop arrives while the first message is being sent
        return RenderedPush(html=str(item.payload["text"]))

    dispatcher = make_dispatcher(sessionmaker, bot, clock, fake_time, render=render)
    await asyncio.wait_for(dispatcher.run_forever(stop), timeout=10)

    assert sum(copies(emulator).values()) == 1
    assert sorted((await statuses(sessionmaker)).values()) == ["pending", "pending", "sent"]


async def test_run_forever_idles_until_something_is_due_then_sends_it(
    sessionmaker: async_sessionmaker[AsyncSession],
    emulator: BotApiEmulator,
    bot: telegram.Bot,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    await add_recipient(sessionmaker, emulator, 101)
    await push(sessionmaker, "later", 101, due_at=START + timedelta(seconds=30))
    stop = asyncio.Event()

    def render(item: outbox.Claimed) -> RenderedPush:
        stop.set()  # the round in progress still sends this one
        return RenderedPush(html=str(item.payload["text"]))

    dispatcher = make_dispatcher(sessionmaker, bot, clock, fake_time, render=render)
    await asyncio.wait_for(dispatcher.run_forever(stop), timeout=10)

    assert emulator.last_message(101).date >= START + timedelta(seconds=30)
    assert max(fake_time.slept) <= 1.0  # idle waits are bounded by idle_interval


# ---- several instances --------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_dispatchers_on_postgres_send_each_message_exactly_once(
    engine: AsyncEngine,
    emulator: BotApiEmulator,
    clock: VirtualClock,
    fake_time: FakeTime,
) -> None:
    """Two instances (own bot, own pacing, different worker ids) share one database and run concurrently."""
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    chats = range(2001, 2121)
    await add_recipients_with_a_push(sessionmaker, emulator, chats)
    bots = [telegram.Bot(**build_bot_kwargs(emulator)) for _ in range(2)]
    for instance in bots:
        await instance.initialize()
    # Each instance gets half of the overall allowance, as several instances should.
    dispatchers = [
        make_dispatcher(sessionmaker, b, clock, fake_time, worker_id=f"instance-{n}", overall_rate=15.0)
        for n, b in enumerate(bots)
    ]
    try:
        await asyncio.gather(*(drain(d, sessionmaker, fake_time, limit=7) for d in dispatchers))
    finally:
        for instance in bots:
            await instance.shutdown()

    assert copies(emulator) == dict.fromkeys(chats, 1)
    assert emulator.stats["http_429"] == 0
    async with sessionmaker() as session:
        rows = await session.execute(select(OutboxMessage.status, OutboxMessage.claimed_by))
        senders = Counter(by for status, by in rows if status == "sent")
    assert sum(senders.values()) == len(chats)
    assert set(senders) == {"instance-0", "instance-1"}
