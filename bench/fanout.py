"""``python -m bench fanout``: outbox fan-out against the emulator enforcing Telegram's limits, with crashes.

Set-up: a migrated database (a temporary SQLite file unless ``--db`` names an empty one), N accounts and one
outbox row each, all due now, and the emulator enforcing Telegram's flood limits times ``--scale K`` (30·K
messages/s overall, K/s per private chat). The dispatcher is paced at exactly those limits.

Without ``--crash`` the dispatcher runs in this process over the in-memory transport (``--mode inprocess``).
With ``--crash C`` (or ``--mode subprocess``) it runs in a subprocess (``python -m bench.fanout --worker …``)
that talks HTTP to the emulator served on loopback by this process, so the emulator's record of what was
delivered survives the crashes. The bench kills it with SIGKILL C times, each at a random moment (after a
random share of the recipients got their message, plus a random fraction of a send), and starts a fresh one,
which takes over the dead one's rows when their lease runs out. A dispatcher exits once nothing is pending or
claimed.

Figures: ``delivered`` recipients that got their message, ``lost`` those that got none, ``duplicates`` extra
copies, ``http_429`` every 429 the emulator answered, ``rate_ratio`` the achieved rate while a dispatcher was
running (first to last delivery of each life, summed) over the enforced overall limit, ``rate_ratio_wall``
the same over the whole delivery phase including restarts, ``seconds`` the delivery phase's wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import telegram
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery.dispatcher import Dispatcher
from bot.domain.clock import SystemClock
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.transport import build_bot_kwargs, serve_loopback
from storage import outbox
from storage.engine import create_engine, create_sessionmaker
from storage.migrate import upgrade
from storage.models import Account, OutboxMessage

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:FANOUT-bench"
FIRST_CHAT = 10_000_001
# A short lease: a killed dispatcher's batch is taken over about as soon as its successor is up.
LEASE_SECONDS = 2.0


# ---- the dispatcher process ---------------------------------------------------------------------------------


def dispatcher_for(
    engine: AsyncEngine, bot: telegram.Bot, *, scale: float, worker_id: str, lease: float
) -> tuple[Dispatcher, int]:
    """A dispatcher paced at exactly the emulator's limits times ``scale``, and its batch size."""
    rate = 30.0 * scale
    dispatcher = Dispatcher(
        sessionmaker=create_sessionmaker(engine),
        bot=bot,
        clock=SystemClock(),
        worker_id=worker_id,
        overall_rate=rate,
        per_chat_interval=1.0 / scale,
        group_per_minute=max(1, int(20 * scale)),
        lease=timedelta(seconds=lease),
        idle_interval=0.2,
    )
    # About a quarter second of sending per claim: few rows wait for a lease when a dispatcher dies.
    return dispatcher, max(10, int(rate / 4))


async def _until_drained(engine: AsyncEngine, stop: asyncio.Event) -> None:
    sessionmaker = create_sessionmaker(engine)
    while not stop.is_set():
        await asyncio.sleep(0.25)
        async with sessionmaker() as session:
            counts = await outbox.count_by_status(session)
        if counts[outbox.PENDING] + counts[outbox.CLAIMED] == 0:
            stop.set()


async def _worker(args: argparse.Namespace) -> None:
    engine = create_engine(args.db)
    bot = telegram.Bot(TOKEN, base_url=f"{args.base_url}/bot", base_file_url=f"{args.base_url}/file/bot")
    await bot.initialize()
    dispatcher, batch = dispatcher_for(engine, bot, scale=args.scale, worker_id=args.worker_id, lease=args.lease)
    stop = asyncio.Event()
    watcher = asyncio.create_task(_until_drained(engine, stop))
    try:
        await dispatcher.run_forever(stop, limit=batch)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await bot.shutdown()
        await engine.dispose()


# ---- the bench process --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Run:
    lives: list[tuple[float, float]] = field(default_factory=list)  # (start, end) of each dispatcher, time.time()
    crashes: int = 0


async def _prepare(url: str, recipients: int, *, now: datetime) -> AsyncEngine:
    engine = create_engine(url)
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker.begin() as session:
        existing = await session.scalar(select(func.count()).select_from(OutboxMessage))
        accounts = await session.scalar(select(func.count()).select_from(Account))
        if existing or accounts:
            raise SystemExit("--db must name an empty database: the bench fills accounts and the outbox")
        chats = range(FIRST_CHAT, FIRST_CHAT + recipients)
        await session.execute(
            insert(Account),
            [{"telegram_id": c, "chat_id": c, "role": "deputy", "created_at": now} for c in chats],
        )
        ids = dict((await session.execute(select(Account.chat_id, Account.id))).all())
        await session.execute(
            insert(OutboxMessage),
            [
                {
                    "dedup_key": f"fanout:{c}",
                    "account_id": ids[c],
                    "chat_id": c,
                    "kind": "fanout",
                    "payload": {"text": f"<b>第 018 号</b> 已答复 · recipient {c}"},
                    "status": outbox.PENDING,
                    "due_at": now,
                    "attempts": 0,
                    "created_at": now,
                }
                for c in chats
            ],
        )
    return engine


def _worker_command(url: str, base_url: str, scale: float, worker_id: str, lease: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "bench.fanout",
        "--worker",
        "--db",
        url,
        "--base-url",
        base_url,
        "--scale",
        str(scale),
        "--worker-id",
        worker_id,
        "--lease",
        str(lease),
    ]


async def _run_subprocesses(
    emulator: BotApiEmulator, url: str, *, recipients: int, scale: float, crashes: int, rng: random.Random
) -> _Run:
    server = await serve_loopback(emulator)
    env = {**os.environ, "PTB_TIMEDELTA": "true", "PYTHONPATH": str(ROOT)}
    # Kill after a random share of the recipients got their message, each kill later than the one before.
    thresholds = sorted(int(rng.uniform(0.1, 0.9) * recipients) for _ in range(crashes))
    cycle = 1.0 / (30.0 * scale)
    run = _Run()
    deadline = time.monotonic() + 60.0 + 20.0 * recipients * cycle
    try:
        life = 0
        while True:
            started = time.time()
            process = await asyncio.create_subprocess_exec(
                *_worker_command(url, server.url, scale, f"fanout-{os.getpid()}-{life}", LEASE_SECONDS),
                cwd=ROOT,
                env=env,
            )
            life += 1
            killed = False
            if run.crashes < crashes:
                target = max(thresholds[run.crashes], emulator.stats["messages_sent"] + 1)
                while emulator.stats["messages_sent"] < target and process.returncode is None:
                    await asyncio.sleep(0.005)
                    if time.monotonic() > deadline:
                        break
                if process.returncode is None:
                    # A random point inside the send-and-record cycle, not always right after a delivery.
                    await asyncio.sleep(rng.uniform(0.0, 2.0 * cycle))
                    with contextlib.suppress(ProcessLookupError):
                        process.send_signal(signal.SIGKILL)
                    killed = True
            try:
                await asyncio.wait_for(process.wait(), timeout=max(1.0, deadline - time.monotonic()))
            except TimeoutError:
                process.kill()
                await process.wait()
                raise SystemExit("the dispatcher did not drain the outbox in time") from None
            run.lives.append((started, time.time()))
            if killed:
                run.crashes += 1
                _progress(
                    f"killed the dispatcher ({run.crashes}/{crashes}) after {emulator.stats['messages_sent']} sends"
                )
                continue
            if process.returncode != 0:
                raise SystemExit(f"the dispatcher exited with status {process.returncode}")
            return run
    finally:
        await server.stop()


async def _run_inprocess(emulator: BotApiEmulator, engine: AsyncEngine, *, scale: float) -> _Run:
    bot = telegram.Bot(**build_bot_kwargs(emulator, TOKEN))
    await bot.initialize()
    dispatcher, batch = dispatcher_for(engine, bot, scale=scale, worker_id="fanout-inprocess", lease=LEASE_SECONDS)
    stop = asyncio.Event()
    started = time.time()
    watcher = asyncio.create_task(_until_drained(engine, stop))
    await dispatcher.run_forever(stop, limit=batch)
    await watcher
    await bot.shutdown()
    return _Run(lives=[(started, time.time())])


def _progress(message: str) -> None:
    print(f"fanout: {message}", file=sys.stderr, flush=True)


def _active_rate(stamps: list[float], lives: list[tuple[float, float]]) -> float:
    """Messages per second while a dispatcher was alive: each life's first to last delivery, summed."""
    messages = 0
    seconds = 0.0
    for start, end in lives:
        inside = [s for s in stamps if start <= s <= end]
        if len(inside) >= 2:
            messages += len(inside) - 1
            seconds += inside[-1] - inside[0]
    return messages / seconds if seconds > 0 else 0.0


async def _bench(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    tmp = Path(tempfile.mkdtemp(prefix="fanout-"))
    url = args.db or f"sqlite+aiosqlite:///{tmp / 'fanout.db'}"
    try:
        now = datetime.now(UTC)
        engine = await _prepare(url, args.recipients, now=now)
        # The emulator stamps each accepted message with this clock; the bench reads the rate from the stamps.
        emulator = BotApiEmulator(now=lambda: datetime.now(UTC), enforce_limits=True, limit_scale=args.scale)
        for chat in range(FIRST_CHAT, FIRST_CHAT + args.recipients):
            emulator.add_user(user_id=chat, first_name=f"r{chat}")

        _progress(
            f"{args.recipients} recipients due now; limits x{args.scale:g} ({30 * args.scale:g} msg/s overall); "
            f"dispatcher {args.mode}"
        )
        started = time.time()
        if args.mode == "inprocess":
            run = await _run_inprocess(emulator, engine, scale=args.scale)
        else:
            await engine.dispose()  # the worker owns the database while it runs
            run = await _run_subprocesses(
                emulator,
                url,
                recipients=args.recipients,
                scale=args.scale,
                crashes=args.crash,
                rng=random.Random(args.seed),
            )
        seconds = time.time() - started
        stamps = [message.date.timestamp() for message in emulator.sent]

        copies = Counter(message.chat_id for message in emulator.sent)
        delivered = sum(1 for chat in range(FIRST_CHAT, FIRST_CHAT + args.recipients) if copies[chat])
        async with create_sessionmaker(engine)() as session:
            statuses = await outbox.count_by_status(session)
        await engine.dispose()
        limit = 30.0 * args.scale
        wall = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) >= 2 else 0.0
        return {
            "recipients": args.recipients,
            "delivered": delivered,
            "lost": args.recipients - delivered,
            "duplicates": sum(count - 1 for count in copies.values() if count > 1),
            "http_429": emulator.stats["http_429"],
            "rate_ratio": round(_active_rate(stamps, run.lives) / limit, 3),
            "rate_ratio_wall": round(wall / limit, 3),
            "crashes": run.crashes,
            "seconds": round(seconds, 2),
            "scale": args.scale,
            "limit_per_s": limit,
            "dead": statuses[outbox.DEAD],
            "mode": args.mode,
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench fanout", description=__doc__)
    parser.add_argument("--recipients", type=int, default=1000, help="accounts, one message each (default 1000)")
    parser.add_argument("--scale", type=float, default=2.0, help="multiply Telegram's limits by K (default 2)")
    parser.add_argument("--crash", type=int, default=0, help="kill -9 the dispatcher this many times (default 0)")
    parser.add_argument("--db", default=None, help="an empty database URL (default: a temporary SQLite file)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the kill schedule (default 1)")
    parser.add_argument(
        "--mode",
        choices=("auto", "inprocess", "subprocess"),
        default="auto",
        help="where the dispatcher runs; auto: in this process unless --crash (default auto)",
    )
    # The dispatcher subprocess.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--worker-id", help=argparse.SUPPRESS)
    parser.add_argument("--lease", type=float, default=LEASE_SECONDS, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str]) -> dict[str, Any]:
    """Run the fan-out benchmark and return its figures (see the module docstring)."""
    args = _parser().parse_args(argv)
    if args.recipients < 1 or args.scale <= 0 or args.crash < 0:
        raise SystemExit("--recipients must be positive, --scale positive, --crash not negative")
    if args.mode == "auto":
        args.mode = "subprocess" if args.crash else "inprocess"
    if args.mode == "inprocess" and args.crash:
        raise SystemExit("--crash needs the dispatcher in a subprocess: use --mode subprocess")
    return asyncio.run(_bench(args))


if __name__ == "__main__":
    arguments = _parser().parse_args(sys.argv[1:])
    if not arguments.worker:
        raise SystemExit("run the benchmark as `python -m bench fanout`")
    asyncio.run(_worker(arguments))
