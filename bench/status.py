"""``python -m bench status``: status look-ups through the real app and the in-process emulator, vs a bare echo.

Method:
- The database is a cached SQLite file with ``--items`` synthetic items (``bench.seeding``, built in a child
  process when missing, so its memory is not counted here).
- The bot is the real application in the sandbox harness (``build_application`` with the emulator's transport,
  ``post_init`` run, jieba loaded before timing starts).
- Baselines, each a bare PTB application with one text handler on an emulator of its own (the same emulator
  code, transport and spec checks as the bot's), fed the same texts:
  - ``echo``: a bare PTB echo (a MessageHandler that replies with the same text). The contract's ratio.
  - ``replay``: a bare handler that sends, for each text, the very reply the status path sent for it (same HTML,
    same buttons, sent the same lean way: ``bot.telegram.bot.reply_html``, which keeps only the sent message's
    id where PTB's ``reply_text`` rebuilds the whole Message), prepared in advance. Status vs replay isolates
    the handler's own work (parse, look-up, render) from the cost of sending that reply through PTB and the
    emulator.
- Two harnesses, every side measured in both:
  - ``polling`` (the contract's figures): update in → reply out. Each update goes on the emulator's getUpdates
    queue; the application's own Updater fetches it, as ``proposal-bot run`` does, and the reply comes back
    through the emulator. One update is in flight at a time; the next goes in when the reply is out.
    Throughput is updates per second of wall time; latency runs from the queue to the recorded reply.
  - ``direct``: each update handed straight to ``Application.process_update`` (no Updater, no update queue).
    This isolates the handler and reply path; throughput is updates per second of ``process_update`` time.
  Rounds interleave the three sides, alternating the echo's place, so drift on a shared machine hits all alike.
  A warm-up runs first. ``throughput_ratio_vs_echo`` pools all rounds; ``throughput_ratio_round_median`` is the
  median of the per-round ratios, which a burst of load landing on one side's round moves less.
- Look-ups are half ``/status N`` and half bare numbers, the number as printed (``018``) or without zeros
  (``18``), drawn from existing items, with about 5 % numbers that do not exist.
- ``rss_mb`` is this process's resident set after the run (three applications, the bot's among them).
  ``rss_before_traffic_mb`` is the same after start-up (jieba loaded), before the first look-up.
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, ExtBot, MessageHandler, filters

from bench import seeding
from bot.domain.lookup import number_key
from bot.render.cards import Button, Rendered
from bot.sandbox.emulator import BotApiEmulator, SandboxUser, SentMessage
from bot.sandbox.harness import Sandbox
from bot.sandbox.transport import build_bot_kwargs
from bot.telegram.bot import ProposalBot, reply_html
from bot.telegram.keyboards import keyboard
from config.settings import load_settings

AT = datetime(2024, 6, 3, 2, 0, tzinfo=UTC)  # the virtual "now": 10:00 in Shanghai
UNKNOWN_SHARE = 0.05
HARNESSES = ("polling", "direct")
REPLY_TIMEOUT_S = 30.0  # a reply that never comes is a failed run, not a hang


class TimedSent(list[SentMessage]):
    """The emulator's record of sent messages, stamped with ``perf_counter`` as each one is recorded."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.stamps: list[float] = []
        self.arrived = asyncio.Event()

    def append(self, message: SentMessage) -> None:
        self.stamps.append(time.perf_counter())
        super().append(message)
        self.arrived.set()

    def clear(self) -> None:
        self.stamps.clear()
        super().clear()


@dataclass(slots=True)
class Side:
    """One path under test in one harness: its app, its emulator and user, and what was measured."""

    name: str
    app: Any
    emulator: BotApiEmulator
    user: SandboxUser
    latencies: list[float] = field(default_factory=list)
    busy: float = 0.0
    kinds: dict[str, list[float]] = field(default_factory=dict)
    rounds: list[tuple[int, float, float]] = field(default_factory=list)  # (updates, time, CPU time) per round

    @property
    def rate(self) -> float:
        """Updates per second of measured time (wall time when polling, ``process_update`` time when direct)."""
        return len(self.latencies) / self.busy

    def round_rate(self) -> float:
        """Updates per second in the latest timed round."""
        updates, seconds, _ = self.rounds[-1]
        return updates / seconds

    def cpu_rate(self) -> float:
        """Updates per second of this process's CPU time, over all timed rounds."""
        return sum(r[0] for r in self.rounds) / sum(r[2] for r in self.rounds)

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
                number = number_key(number)
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

    It sends the same HTML and the same keyboard (built the way the bot builds it) the way the bot sends it
    (``bot.telegram.bot.reply_html``), but does no look-up and no rendering, so comparing the status path with
    it isolates what the status handler itself costs.
    """

    def __init__(self) -> None:
        self.replies: dict[str, tuple[str, InlineKeyboardMarkup | None]] = {}

    def learn(self, text: str, message: SentMessage) -> None:
        if text in self.replies:
            return
        rows = tuple(tuple(Button(b.label, b.callback_data or "") for b in row) for row in message.buttons)
        # the bot's own keyboard cache: the same object the status path sent, and no second copy in memory
        self.replies[text] = (message.html, keyboard(Rendered(message.html, rows)))

    async def __call__(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.text:
            html, markup = self.replies[message.text]
            await reply_html(message, html, markup)


def build_baseline(
    emulator: BotApiEmulator, callback: Any, *, lean: bool = False
) -> Application[Any, Any, Any, Any, Any, Any]:
    """A bare PTB bot with one text handler and an Updater, on ``emulator``, built the way the sandbox builds.

    ``lean``: its bot is the application's ``ProposalBot`` (so ``reply_html`` works), not PTB's ``ExtBot``.
    """
    # the ExtBot the builder would make from these settings (no defaults, no rate limiter), or the bot's subclass
    bot_class = ProposalBot if lean else ExtBot
    app = ApplicationBuilder().bot(bot_class(**build_bot_kwargs(emulator))).build()
    app.add_handler(MessageHandler(filters.TEXT, callback))
    return app


Feed = Callable[[Side, list[str]], Awaitable[list[tuple[float, float]]]]


async def _feed_direct(side: Side, texts: list[str]) -> list[tuple[float, float]]:
    """Hand each update to ``process_update``; (latency, busy time) per update."""
    sent = _sent(side)
    payloads = [side.emulator.message_update(side.user, text) for text in texts]  # built before the clock starts
    app = side.app
    timings = []
    for text, payload in zip(texts, payloads, strict=True):
        before = len(sent)
        started = time.perf_counter()
        await app.process_update(Update.de_json(payload, app.bot))
        done = time.perf_counter()
        _expect_one_reply(side, text, sent, before)
        timings.append((sent.stamps[before] - started, done - started))
    return timings


async def _feed_polling(side: Side, texts: list[str]) -> list[tuple[float, float]]:
    """Put each update on the getUpdates queue and wait for its reply; (latency, wall time) per update."""
    sent = _sent(side)
    payloads = [side.emulator.message_update(side.user, text) for text in texts]
    timings = []
    previous = time.perf_counter()
    for text, payload in zip(texts, payloads, strict=True):
        before = len(sent)
        sent.arrived.clear()
        started = time.perf_counter()
        side.emulator.enqueue(payload)
        while len(sent) == before:
            try:
                await asyncio.wait_for(sent.arrived.wait(), REPLY_TIMEOUT_S)
            except TimeoutError:
                raise RuntimeError(f"{side.name}: no reply to {text!r} within {REPLY_TIMEOUT_S:.0f} s") from None
            sent.arrived.clear()
        _expect_one_reply(side, text, sent, before)
        done = sent.stamps[before]
        # wall time from the previous reply to this one: what a user sending one update after another sees
        timings.append((done - started, done - previous))
        previous = done
    return timings


def _sent(side: Side) -> TimedSent:
    sent = side.emulator.sent
    assert isinstance(sent, TimedSent)
    return sent


def _expect_one_reply(side: Side, text: str, sent: TimedSent, before: int) -> None:
    if len(sent) != before + 1:
        raise RuntimeError(f"{side.name}: expected one reply to {text!r}, got {len(sent) - before}")


async def _run_side(side: Side, texts: list[str], feed: Feed, *, record: bool, learn: Replay | None = None) -> None:
    sent = _sent(side)
    start = len(sent)
    cpu_started = time.process_time()
    timings = await feed(side, texts)
    cpu = time.process_time() - cpu_started
    for text, message, (latency, busy) in zip(texts, sent[start:], timings, strict=True):
        if learn is not None:
            learn.learn(text, message)
        if record:
            side.latencies.append(latency)
            side.busy += busy
            side.kinds.setdefault(reply_kind(message), []).append(latency)
    if record:
        side.rounds.append((len(timings), sum(busy for _, busy in timings), cpu))
    # the emulator's record is the harness's memory, not the bot's: drop it so RSS measures the bot
    side.emulator.forget()


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


async def _rounds(
    harness: str,
    sides: dict[str, Side],
    replay: Replay,
    texts: list[str],
    args: Any,
    profiler: cProfile.Profile | None,
) -> None:
    """Alternate the three sides round by round; status always runs right before replay, which learns from it."""
    feed: Feed = _feed_polling if harness == "polling" else _feed_direct
    echo, status, replay_side = sides["echo"], sides["status"], sides["replay"]
    rounds = max(1, min(args.rounds, len(texts)))
    size = -(-len(texts) // rounds)
    gc.collect()
    for r in range(rounds):
        batch = texts[r * size : (r + 1) * size]
        if not batch:
            break
        if r % 2:
            await _run_side(echo, batch, feed, record=True)
        if profiler is not None:
            profiler.enable()
        await _run_side(status, batch, feed, record=True, learn=replay)
        if profiler is not None:
            profiler.disable()
        await _run_side(replay_side, batch, feed, record=True)
        if not r % 2:
            await _run_side(echo, batch, feed, record=True)
        rates = {side.name: side.round_rate() for side in (echo, status, replay_side)}
        print(
            f"status ({harness}): round {r + 1}/{rounds}: updates/s echo {rates['echo']:.0f}, "
            f"status {rates['status']:.0f}, replay {rates['replay']:.0f}; "
            f"status/echo {rates['status'] / rates['echo']:.3f}",
            flush=True,
        )


def _figures(sides: dict[str, Side]) -> dict[str, Any]:
    echo, status, replay_side = sides["echo"], sides["status"], sides["replay"]
    figures = status.figures()
    return {
        "throughput_ratio_vs_echo": round(status.rate / echo.rate, 3),
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "echo_p50_ms": echo.figures()["p50_ms"],
        "echo_p99_ms": echo.figures()["p99_ms"],
        "echo_updates_per_s": echo.figures()["updates_per_s"],
        "status_updates_per_s": figures["updates_per_s"],
        # the same ratio round by round (each status round sits next to an echo round): robust to a burst of
        # load from the machine's neighbours landing on one side's round
        "throughput_ratio_round_median": round(
            statistics.median(
                (su / ss) / (eu / es) for (su, ss, _), (eu, es, _) in zip(status.rounds, echo.rounds, strict=True)
            ),
            3,
        ),
        "throughput_ratio_vs_replay": round(status.rate / replay_side.rate, 3),
        "cpu_ratio_vs_echo": round(status.cpu_rate() / echo.cpu_rate(), 3),
        "replay_p50_ms": replay_side.figures()["p50_ms"],
        "replay_updates_per_s": replay_side.figures()["updates_per_s"],
        "reply_kinds": {
            kind: {"count": len(v), "p50_ms": _ms(statistics.median(v)), "p99_ms": _ms(_percentile(v, 0.99))}
            for kind, v in sorted(status.kinds.items())
        },
    }


async def run(args: argparse.Namespace, db: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    settings = load_settings(database_url=seeding.sqlite_url(db))
    harnesses = HARNESSES if args.harness == "both" else (args.harness,)
    async with Sandbox(settings, at=AT, polling=True) as box:
        box.emulator.sent = TimedSent(box.emulator.sent)
        await box.deps.tokenizer_loaded()  # jieba loads in a thread at start-up; never time against it
        replay = Replay()
        emulators = {"status": box.emulator} | {name: BotApiEmulator(now=box.clock.now) for name in ("echo", "replay")}
        baselines = {
            "echo": build_baseline(emulators["echo"], _echo),
            "replay": build_baseline(emulators["replay"], replay, lean=True),
        }
        users: dict[str, SandboxUser] = {"status": await box.use("public")}
        for name, app in baselines.items():
            emulators[name].sent = TimedSent()
            users[name] = emulators[name].add_user(user_id=box.role.user_id, first_name="访客", language_code="zh-hans")
            await app.initialize()
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0)
        profiler = cProfile.Profile() if args.profile else None
        results: dict[str, dict[str, Any]] = {}
        try:
            apps = {"status": box.app} | baselines
            texts = lookup_texts(db, args.warmup + args.updates, rng)
            warm, timed = texts[: args.warmup], texts[args.warmup :]
            start_rss = 0.0
            for harness in harnesses:
                sides = {name: Side(name, apps[name], emulators[name], users[name]) for name in apps}
                feed: Feed = _feed_polling if harness == "polling" else _feed_direct
                print(f"status ({harness}): warming up with {len(warm)} updates per side", flush=True)
                await _run_side(sides["echo"], warm, feed, record=False)
                await _run_side(sides["status"], warm, feed, record=False, learn=replay)
                await _run_side(sides["replay"], warm, feed, record=False)
                start_rss = start_rss or rss_mb()[0]
                await _rounds(harness, sides, replay, timed, args, profiler)
                results[harness] = _figures(sides)
        finally:
            for app in baselines.values():
                assert app.updater is not None
                await app.updater.stop()
                await app.stop()
                await app.shutdown()
        violations = [v for emulator in emulators.values() for v in emulator.violations]
        current_rss, peak_rss = rss_mb()
    if profiler is not None:
        profiler.dump_stats(args.profile)
        print(f"status: cProfile of the status rounds written to {args.profile}", flush=True)

    primary = results[harnesses[0]]
    return {
        "throughput_ratio_vs_echo": primary["throughput_ratio_vs_echo"],
        "p50_ms": primary["p50_ms"],
        "p99_ms": primary["p99_ms"],
        "items": args.items,
        "harness": harnesses[0],
        **{k: v for k, v in primary.items() if k not in {"throughput_ratio_vs_echo", "p50_ms", "p99_ms"}},
        **{name: figures for name, figures in results.items() if name != harnesses[0]},
        "rss_mb": current_rss,
        "rss_before_traffic_mb": start_rss,
        "peak_rss_mb": peak_rss,
        "updates": args.updates,
        "spec_violations": len(violations),
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench status", description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000, help="synthetic items in the database (100000)")
    parser.add_argument("--updates", type=int, default=5000, help="timed look-ups, as many per baseline (5000)")
    parser.add_argument("--seed", type=int, default=0, help="corpus and look-up seed (0)")
    parser.add_argument("--rounds", type=int, default=20, help="interleaved rounds (20)")
    parser.add_argument("--warmup", type=int, default=1000, help="untimed updates per side and harness first (1000)")
    parser.add_argument(
        "--harness",
        choices=(*HARNESSES, "both"),
        default="both",
        help="how updates go in: polling (getUpdates, the contract's figures), direct (process_update), or both "
        "(default; the top-level figures are polling's, direct's are under \"direct\")",
    )
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
