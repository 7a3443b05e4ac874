"""``python -m bench sweep``: the deadline sweep's cost on 10k and 100k items with the same number of due clocks.

Each database is the cached synthetic corpus of ``bench.seeding`` (copied, so the cache stays pristine), turned
into a snapshot of one day, ``--today``: the whole history is closed, and the same ``--due`` items (chosen
among the first 10k, which both corpora share) are open with due days spread from ten days overdue to thirty
days ahead. Every unit has one bound staff account, and there are two admins. The sweep then runs as the
scheduler would run it on that morning, the day after the previous sweep; the outbox, the watermark and the
lease are reset between runs, and the median of ``--runs`` timed runs is reported.

DESIGN §7 asks for ``ms_100k / ms_10k < 2``: the sweep costs O(due rows), not O(all rows).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench.seeding import ensure_database, sqlite_url
from bot.delivery.planner import horizon_days
from bot.delivery.sweeps import WATERMARK, run_sweep
from bot.domain.clock import WorkCalendar
from bot.domain.lifecycle import OPEN_STATES
from config.settings import Jurisdiction
from storage.coordination import Lease, SweepWatermark, set_watermark
from storage.engine import create_engine, create_sessionmaker
from storage.migrate import upgrade
from storage.models import Account, Assignment, OutboxMessage, Proposal, Unit
from storage.sweeps import due_assignments

SIZES = (10_000, 100_000)
TZ = ZoneInfo("Asia/Shanghai")
PROFILE = Jurisdiction(
    name="上海市", reply_months=3, extended_max_months=6, co_opinion_months=1, rehandling_months=1, return_workdays=7
)
SPREAD = range(-10, 31)  # days from today: ten days overdue to thirty days ahead
ADMIN_IDS = (901, 902)  # the settings' PROPOSAL_BOT_ADMINS; their accounts are plain ones


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class Timing:
    ms: float  # the whole sweep: lease, reads, planning, one enqueue per push, watermark, commit
    read_ms: float  # the due-clock read alone, where an O(all rows) plan would show first
    due: int
    planned: int
    queued: int


async def prepare(engine: AsyncEngine, *, today: date, due: int) -> None:
    """Close the history, open ``due`` items of the shared 10k prefix due around ``today``, bind accounts."""
    await upgrade(engine)
    step = max(1, 10_000 // due)
    chosen = [1 + k * step for k in range(due)]
    now = datetime.combine(today, datetime.min.time(), UTC)
    async with engine.begin() as conn:
        await conn.execute(
            update(Proposal).where(Proposal.state.in_(sorted(OPEN_STATES))).values(state="closed"),
        )
        await conn.execute(update(Proposal).where(Proposal.id.in_(chosen)).values(state="in_progress"))
        rows = (
            await conn.execute(select(Assignment.id, Assignment.proposal_id).where(Assignment.proposal_id.in_(chosen)))
        ).all()
        spread = list(SPREAD)
        moves = [{"aid": aid, "due": today + timedelta(days=spread[pid % len(spread)])} for aid, pid in rows]
        await conn.execute(
            update(Assignment)
            .where(Assignment.id == bindparam("aid"))
            .values(due_on=bindparam("due"), original_due_on=bindparam("due")),
            moves,
        )
        await conn.execute(delete(Account))
        unit_ids = (await conn.execute(select(Unit.id).order_by(Unit.id))).scalars().all()
        accounts: list[dict[str, Any]] = [
            {"telegram_id": 10_000_000 + uid, "chat_id": 10_000_000 + uid, "role": "unit", "unit_id": uid}
            for uid in unit_ids
        ]
        accounts += [{"telegram_id": n, "chat_id": n, "role": "public", "unit_id": None} for n in ADMIN_IDS]
        for account in accounts:
            account.update(display_name="", digest_mode="instant", active=True, created_at=now)
        await conn.execute(insert(Account), accounts)
        await conn.exec_driver_sql("ANALYZE")


async def _reset(sm: async_sessionmaker[AsyncSession], *, today: date, now: datetime) -> None:
    async with sm.begin() as session:
        await session.execute(delete(OutboxMessage))
        await session.execute(delete(Lease))
        await session.execute(delete(SweepWatermark))
        await set_watermark(session, name=WATERMARK, day=today - timedelta(days=1), now=now)


async def _sweep_once(sm: async_sessionmaker[AsyncSession], *, today: date, now: datetime) -> Timing:
    await _reset(sm, today=today, now=now)
    started = time.perf_counter()
    stats = await run_sweep(
        sm, now=now, calendar=WorkCalendar(), profile=PROFILE, tz=TZ, holder="bench", admin_ids=ADMIN_IDS
    )
    elapsed_ms = (time.perf_counter() - started) * 1000
    async with sm() as session:
        queued = await session.scalar(select(func.count()).select_from(OutboxMessage))
        started = time.perf_counter()
        rows = await due_assignments(
            session, today=today, horizon_days=horizon_days(PROFILE), open_states=frozenset(OPEN_STATES)
        )
        read_ms = (time.perf_counter() - started) * 1000
    if stats.skipped_lease or queued != stats.queued or len(rows) != stats.due:
        raise RuntimeError(f"the sweep did not run as expected: {stats}, {queued} rows queued")
    return Timing(ms=elapsed_ms, read_ms=read_ms, due=stats.due, planned=stats.planned, queued=stats.queued)


async def _measure(sizes: tuple[int, ...], *, today: date, due: int, runs: int, warmup: int) -> dict[int, Timing]:
    """Prepare every database, then time the sizes in turn, run after run, so machine load hits them alike."""
    now = datetime.combine(today, datetime.min.time(), TZ).astimezone(UTC) + timedelta(minutes=5)
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        engines: dict[int, AsyncEngine] = {}
        try:
            for size in sizes:
                cached = ensure_database(size, progress=_progress)
                work = Path(tmp) / f"sweep-{size}.db"
                shutil.copyfile(cached, work)
                engines[size] = create_engine(sqlite_url(work))
                _progress(f"sweep: preparing {size} items with {due} due around {today}")
                await prepare(engines[size], today=today, due=due)
            makers = {size: create_sessionmaker(engine) for size, engine in engines.items()}
            samples: dict[int, list[Timing]] = {size: [] for size in sizes}
            for n in range(warmup + runs):
                for size in sizes:
                    timing = await _sweep_once(makers[size], today=today, now=now)
                    if n >= warmup:
                        samples[size].append(timing)
        finally:
            for engine in engines.values():
                await engine.dispose()
    results = {}
    for size in sizes:
        runs_of = samples[size]
        last = runs_of[-1]
        results[size] = Timing(
            ms=statistics.median(t.ms for t in runs_of),
            read_ms=statistics.median(t.read_ms for t in runs_of),
            due=last.due,
            planned=last.planned,
            queued=last.queued,
        )
        _progress(f"sweep: {size} items: {results[size]}, runs (ms) {[round(t.ms, 1) for t in runs_of]}")
    return results


def main(argv: list[str]) -> dict[str, Any]:
    """Run the benchmark: ``ms_10k``, ``ms_100k``, ``due`` (clocks read per sweep), ``ratio``, and the read alone."""
    parser = argparse.ArgumentParser(prog="python -m bench sweep", description=__doc__)
    parser.add_argument("--due", type=int, default=500, help="open items due around today (default 500)")
    parser.add_argument("--runs", type=int, default=7, help="timed sweeps per database (default 7)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed sweeps first (default 2)")
    parser.add_argument("--today", type=date.fromisoformat, default=date(2025, 3, 3), help="the sweep's day")
    args = parser.parse_args(argv)
    if not 0 < args.due <= 10_000:
        parser.error("--due must be between 1 and 10000")
    results = asyncio.run(_measure(SIZES, today=args.today, due=args.due, runs=args.runs, warmup=args.warmup))
    small, large = results[SIZES[0]], results[SIZES[1]]
    if (small.due, small.planned) != (large.due, large.planned):
        raise RuntimeError(f"the two databases differ in due clocks or pushes: {small} vs {large}")
    return {
        "ms_10k": round(small.ms, 2),
        "ms_100k": round(large.ms, 2),
        "due": small.due,
        "ratio": round(large.ms / small.ms, 3),
        "read_ms_10k": round(small.read_ms, 2),
        "read_ms_100k": round(large.read_ms, 2),
        "read_ratio": round(large.read_ms / small.read_ms, 3),
        "planned": small.planned,
        "queued": large.queued,
        "runs": args.runs,
        "today": args.today.isoformat(),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(sys.argv[1:])))
