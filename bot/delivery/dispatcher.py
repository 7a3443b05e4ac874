"""The dispatcher: deliver due outbox rows to Telegram within its flood limits, each exactly once or retried.

Exactly once, or retried; never lost. Telegram's sendMessage has no idempotency key, so no sender can be
sure a message went out exactly once across a crash; what we can do is make the window small and bounded:

1. A batch of due rows is claimed in its own short transaction. The claim is a lease (``claimed_until``),
   not an ownership: if this process dies, the rows become claimable again when the lease runs out.
2. Rows are sent strictly one after another. Each send is followed by its own small transaction that marks
   the row sent, and only after Telegram accepted it. A row too long for one message (a digest of many items)
   goes as several messages, each paced like a row of its own; a failure part-way repeats its first parts
   when the row is retried. So at any moment at most one message is "accepted by
   Telegram but not yet recorded".
3. A crash at any point (kill -9, lost database, cancelled task) leaves every unrecorded row pending or
   claimed, never lost. If the crash fell inside that one window, the row is sent again when its lease
   runs out: a crash repeats at most the one in-flight message. A send whose answer was lost (a timeout
   after Telegram acted) is the same case and is retried the same way.
4. A dispatcher never starts a send when its lease is about to run out (it hands the rest of the batch
   back), and no send lasts longer than that last stretch of the lease (``send_timeout``), so another instance
   cannot take over a row while it is being sent. Marks other than "sent" apply
   only while this worker still holds the row, so a late failure never undoes a takeover.

Pacing is ours, not Telegram's: a token bucket for the overall rate (30 messages/s) and a next-allowed time
per chat (1 message/s to a private chat, 20 a minute to a group). PTB's ``AIORateLimiter`` has no per-chat
limit. The bucket starts empty, so a restarted dispatcher cannot burst into an allowance its predecessor
already spent, and its burst stays well below Telegram's.

Errors are caught narrowly (STYLE.md #8): ``RetryAfter`` reschedules the row and the rest of the batch after
``retry_after`` and pauses the whole sender until then, holding no lease while it waits;
``Forbidden`` deactivates the chat and kills the row; ``BadRequest`` (chat not found, message too long) kills
the row at once; network errors, timeouts and 5xx back off exponentially with jitter, and a row dies after
``max_attempts`` attempts. Anything else is a bug: it is logged with its traceback and the row is retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import telegram
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.domain.clock import Clock
from bot.render.cards import Rendered, split_message
from bot.telegram.keyboards import keyboard
from bot.telegram.pacing import GROUP_PER_MINUTE, OVERALL_PER_SECOND
from storage import outbox
from storage.outbox import Claimed

__all__ = ["DispatchStats", "Dispatcher", "RenderFn", "RenderedPush", "render_payload_text"]

logger = logging.getLogger(__name__)

#: What the dispatcher sends: HTML text (every database value escaped) and rows of callback buttons.
RenderedPush = Rendered
#: Turns a claimed row into the message, in the recipient's language; may be a coroutine function.
RenderFn = Callable[[Claimed], RenderedPush | Awaitable[RenderedPush]]

MonotonicFn = Callable[[], float]
SleepFn = Callable[[float], Awaitable[None]]

_PRUNE_CHATS_AT = 10_000  # forget per-chat pacing entries that lie in the past once there are this many


def render_payload_text(item: Claimed) -> RenderedPush:
    """The default renderer: the row's ``payload["text"]``, already HTML."""
    return Rendered(html=str(item.payload["text"]))


@dataclass(slots=True)
class DispatchStats:
    """What one round did, counted as it goes. ``deferred`` rows wait for their chat's pace; ``released`` rows
    were never tried (the lease ran short, the sender stopped, or Telegram asked it to pause)."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    rate_limited: int = 0
    deferred: int = 0
    released: int = 0

    @property
    def idle(self) -> bool:
        """Nothing was sendable now: the caller may wait for the next due moment."""
        return self.claimed == self.deferred + self.released


@dataclass(slots=True)
class _TokenBucket:
    """The overall pace. Starts empty at the first send; holds at most ``capacity`` tokens."""

    rate: float
    capacity: float
    monotonic: MonotonicFn
    tokens: float = 0.0
    updated: float | None = None

    def _refill(self) -> None:
        now = self.monotonic()
        if self.updated is not None:
            self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = now

    def wait(self) -> float:
        """Seconds until a token is available (0 when one is)."""
        self._refill()
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self._refill()
        self.tokens -= 1.0

    def empty(self) -> None:
        self._refill()
        self.tokens = 0.0


class Dispatcher:
    """Claims due outbox rows and sends them, one at a time, within Telegram's limits.

    ``run_once`` does one claimed batch; ``run_forever`` loops until ``stop`` is set and waits while nothing
    is due (``wake`` cuts the wait short after an enqueue). Several dispatchers, in one process or many, may
    share a database: the claim gives each row to one of them. Each paces itself, so with several instances
    give each a share of ``overall_rate``.
    """

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        bot: telegram.Bot,
        clock: Clock,
        render: RenderFn = render_payload_text,
        worker_id: str,
        max_attempts: int = 8,
        overall_rate: float = OVERALL_PER_SECOND,
        per_chat_interval: float = 1.0,
        group_per_minute: int = GROUP_PER_MINUTE,
        monotonic: MonotonicFn = time.monotonic,
        sleep: SleepFn = asyncio.sleep,
        rng: random.Random | None = None,
        lease: timedelta = timedelta(minutes=2),
        backoff_base: float = 2.0,
        backoff_cap: float = 600.0,
        idle_interval: float = 1.0,
        send_timeout: float | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if overall_rate <= 0 or per_chat_interval < 0 or group_per_minute <= 0:
            raise ValueError("rates must be positive")
        if lease <= timedelta(0):
            raise ValueError("the lease must be positive")
        self._sessionmaker = sessionmaker
        self._bot = bot
        self._clock = clock
        self._render = render
        self.worker_id = worker_id
        self._max_attempts = max_attempts
        self._private_interval = per_chat_interval
        self._group_interval = 60.0 / group_per_minute
        self._monotonic = monotonic
        self._sleep = sleep
        self._rng = rng if rng is not None else random.Random()
        self._lease = lease
        # Never start a send this close to the lease's end, and never let a send last longer than that: then no
        # send outlives its lease, and no other instance can take the row over while it is on the wire.
        self._lease_margin = lease / 4
        margin = self._lease_margin.total_seconds()
        self._send_timeout = margin / 2 if send_timeout is None else send_timeout
        if not 0 < self._send_timeout < margin:
            raise ValueError(f"send_timeout must be positive and below a quarter of the lease ({margin:.0f} s)")
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._idle_interval = idle_interval
        # A burst of a tenth of a second's worth lets the sender catch up after a late wake-up without ever
        # outrunning Telegram's own bucket, which holds a full second's worth.
        self._bucket = _TokenBucket(overall_rate, max(1.0, overall_rate / 10), monotonic)
        self._chat_ready: dict[int, float] = {}
        # Telegram's 429 pauses every send until then (on the injected clock, so the sandbox's virtual time works).
        self._paused_until: datetime | None = None
        self._wakeup = asyncio.Event()

    # ---- public API -----------------------------------------------------------------------------------------

    async def run_once(self, *, limit: int = 100) -> DispatchStats:
        """Claim up to ``limit`` due rows and deliver them; rows a chat's pace holds back go back to the queue."""
        return await self._run_batch(limit, None)

    async def run_forever(self, stop: asyncio.Event, *, limit: int = 100) -> None:
        """Deliver until ``stop`` is set; between rounds wait for the next due row (at most ``idle_interval``)."""
        while not stop.is_set():
            try:
                stats = await self._run_batch(limit, stop)
            except Exception:
                logger.exception("dispatch round failed; trying again in %.1f s", self._idle_interval)
                await self._idle(stop, self._idle_interval)
                continue
            if stats.idle and not stop.is_set():
                await self._idle(stop, await self._seconds_until_due())

    def wake(self) -> None:
        """Something was queued: end an idle wait now instead of at the next poll."""
        self._wakeup.set()

    # ---- one round ----------------------------------------------------------------------------------------

    async def _run_batch(self, limit: int, stop: asyncio.Event | None) -> DispatchStats:
        started = self._clock.now()
        if self._paused_until is not None:
            if started < self._paused_until:
                return DispatchStats()
            self._paused_until = None
            self._bucket.empty()  # after a pause, start from an empty allowance like a fresh sender
        async with self._sessionmaker.begin() as session:
            batch = await outbox.claim(session, worker=self.worker_id, now=started, limit=limit, lease=self._lease)
        tally = DispatchStats(claimed=len(batch))
        if not batch:
            return tally
        send_until = started + self._lease - self._lease_margin
        queue = list(batch)
        try:
            while queue:
                if (stop is not None and stop.is_set()) or self._clock.now() >= send_until:
                    break
                index = self._first_ready(queue)
                if index is None:
                    tally.deferred += await self._defer(queue)
                    queue.clear()
                    break
                item = queue.pop(index)
                await self._take_token()
                self._note_sent(item.chat_id)
                await self._deliver(item, queue, tally)
                if self._paused_until is not None:
                    break
        finally:
            if queue:
                # Never tried: back to pending now rather than when the lease runs out (or, after a 429, when the
                # pause ends, so no instance runs into the same wall). Shielded so a cancelled task still hands
                # them back.
                ids = [q.id for q in queue]
                tally.released += await asyncio.shield(self._release(ids, due_at=self._paused_until))
        return tally

    async def _deliver(self, item: Claimed, queue: list[Claimed], tally: DispatchStats) -> None:
        try:
            rendered = self._render(item)
            if inspect.isawaitable(rendered):
                rendered = await rendered
            # a long push (a digest of many items) goes in several messages, the buttons under the last
            chunks = split_message(rendered.html)
            for i, chunk in enumerate(chunks):
                if i:
                    await self._pace_next_part(item.chat_id)
                async with asyncio.timeout(self._send_timeout):
                    await self._bot.send_message(
                        chat_id=item.chat_id,
                        text=chunk,
                        parse_mode=ParseMode.HTML,
                        reply_markup=keyboard(rendered) if i == len(chunks) - 1 else None,
                    )
        except RetryAfter as exc:
            # Handled here and only here: the bot's rate limiter never retries (bot/telegram/pacing.py). The row
            # waits out retry_after in the outbox, holding no lease, and this sender pauses meanwhile.
            seconds = _seconds(exc.retry_after)
            tally.rate_limited += 1
            resume = self._clock.now() + timedelta(seconds=seconds)
            self._paused_until = resume
            logger.warning("Telegram asks to slow down: no pushes for %.0f s", seconds)
            async with self._sessionmaker.begin() as session:
                await outbox.release(
                    session, [item.id], worker=self.worker_id, due_at=resume, error=f"429 retry after {seconds:.0f} s"
                )
        except Forbidden as exc:
            tally.dead += 1
            logger.info("chat %s blocked the bot: deactivating it (%s)", item.chat_id, exc.message)
            async with self._sessionmaker.begin() as session:
                await outbox.mark_dead(session, item.id, error=_describe(exc), worker=self.worker_id)
                await outbox.deactivate_chat(session, item.chat_id)
            # deactivate_chat killed the chat's other claimed rows too; drop them from this batch.
            queue[:] = [q for q in queue if q.chat_id != item.chat_id]
        except BadRequest as exc:  # before NetworkError: PTB derives BadRequest from it
            tally.dead += 1
            logger.warning("outbox row %s rejected by Telegram, giving up: %s", item.id, exc.message)
            async with self._sessionmaker.begin() as session:
                await outbox.mark_dead(session, item.id, error=_describe(exc), worker=self.worker_id)
        except NetworkError as exc:  # TimedOut, 5xx, connection errors
            logger.info("outbox row %s: transient error, will retry: %s", item.id, exc.message)
            await self._retry(item, _describe(exc), tally)
        except TimeoutError:  # our own bound on the send, tighter than the lease
            logger.info("outbox row %s: no answer within %.0f s, will retry", item.id, self._send_timeout)
            await self._retry(item, f"no answer within {self._send_timeout:.0f} s", tally)
        except Exception as exc:
            logger.exception("outbox row %s: unexpected error while sending", item.id)
            await self._retry(item, _describe(exc), tally)
        else:
            tally.sent += 1
            async with self._sessionmaker.begin() as session:
                await outbox.mark_sent(session, item.id, now=self._clock.now())

    async def _retry(self, item: Claimed, error: str, tally: DispatchStats) -> None:
        attempts = item.attempts + 1
        async with self._sessionmaker.begin() as session:
            if attempts >= self._max_attempts:
                tally.dead += 1
                logger.warning("outbox row %s failed %d times, giving up: %s", item.id, attempts, error)
                await outbox.mark_dead(session, item.id, error=error, worker=self.worker_id)
            else:
                tally.retried += 1
                due = self._clock.now() + timedelta(seconds=self.backoff(attempts))
                await outbox.mark_retry(session, item.id, due_at=due, error=error, worker=self.worker_id)

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failure: base·2^(n−1), capped, times a jitter in [½, 1]."""
        ceiling = min(self._backoff_cap, self._backoff_base * 2.0 ** min(attempts - 1, 64))
        return ceiling * (0.5 + 0.5 * self._rng.random())

    # ---- pacing -------------------------------------------------------------------------------------------

    def _interval(self, chat_id: int) -> float:
        # Group and channel ids are negative in the Bot API.
        return self._group_interval if chat_id < 0 else self._private_interval

    def _first_ready(self, queue: list[Claimed]) -> int | None:
        """The first row (in due order) whose chat may get a message now."""
        now = self._monotonic()
        for index, item in enumerate(queue):
            if self._chat_ready.get(item.chat_id, now) <= now:
                return index
        return None

    def _note_sent(self, chat_id: int) -> None:
        now = self._monotonic()
        self._chat_ready[chat_id] = max(now, self._chat_ready.get(chat_id, now)) + self._interval(chat_id)
        if len(self._chat_ready) > _PRUNE_CHATS_AT:
            self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now}

    async def _pace_next_part(self, chat_id: int) -> None:
        """Before the next message of a long row: the overall pace and the chat's, as for a row of its own."""
        await self._take_token()
        wait = self._chat_ready.get(chat_id, 0.0) - self._monotonic()
        if wait > 0:
            await self._sleep(wait)
        self._note_sent(chat_id)

    async def _take_token(self) -> None:
        # One sleep of the computed wait is enough; waiting again for float dust could stall a virtual clock.
        wait = self._bucket.wait()
        if wait > 0:
            await self._sleep(wait)
        self._bucket.take()

    async def _defer(self, queue: list[Claimed]) -> int:
        """Every row left waits for its chat: make each due at its chat's next slot, in order, and release it."""
        now_mono = self._monotonic()
        now = self._clock.now()
        slots: dict[int, float] = {}
        deferred = 0
        async with self._sessionmaker.begin() as session:
            for item in queue:
                slot = slots.get(item.chat_id, self._chat_ready.get(item.chat_id, now_mono))
                slots[item.chat_id] = slot + self._interval(item.chat_id)
                due = now + timedelta(seconds=max(0.0, slot - now_mono))
                deferred += await outbox.release(session, [item.id], worker=self.worker_id, due_at=due)
        return deferred

    async def _release(self, ids: list[int], *, due_at: datetime | None = None) -> int:
        async with self._sessionmaker.begin() as session:
            return await outbox.release(session, ids, worker=self.worker_id, due_at=due_at)

    # ---- idling -------------------------------------------------------------------------------------------

    async def _seconds_until_due(self) -> float:
        if self._paused_until is not None:
            pause = (self._paused_until - self._clock.now()).total_seconds()
            if pause > 0:
                return min(self._idle_interval, pause)
        async with self._sessionmaker() as session:
            due = await outbox.next_due_at(session)
        if due is None:
            return self._idle_interval
        seconds = (due - self._clock.now()).total_seconds()
        # A row due already but not claimable is locked by another instance: look again soon, not at once.
        return min(self._idle_interval, max(seconds, self._idle_interval / 20))

    async def _idle(self, stop: asyncio.Event, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self._sleep(seconds))
        stopped = asyncio.ensure_future(stop.wait())
        woken = asyncio.ensure_future(self._wakeup.wait())
        try:
            await asyncio.wait({sleeper, stopped, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopped, woken):
                task.cancel()
            for task in (sleeper, stopped, woken):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._wakeup.clear()


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
