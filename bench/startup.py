"""``python -m bench startup``: from spawning ``proposal-bot run`` to its first answered command, for real.

Method, per run:
- A fresh emulator serves the Bot API on 127.0.0.1 (``serve_loopback``) from this process, with a
  ``/status 018`` message already queued for getUpdates.
- ``.venv/bin/proposal-bot run`` starts as a subprocess with a valid-looking token, the loopback URL as
  ``PROPOSAL_BOT_API_BASE_URL`` and a SQLite database holding the demo data (prepared once, before any run,
  and migrated, so a run pays only the start-up check). Its working directory is a temporary one, so no
  ``.env`` applies.
- The project's packages are byte-compiled first, as installing a package does (this machine sets
  ``PYTHONDONTWRITEBYTECODE``, so an editable install would otherwise compile every module on every start).
- The clock stops when the emulator records the bot's reply to that chat; the reply must show item 018.
- The bot is then asked to stop (SIGTERM, which PTB handles as a graceful shutdown) and killed if it has
  not exited within ``--stop-timeout`` seconds.

The figure is the median over ``--runs``. The bot's own log of each run goes to the temporary directory.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.domain.clock import WorkCalendar
from bot.sandbox.demo import load_demo
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.transport import serve_loopback
from config.settings import load_settings
from storage.engine import create_engine, create_sessionmaker
from storage.migrate import upgrade

TOKEN = "123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
USER_ID = 20001
EXPECTED = "上海硅巷"  # the title of demo item 018
ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "storage", "config")


class TimedEmulator(BotApiEmulator):
    """The emulator, noting when each Bot API method is first called (for the start-up timeline)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.first_call: dict[str, float] = {}

    async def handle(
        self, method: str, params: Mapping[str, Any], files: Mapping[str, tuple[str, bytes]] | None = None
    ) -> tuple[int, dict[str, Any]]:
        self.first_call.setdefault(method, time.perf_counter())
        return await super().handle(method, params, files)


def _executable() -> list[str]:
    script = Path(sys.executable).with_name("proposal-bot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


async def prepare_database(path: Path) -> str:
    """A migrated SQLite file with the demo items, as of today (the bot runs on the system clock)."""
    url = f"sqlite+aiosqlite:///{path}"
    settings = load_settings(database_url=url)
    engine = create_engine(url)
    try:
        await upgrade(engine)
        today = datetime.now(settings.tz).date()
        await load_demo(
            create_sessionmaker(engine),
            calendar=WorkCalendar(),
            profile=settings.profile,
            today=today,
            tz=settings.tz,
        )
    finally:
        await engine.dispose()
    return url


def _environment(api_url: str, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROPOSAL_BOT_")}
    env.update(
        PROPOSAL_BOT_TOKEN=TOKEN,
        PROPOSAL_BOT_API_BASE_URL=api_url,
        PROPOSAL_BOT_DATABASE_URL=database_url,
        PYTHONUNBUFFERED="1",
    )
    return env


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def _stop(process: subprocess.Popen[bytes], grace: float) -> tuple[float, bool]:
    """SIGTERM, then SIGKILL after ``grace`` seconds: (seconds until it exited, whether it stopped by itself)."""
    started = time.perf_counter()
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    while process.poll() is None and time.perf_counter() - started < grace:  # noqa: ASYNC110 - polling a child
        await asyncio.sleep(0.02)
    graceful = process.poll() is not None
    if not graceful:
        process.kill()
        process.wait()
    return time.perf_counter() - started, graceful


async def one_run(database_url: str, workdir: Path, index: int, *, wait: float, grace: float) -> dict[str, Any]:
    """One start: spawn the bot, wait up to ``wait`` s for its reply, stop it (killed after ``grace`` s)."""
    emulator = TimedEmulator(now=lambda: datetime.now(UTC), max_poll_wait=1.0)
    server = await serve_loopback(emulator, host="127.0.0.1")
    user = emulator.add_user(user_id=USER_ID, first_name="访客", language_code="zh-hans", label="public")
    emulator.enqueue(emulator.message_update(user, "/status 018"))
    log = workdir / f"bot-run-{index}.log"
    try:
        with log.open("wb") as out:
            started = time.perf_counter()
            process = subprocess.Popen(  # noqa: ASYNC220 - spawning is what is timed; it returns at once
                [*_executable(), "run"],
                cwd=workdir,
                env=_environment(server.url, database_url),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                while not emulator.messages_to(user.chat_id):
                    if process.poll() is not None:
                        raise RuntimeError(f"proposal-bot exited with {process.returncode} first:\n{_tail(log)}")
                    if time.perf_counter() - started > wait:
                        raise RuntimeError(f"no reply within {wait} s:\n{_tail(log)}")
                    await asyncio.sleep(0.002)
                first_reply = time.perf_counter() - started
            finally:
                stop_s, graceful = await _stop(process, grace)
    finally:
        await server.stop()
    reply = emulator.messages_to(user.chat_id)[0].text
    if EXPECTED not in reply:
        raise RuntimeError(f"the first reply is not item 018's card: {reply[:200]!r}")
    calls = emulator.first_call
    return {
        "first_reply_s": first_reply,
        "first_request_s": calls["getMe"] - started if "getMe" in calls else None,
        "first_poll_s": calls["getUpdates"] - started if "getUpdates" in calls else None,
        "stop_s": stop_s,
        "graceful": graceful,
        "violations": emulator.violations,
    }


def compile_sources() -> None:
    """Byte-compile the project's packages (up-to-date files are skipped), as ``make run`` does."""
    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="proposal-bot-startup-"))
    compile_sources()
    try:
        database_url = await prepare_database(workdir / "demo.db")
        print(f"startup: demo database ready; {args.runs} runs of `{' '.join(_executable())} run`", flush=True)
        results = []
        for index in range(args.runs):
            result = await one_run(database_url, workdir, index, wait=args.timeout, grace=args.stop_timeout)
            results.append(result)
            print(
                f"startup: run {index + 1}: first Bot API request after {result['first_request_s'] or 0:.3f} s, "
                f"first getUpdates after {result['first_poll_s'] or 0:.3f} s, "
                f"first reply after {result['first_reply_s']:.3f} s, "
                f"stopped after {result['stop_s']:.2f} s{'' if result['graceful'] else ' (killed)'}",
                flush=True,
            )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"startup: logs kept in {workdir}", flush=True)
    firsts = [r["first_reply_s"] for r in results]
    return {
        "first_reply_s": round(statistics.median(firsts), 3),
        "runs": len(results),
        "first_reply_min_s": round(min(firsts), 3),
        "first_reply_max_s": round(max(firsts), 3),
        "first_request_s": _median_of(results, "first_request_s"),
        "first_poll_s": _median_of(results, "first_poll_s"),
        "stop_s": round(statistics.median(r["stop_s"] for r in results), 3),
        "stopped_gracefully": sum(bool(r["graceful"]) for r in results),
        "spec_violations": sum(len(r["violations"]) for r in results),
    }


def _median_of(results: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in results if r[key] is not None]
    return round(statistics.median(values), 3) if values else None


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench startup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs; the figure is their median (5)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the reply (30)")
    parser.add_argument("--stop-timeout", type=float, default=10.0, help="seconds to wait for a clean exit (10)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory with the bot's logs")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(run(args))
    raise SystemExit(130)
