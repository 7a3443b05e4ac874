"""The ticker: runs the deadline sweep and the outbox dispatcher on the injected clock.

What is due lives in indexed database columns (assignments.due_on, outbox.due_at), so the ticker holds no
schedule of its own: a restart loses nothing. In production PTB's JobQueue (APScheduler) calls `tick` every few
seconds; the sandbox calls `advance_to`, which jumps the virtual clock from due moment to due moment.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import UTC, datetime, time, timedelta

import telegram

from bot.context import BotData
from bot.delivery.dispatcher import Dispatcher, DispatchStats
from bot.delivery.planner import Plan
from bot.delivery.queue import queue_plans
from bot.delivery.sweeps import SWEEP_LEASE, run_sweep
from bot.domain.clock import VirtualClock
from bot.render.cards import Rendered
from bot.render.pushes import render_digest, render_push
from bot.telegram.pacing import OVERALL_PER_SECOND
from storage import outbox
from storage.accounts import admin_accounts
from storage.coordination import release_lease
from storage.outbox import Claimed

logger = logging.getLogger(__name__)

#: How often the sweep runs in real time; reminders are planned per day, so this only bounds the delay.
SWEEP_EVERY = timedelta(minutes=10)
#: In the sandbox the sweep runs at this local time every day, and whenever the clock jumps.
SANDBOX_SWEEP_AT = time(0, 5)
#: Daily digests go out at this local time; weekly ones on Monday at the same time.
DIGEST_AT = time(9, 0)


def instance_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Ticker:
    """One instance's sweeps and dispatcher. `tick()` is idempotent and safe to call at any moment."""

    def __init__(self, deps: BotData, bot: telegram.Bot, *, holder: str | None = None, pace: bool = True) -> None:
        self._deps = deps
        self.holder = holder or instance_id()
        self.dispatcher = Dispatcher(
            sessionmaker=deps.sessionmaker,
            bot=bot,
            clock=deps.clock,
            render=self.render,
            worker_id=self.holder,
            # the sandbox runs on virtual time: Telegram's pacing would only make the console wait
            per_chat_interval=1.0 if pace else 0.0,
            overall_rate=OVERALL_PER_SECOND if pace else 10_000.0,
        )
        self._last_sweep: datetime | None = None
        self._swept = False  # only a sweep takes the lease, so only then is there one to release
        self._lock = asyncio.Lock()

    def render(self, item: Claimed) -> Rendered:
        """The push in the recipient's language at send time (their /settings choice, else Chinese)."""
        lang = self._deps.languages.get(item.chat_id) or str(item.payload.get("lang") or "zh")
        if item.kind == "digest":
            parts = [(str(i["kind"]), dict(i["payload"])) for i in item.payload.get("items", [])]
            return render_digest(parts, lang)
        return render_push(item.kind, item.payload, lang)

    def digest_cutoffs(self, now: datetime) -> dict[str, datetime]:
        """The latest digest moment at or before `now`: today's (or yesterday's) 09:00, and last Monday's."""
        tz = self._deps.settings.tz
        local = now.astimezone(tz)
        daily = datetime.combine(local.date(), DIGEST_AT, tzinfo=tz)
        if local < daily:
            daily -= timedelta(days=1)
        weekly = datetime.combine(local.date() - timedelta(days=local.weekday()), DIGEST_AT, tzinfo=tz)
        if local < weekly:
            weekly -= timedelta(days=7)
        return {"daily": daily.astimezone(UTC), "weekly": weekly.astimezone(UTC)}

    async def release_digests(self) -> int:
        """Merge the pushes held for digests whose moment has come; the dispatcher then sends one message each."""
        now = self._deps.clock.now()
        queued = 0
        async with self._deps.sessionmaker.begin() as session:
            for mode, cutoff in self.digest_cutoffs(now).items():
                queued += await outbox.merge_digests(session, mode=mode, cutoff=cutoff, now=now)
        return queued

    async def sweep(self) -> None:
        deps = self._deps
        self._swept = True
        stats = await run_sweep(
            deps.sessionmaker,
            now=deps.clock.now(),
            calendar=deps.calendar,
            profile=deps.settings.profile,
            tz=deps.settings.tz,
            holder=self.holder,
            admin_ids=deps.admins,
        )
        self._last_sweep = deps.clock.now()
        if stats.queued:
            logger.info("sweep queued %d reminders (%d already queued)", stats.queued, stats.deduplicated)
        if not stats.skipped_lease:
            await self.note_dead_pushes()

    async def note_dead_pushes(self) -> None:
        """Once a day, tell the admins how many pushes were given up on in the last day (see /overdue)."""
        deps = self._deps
        now = deps.clock.now()
        today = now.astimezone(deps.settings.tz).date()
        async with deps.sessionmaker.begin() as session:
            count = await outbox.count_dead_since(session, since=now - timedelta(days=1))
            if count == 0:
                return
            admins = await admin_accounts(session, telegram_ids=deps.admins)
            plans = [
                Plan(
                    recipient_account_id=admin.id,
                    chat_id=admin.chat_id,
                    kind="dead_note",
                    text_key="push.dead_note",
                    params={"count": count},
                    due_at=now,
                    dedup_key=f"dead_note:{admin.id}:{today.isoformat()}",
                )
                for admin in admins
            ]
            await queue_plans(session, plans, now=now)

    async def dispatch(self) -> int:
        """Send everything due now; returns how many messages went out."""
        sent = 0
        while True:
            stats: DispatchStats = await self.dispatcher.run_once()
            sent += stats.sent
            if stats.idle or stats.claimed == 0:
                return sent

    async def tick(self) -> None:
        """One round: the sweep when it is due, then every push that is due."""
        async with self._lock:
            now = self._deps.clock.now()
            if self._last_sweep is None or now - self._last_sweep >= SWEEP_EVERY:
                await self.sweep()
            await self.release_digests()
            await self.dispatch()

    async def next_due(self) -> datetime | None:
        async with self._deps.sessionmaker() as session:
            return await outbox.next_due_at(session)

    async def advance_to(self, clock: VirtualClock, target: datetime) -> None:
        """Move the virtual clock to `target`, stopping at each daily sweep and each due push on the way."""
        tz = self._deps.settings.tz
        async with self._lock:
            await self.sweep()
            await self.release_digests()
            await self.dispatch()
            while True:
                now = clock.now()
                local = now.astimezone(tz)
                next_sweep = datetime.combine(local.date() + timedelta(days=1), SANDBOX_SWEEP_AT, tzinfo=tz)
                next_digest = datetime.combine(local.date(), DIGEST_AT, tzinfo=tz)
                if next_digest <= now:
                    next_digest += timedelta(days=1)
                moments = [next_sweep, next_digest]
                due = await self.next_due()
                if due is not None and due > now:
                    moments.append(due)
                step = min(moments)
                if step > target:
                    break
                clock.set(step)
                if step == next_sweep:
                    await self.sweep()
                await self.release_digests()
                await self.dispatch()
            clock.set(target)
            await self.dispatch()

    async def close(self) -> None:
        """Give up the sweeps lease, so another instance takes over at once; nothing to do if it never swept."""
        if not self._swept:
            return
        async with self._deps.sessionmaker.begin() as session:
            await release_lease(session, name=SWEEP_LEASE, holder=self.holder)
