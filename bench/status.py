"""``python -m bench status``: status look-ups through the real app and the in-process emulator, vs a bare echo.

Method:
- The database is a cached SQLite file with ``--items`` synthetic items (``bench.seeding``, built in a child
  process when missing, so its memory is not counted here).
- The bot is the real application in the sandbox harness: ``build_application`` with the emulator's transport,
  no updater, ``post_init`` run, and jieba loaded before timing starts.
- Baselines, on the same emulator, transport and ``process_update`` path, fed the same texts:
  - ``echo``: a bare PTB echo (a MessageHandler that replies with the same text). The contract's ratio.
  - ``replay``: a bare handler that sends, for each text, the very reply the status path sent for it (same HTML,
    same buttons), prepared in advance. Status vs replay isolates the handler's own work (parse, look-up,
    render) from the cost of sending that reply through PTB and the emulator.
- Each update is timed from before ``Update.de_json`` to the moment the emulator records the reply (latency,
  the p50/p99 figures), and to the end of ``process_update`` (busy time, whose inverse is the throughput).
  Rounds interleave the three sides, alternating the echo's place, so drift on a shared machine hits all alike.
  A warm-up runs first.
- Look-ups are half ``/status N`` and half bare numbers, the number as printed (``018``) or without zeros
  (``18``), drawn from existing items, with about 5 % numbers that do not exist.
- ``rss_mb`` is this process's resident set after the run; it includes the emulator's record of every message
  of the run. ``rss_before_traffic_mb`` is the same after start-up (jieba loaded), before the first look-up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import random
import sqlite3
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bench import seeding
from bot.sandbox.emulator import SentMessage
from bot.sandbox.harness import Sandbox
from bot.sandbox.transport import build_bot_kwargs
from config.settings import load_settings

AT = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)  # the virtual "now": 10:00 in Shanghai
UNKNOWN_SHARE = 0.05


class TimedSent(list[SentMessage]):
    """The emulator's record of sent messages, stamped with ``perf_counter`` as each one is recorded."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.stamps: list[float] = []

    def append(self, message: SentMessage) -> None:
        self.stamps.append(time.perf_counter())
        super().append(message)

    def clear(self) -> None:
        self.stamps.clear()
        super().clear()


@dataclass(slots=True)
class Side:
    """One path under test: its app, and what was measured for it."""

    name: str
    app: Any
    latencies: list[float] = field(default_factory=list)
    busy: float = 0.0
    kinds: dict[str, list[float]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Updates per second of busy time (the whole ``process_update``)."""
        return len(self.latencies) / self.busy

    def figures(self) -> dict[str, float]:
        return {
            "p50_ms": _ms(statistics.median(self.latencies)),
            "p99_ms": _ms(_percentile(self.latencies, 0.99)),
            "updates_per_s": round(self.rate, 1),
        }


def lookup_texts(db: Path, count: int, rng: random.Random) -> list[str]:
    """``count`` look-up texts: numbers of existing items in several forms, plus ~5 % unknown numbers."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        numbers = [row[0] for row in conn.execute("SELECT number FROM proposals")]
    if not numbers:
        raise RuntimeError(f"{db} has no items")
    highest = max(int(n) for n in numbers)
    texts = []
    for _ in range(count):
        if rng.random() < UNKNOWN_SHARE:
            number = str(highest + rng.randint(1, 9999))
        else:
            number = rng.choice(numbers)
            if rng.random() < 0.5:
                number = number.lstrip("0") or "0"
        texts.append(f"/status {number}" if rng.random() < 0.5 else number)
    return texts


def reply_kind(message: SentMessage) -> str:
    data = [b.callback_data or "" for row in message.buttons for b in row]
    if any(d.startswith("card:") for d in data):
        return "choices"
    if any(d.startswith("tl:") for d in data):
        return "card"
    return "message"


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


class Replay:
    """A handler that answers each text with the reply the status path gave it, prepared in advance.

    It sends the same HTML and buttons through the same PTB call, but does no look-up and no rendering, so
    comparing the status path with it isolates what the status handler itself costs.
    """

    def __init__(self) -> None:
        self.replies: dict[str, tuple[str, InlineKeyboardMarkup | None]] = {}

    def learn(self, text: str, message: SentMessage) -> None:
        if text in self.replies:
            return
        rows = [[InlineKeyboardButton(b.label, callback_data=b.callback_data) for b in row] for row in message.buttons]
        self.replies[text] = (message.html, InlineKeyboardMarkup(rows) if rows else None)

    async def __call__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.text:
            html, markup = self.replies[message.text]
            await message.reply_text(html, parse_mode=ParseMode.HTML, reply_markup=markup)


def build_baseline(box: Sandbox, callback: Any) -> Application[Any, Any, Any, Any, Any, Any]:
    """A bare PTB bot with one text handler on the sandbox's emulator, built the way the sandbox builds the bot."""
    kwargs = build_bot_kwargs(box.emulator)
    app = (
        ApplicationBuilder()
        .token(kwargs["token"])
        .base_url(kwargs["base_url"])
        .base_file_url(kwargs["base_file_url"])
        .request(kwargs["request"])
        .get_updates_request(kwargs["get_updates_request"])
        .updater(None)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, callback))
    return app


async def _feed(box: Sandbox, side: Side, texts: list[str], *, record: bool, learn: Replay | None = None) -> None:
    """Send each text through ``side``'s ``process_update``; time it if ``record``."""
    sent = box.emulator.sent
    assert isinstance(sent, TimedSent)
    user = box.emulator.find_user("public")
    assert user is not None
    payloads = [box.emulator.message_update(user, text) for text in texts]  # built before the clock starts
    app = side.app
    for text, payload in zip(texts, payloads, strict=True):
        before = len(sent)
        started = time.perf_counter()
        await app.process_update(Update.de_json(payload, app.bot))
        done = time.perf_counter()
        if len(sent) != before + 1:
            raise RuntimeError(f"{side.name}: expected one reply to {text!r}, got {len(sent) - before}")
        if learn is not None:
            learn.learn(text, sent[before])
        if record:
            latency = sent.stamps[before] - started
            side.latencies.append(latency)
            side.busy += done - started
            side.kinds.setdefault(reply_kind(sent[before]), []).append(latency)
    # the emulator's record is the harness's memory, not the bot's: drop it so RSS measures the bot
    box.emulator.forget()


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def rss_mb() -> tuple[float, float]:
    """(current, peak) resident set size of this process in MiB, from /proc/self/status."""
    fields: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            fields[key] = int(value.split()[0]) / 1024
    return round(fields["VmRSS"], 1), round(fields["VmHWM"], 1)


async def _rounds(box: Sandbox, sides: dict[str, Side], replay: Replay, texts: list[str], args: Any) -> None:
    """Alternate the three sides round by round; status always runs right before replay, which learns from it."""
    echo, status, replay_side = sides["echo"], sides["status"], sides["replay"]
    rounds = max(1, min(args.rounds, len(texts)))
    size = -(-len(texts) // rounds)
    profiler = cProfile.Profile() if args.profile else None
    gc.collect()
    for r in range(rounds):
        batch = texts[r * size : (r + 1) * size]
        if not batch:
            break
        if r % 2:
            await _feed(box, echo, batch, record=True)
        if profiler is not None:
            profiler.enable()
        await _feed(box, status, batch, record=True, learn=replay)
        if profiler is not None:
            profiler.disable()
        await _feed(box, replay_side, batch, record=True)
        if not r % 2:
            await _feed(box, echo, batch, record=True)
        print(
            f"status: round {r + 1}/{rounds}: p50 echo {_ms(statistics.median(echo.latencies))} ms, "
            f"status {_ms(statistics.median(status.latencies))} ms, "
            f"replay {_ms(statistics.median(replay_side.latencies))} ms",
            flush=True,
        )
    if profiler is not None:
        profiler.dump_stats(args.profile)
        print(f"status: cProfile of the status rounds written to {args.profile}", flush=True)


async def run(args: argparse.Namespace, db: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    settings = load_settings(database_url=seeding.sqlite_url(db))
    async with Sandbox(settings, at=AT) as box:
        box.emulator.sent = TimedSent(box.emulator.sent)
        await box.deps.tokenizer_loaded()  # jieba loads in a thread at start-up; never time against it
        await box.use("public")
        replay = Replay()
        baselines = {"echo": build_baseline(box, _echo), "replay": build_baseline(box, replay)}
        for app in baselines.values():
            await app.initialize()
            await app.start()
        try:
            sides = {"status": Side("status", box.app)} | {name: Side(name, app) for name, app in baselines.items()}
            texts = lookup_texts(db, args.warmup + args.updates, rng)
            warm, timed = texts[: args.warmup], texts[args.warmup :]
            print(f"status: warming up with {len(warm)} updates per side", flush=True)
            await _feed(box, sides["echo"], warm, record=False)
            await _feed(box, sides["status"], warm, record=False, learn=replay)
            await _feed(box, sides["replay"], warm, record=False)
            start_rss, _ = rss_mb()
            await _rounds(box, sides, replay, timed, args)
        finally:
            for app in baselines.values():
                await app.stop()
                await app.shutdown()
        violations = list(box.emulator.violations)
        current_rss, peak_rss = rss_mb()

    echo, status, replay_side = sides["echo"], sides["status"], sides["replay"]
    figures = status.figures()
    return {
        "throughput_ratio_vs_echo": round(status.rate / echo.rate, 3),
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "items": args.items,
        "echo_p50_ms": echo.figures()["p50_ms"],
        "echo_p99_ms": echo.figures()["p99_ms"],
        "echo_updates_per_s": echo.figures()["updates_per_s"],
        "status_updates_per_s": figures["updates_per_s"],
        "throughput_ratio_vs_replay": round(status.rate / replay_side.rate, 3),
        "replay_p50_ms": replay_side.figures()["p50_ms"],
        "replay_updates_per_s": replay_side.figures()["updates_per_s"],
        "rss_mb": current_rss,
        "rss_before_traffic_mb": start_rss,
        "peak_rss_mb": peak_rss,
        "updates": len(status.latencies),
        "reply_kinds": {
            kind: {"count": len(v), "p50_ms": _ms(statistics.median(v)), "p99_ms": _ms(_percentile(v, 0.99))}
            for kind, v in sorted(status.kinds.items())
        },
        "spec_violations": len(violations),
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench status", description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000, help="synthetic items in the database (100000)")
    parser.add_argument("--updates", type=int, default=5000, help="timed look-ups, as many per baseline (5000)")
    parser.add_argument("--seed", type=int, default=0, help="corpus and look-up seed (0)")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds (10)")
    parser.add_argument("--warmup", type=int, default=300, help="untimed updates per side first (300)")
    parser.add_argument("--cache-dir", type=Path, default=seeding.CACHE_DIR, help="prepared databases")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the status rounds to FILE")
    args = parser.parse_args(argv)
    if args.items < 1 or args.updates < 1:
        parser.error("--items and --updates must be positive")
    db = seeding.ensure_database(args.items, seed=args.seed, cache_dir=args.cache_dir, progress=_say)
    print(f"status: {args.updates} look-ups, {args.updates} echoes and {args.updates} replays on {db.name}", flush=True)
    return asyncio.run(run(args, db))


def _say(line: str) -> None:
    print(line, flush=True)
