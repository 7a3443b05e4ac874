"""Bulk-load N synthetic items (``bench.corpus``) into a database, and cache prepared SQLite files.

How it stays fast (100k items, about a million rows, in well under a minute on two idle cores):
- A producer process generates the corpus and turns it into rows with ids assigned up front (the database
  starts empty), so nothing is read back. Each table's INSERT is compiled once by SQLAlchemy Core and every
  value goes through the column type's own bind processor, so the rows are stored exactly as a Core insert
  would store them; this process then only runs the driver's ``executemany``.
- Meanwhile this process inserts the previous chunk and writes its status cards with
  ``storage.cards.rebuild_cards`` (the builder every write path uses), one transaction per chunk.
- While loading a throw-away file, SQLite runs without journal, fsync or foreign-key checks.

A prepared SQLite file is cached under ``/tmp/proposal-bot-bench/`` keyed by (items, seed, schema revision, a
hash of the code that shapes the data), so repeated benchmark runs do not reload. It is built under a temporary
name and renamed into place, so an interrupted build never leaves a half-loaded cache.

``python -m bench.seeding --items N [--seed S]`` prepares (or finds) the cached file and prints its path last.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import itertools
import multiprocessing
import os
import random
import re
import resource
import subprocess
import sys
import time
import traceback
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.domain.clock import WorkCalendar, due_day
from bot.domain.lookup import number_key
from bot.domain.ratings import Rating
from storage.cards import rebuild_cards
from storage.engine import create_sessionmaker
from storage.migrate import script_heads, upgrade
from storage.models import (
    Assignment,
    Base,
    Deputy,
    Event,
    Feedback,
    Proposal,
    ProposalDeputy,
    Reply,
    Session,
    Unit,
)

if TYPE_CHECKING:
    from bench.corpus import SyntheticItem

CACHE_DIR = Path("/tmp/proposal-bot-bench")
CHUNK = 5000  # items per insert transaction: bounded memory, few commits
REPLY_MONTHS = 3  # the lead unit's clock (shanghai profile); co-handlers get one month
CO_MONTHS = 1
_ROOT = Path(__file__).resolve().parent.parent
# The code whose changes make a cached database stale.
_SHAPING_FILES = ("bench/seeding.py", "bench/corpus.py", "storage/cards.py", "storage/models.py")
_RESULTS = (
    ("解决或采纳", "A", 40),
    ("列入计划拟解决", "B", 20),
    ("正在解决", "B", 10),
    ("留作参考", "C", 15),
    ("因条件限制无法解决", "C", 15),
)
_RESULT_WEIGHTS = tuple(itertools.accumulate(weight for *_, weight in _RESULTS))
_SIGNERS = ("詹镭", "王建华", "李卫东", "张慧君", "陈振华", "刘晓峰", "周立", "吴刚", "孙华", "郑伟")
_BULK_PRAGMAS = (
    "PRAGMA journal_mode=OFF",
    "PRAGMA synchronous=OFF",
    "PRAGMA foreign_keys=OFF",
    "PRAGMA cache_size=-262144",  # 256 MiB
    "PRAGMA temp_store=MEMORY",
)
_REPLIED_ON = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日\s*$")
_ANSWER = re.compile(r"现答复如下：\s*(.*?)\s*感谢", re.DOTALL)

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class SeedStats:
    items: int
    rows: int
    cards: int
    seconds: float
    cpu_s: float  # this process: inserts and cards
    producer_cpu_s: float  # the producer process: corpus and rows, in parallel


def _quiet(_: str) -> None:
    return None


def schema_revision() -> str:
    return "+".join(sorted(script_heads()))


def cache_key(items: int, seed: int) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    for name in _SHAPING_FILES:
        digest.update((_ROOT / name).read_bytes())
    return f"items{items}-seed{seed}-rev{schema_revision()}-{digest.hexdigest()[:10]}"


def cached_path(items: int, seed: int = 0, *, cache_dir: Path = CACHE_DIR) -> Path:
    return cache_dir / f"{cache_key(items, seed)}.db"


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


# ---- building rows --------------------------------------------------------------------------------------------


class _Ids:
    """Dense ids for named rows (deputies, units, sessions), assigned in first-seen order."""

    def __init__(self) -> None:
        self.ids: dict[Any, int] = {}

    def of(self, key: Any) -> tuple[int, bool]:
        """The id of ``key`` and whether it is new (its row still has to be inserted)."""
        found = self.ids.get(key)
        if found is not None:
            return found, False
        found = self.ids[key] = len(self.ids) + 1
        return found, True


@dataclass(slots=True)
class _Loader:
    calendar: WorkCalendar
    rng: random.Random
    sessions: _Ids
    deputies: _Ids
    units: _Ids
    due_cache: dict[tuple[date, int], date]
    next_id: dict[str, int]

    def _due(self, start: date, months: int) -> date:
        key = (start, months)
        day = self.due_cache.get(key)
        if day is None:
            day = self.due_cache[key] = due_day(start, months=months, calendar=self.calendar).day
        return day

    def _next(self, table: str) -> int:
        value = self.next_id.get(table, 1)
        self.next_id[table] = value + 1
        return value

    def rows(self, first_id: int, items: Iterable[SyntheticItem]) -> dict[str, list[dict[str, Any]]]:
        """Every row of a chunk of items, by table, in foreign-key order."""
        out: dict[str, list[dict[str, Any]]] = {
            name: []
            for name in (
                "sessions",
                "deputies",
                "units",
                "proposals",
                "proposal_deputies",
                "assignments",
                "replies",
                "feedback",
                "events",
            )
        }
        rng = self.rng
        for offset, item in enumerate(items):
            pid = first_id + offset
            session_id, new = self.sessions.of((item.region, item.body, item.term, item.sitting))
            if new:
                out["sessions"].append(
                    {
                        "id": session_id,
                        "region": item.region,
                        "body": item.body,
                        "term": item.term,
                        "sitting": item.sitting,
                        "opened_on": None,
                    }
                )
            assigned_at = datetime.combine(item.assigned_on, datetime.min.time(), UTC) + timedelta(hours=2)
            replied_on = _replied_on(item.reply_text)
            rating = rng.choice([r.value for r in Rating]) if replied_on is not None and rng.random() < 0.5 else None
            if replied_on is not None:
                state = "closed" if rating else "replied"
            else:
                state = "in_progress" if rng.random() < 0.7 else "assigned"
            out["proposals"].append(
                {
                    "id": pid,
                    "session_id": session_id,
                    "number": item.number,
                    "number_key": number_key(item.number),
                    "kind": item.kind,
                    "title": item.title,
                    "content": item.content,
                    "state": state,
                    "key_supervised": rng.random() < 0.05,
                    "public": True,
                    "created_at": assigned_at,
                    "updated_at": assigned_at,
                }
            )
            for position, name in enumerate(item.deputies):
                deputy_id, new = self.deputies.of(name)
                if new:
                    out["deputies"].append({"id": deputy_id, "name": name})
                out["proposal_deputies"].append(
                    {
                        "id": self._next("proposal_deputies"),
                        "proposal_id": pid,
                        "deputy_id": deputy_id,
                        "role": "lead" if position == 0 else "co_signer",
                        "position": position,
                    }
                )
            lead_id = 0
            for role, unit, months in [("lead", item.lead_unit, REPLY_MONTHS)] + [
                ("co", u, CO_MONTHS) for u in item.co_units
            ]:
                unit_id, new = self.units.of(unit)
                if new:
                    out["units"].append({"id": unit_id, "name": unit})
                lead_id = lead_id or unit_id
                due = self._due(item.assigned_on, months)
                out["assignments"].append(
                    {
                        "id": self._next("assignments"),
                        "proposal_id": pid,
                        "unit_id": unit_id,
                        "role": role,
                        "received_on": item.assigned_on,
                        "due_on": due,
                        "original_due_on": due,
                        "active": True,
                    }
                )
            events: list[tuple[str, str, str, datetime, dict[str, Any]]] = [
                ("assign", "draft", "assigned", assigned_at, {})
            ]
            if state != "assigned":
                events.append(("start", "assigned", "in_progress", assigned_at + timedelta(days=3), {}))
            if replied_on is not None and item.reply_text is not None:
                replied_at = datetime.combine(replied_on, datetime.min.time(), UTC) + timedelta(hours=2)
                result, result_class, _ = rng.choices(_RESULTS, cum_weights=_RESULT_WEIGHTS)[0]
                reply_id = self._next("replies")
                answer = _ANSWER.search(item.reply_text)
                out["replies"].append(
                    {
                        "id": reply_id,
                        "proposal_id": pid,
                        "unit_id": lead_id,
                        "letter_type": "reply",
                        "result_text": result,
                        "result_class": result_class,
                        "signer": rng.choice(_SIGNERS),
                        "replied_on": replied_on,
                        "public": True,
                        "summary": (answer.group(1) if answer else item.reply_text)[:120],
                        "body": item.reply_text,
                        "file_name": None,
                        "superseded": False,
                        "created_at": replied_at,
                    }
                )
                events.append(("reply", "in_progress", "replied", replied_at, {}))
                if rating is not None:
                    rated_at = replied_at + timedelta(days=rng.randint(3, 20))
                    out["feedback"].append(
                        {
                            "id": self._next("feedback"),
                            "reply_id": reply_id,
                            "deputy_id": self.deputies.ids[item.deputies[0]],
                            "rating": rating,
                            "reason": None,
                            "created_at": rated_at,
                        }
                    )
                    events.append(("rate", "replied", "closed", rated_at, {"rating": rating}))
            for action, before, after, at, detail in events:
                out["events"].append(
                    {
                        "id": self._next("events"),
                        "proposal_id": pid,
                        "action": action,
                        "before_state": before,
                        "after_state": after,
                        "actor": "bench",
                        "at": at,
                        "detail": detail,
                    }
                )
        return out


def _replied_on(reply_text: str | None) -> date | None:
    if reply_text is None:
        return None
    match = _REPLIED_ON.search(reply_text)
    return date(int(match[1]), int(match[2]), int(match[3])) if match else None


_TABLES: dict[str, type[Base]] = {
    "sessions": Session,
    "deputies": Deputy,
    "units": Unit,
    "proposals": Proposal,
    "proposal_deputies": ProposalDeputy,
    "assignments": Assignment,
    "replies": Reply,
    "feedback": Feedback,
    "events": Event,
}

_Processor = Callable[[Any], Any] | None
# One chunk as the producer sends it: (first proposal id, item count, [(INSERT sql, parameter tuples), ...]).
_Chunk = tuple[int, int, list[tuple[str, list[tuple[Any, ...]]]]]


class _Encoder:
    """Turns row dicts into the driver's parameter tuples for one dialect, as SQLAlchemy itself would.

    Each table's INSERT is compiled once by SQLAlchemy Core, and every value goes through the column type's
    own bind processor (dates, aware UTC datetimes, JSON), so the stored values are exactly what an ordinary
    Core insert stores. This runs in the producer process, off the loading process's critical path.
    """

    def __init__(self, drivername: str) -> None:
        self.dialect = make_url(f"{drivername}://").get_dialect()()
        if not self.dialect.positional:
            raise ValueError(f"{drivername}: bulk loading needs a driver with positional parameters")
        self._compiled: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...], list[_Processor]]] = {}

    def encode(self, table: str, rows: list[dict[str, Any]]) -> tuple[str, list[tuple[Any, ...]]]:
        """The INSERT for ``table`` and one parameter tuple per row (all rows have the same keys)."""
        keys = tuple(rows[0])
        compiled = self._compiled.get((table, keys))
        if compiled is None:
            model = _TABLES[table]
            statement = insert(model).compile(dialect=self.dialect, column_keys=list(keys))
            columns = model.__table__.columns
            order = tuple(statement.positiontup or ())
            processors: list[_Processor] = [
                _memoized(columns[key].type.dialect_impl(self.dialect).bind_processor(self.dialect)) for key in order
            ]
            compiled = self._compiled[(table, keys)] = (str(statement), order, processors)
        sql, order, processors = compiled
        values = itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))
        converted = [(i, process) for i, process in enumerate(processors) if process is not None]
        if not converted:
            return sql, [values(row) for row in rows]
        encoded: list[tuple[Any, ...]] = []
        for row in rows:
            params = list(values(row))
            for i, process in converted:
                params[i] = process(params[i])
            encoded.append(tuple(params))
        return sql, encoded


def _memoized(process: _Processor, limit: int = 100_000) -> _Processor:
    """``process`` with a memo: dates and times repeat a lot across items, and formatting them dominates."""
    if process is None:
        return None
    memo: dict[Any, Any] = {}

    def run(value: Any) -> Any:
        try:
            return memo[value]
        except KeyError:
            result = process(value)
            if len(memo) < limit:
                memo[value] = result
            return result
        except TypeError:  # unhashable, such as a JSON dict
            return process(value)

    return run


def _produce(drivername: str, items: int, seed: int, out: Any) -> None:
    """The producer process: generate the corpus, build every table's rows and encode them, chunk by chunk."""
    try:
        encoder = _Encoder(drivername)
        loader = _Loader(
            calendar=WorkCalendar(),
            rng=random.Random(seed),
            sessions=_Ids(),
            deputies=_Ids(),
            units=_Ids(),
            due_cache={},
            next_id={},
        )
        first_id = 1
        # imported here: numpy comes with the corpus, and a bench that only reads a cached file has no use for it
        from bench.corpus import generate

        for chunk in _chunks(generate(items, seed=seed), CHUNK):
            tables = loader.rows(first_id, chunk)
            out.put((first_id, len(chunk), [encoder.encode(name, rows) for name, rows in tables.items() if rows]))
            first_id += len(chunk)
        out.put(None)
    except BaseException:
        out.put(traceback.format_exc())
        raise


def _receive(queue: Any, producer: Any) -> _Chunk | None:
    """The next chunk from the producer (None at the end); raises if it failed or died."""
    while True:
        try:
            message = queue.get(timeout=1.0)
        except Empty:
            if not producer.is_alive():
                raise RuntimeError(f"the corpus producer died (exit code {producer.exitcode})") from None
            continue
        if isinstance(message, str):
            raise RuntimeError(f"the corpus producer failed:\n{message}")
        chunk: _Chunk | None = message
        return chunk


def _chunks(items: Iterator[SyntheticItem], size: int) -> Iterator[list[SyntheticItem]]:
    chunk: list[SyntheticItem] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _ListQueue(list[Any]):
    """Collects what ``_produce`` sends when it runs in this process (small loads: no process to start)."""

    def put(self, message: Any) -> None:
        self.append(message)


async def _produced(drivername: str, items: int, seed: int) -> AsyncGenerator[_Chunk, None]:
    """The encoded chunks: from a producer process for big loads, made in this process for one chunk or less."""
    if items <= CHUNK:
        messages = _ListQueue()
        _produce(drivername, items, seed, messages)
        for message in messages:
            if message is not None:
                yield message
        return
    context = multiprocessing.get_context("spawn")  # never fork a process that runs threads (aiosqlite)
    queue = context.Queue(maxsize=2)
    producer = context.Process(target=_produce, args=(drivername, items, seed, queue), name="bench-seeding")
    producer.daemon = True
    producer.start()
    try:
        while (chunk := await asyncio.to_thread(_receive, queue, producer)) is not None:
            yield chunk
    finally:
        producer.join(timeout=5)
        if producer.is_alive():
            producer.kill()
            producer.join()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def load(engine: AsyncEngine, items: int, *, seed: int = 0, progress: Progress = _quiet) -> SeedStats:
    """Migrate the (empty) database behind ``engine``, then load ``items`` synthetic items and their cards.

    A producer process generates and encodes the rows while this one inserts the previous chunk and writes
    its cards with ``rebuild_cards``: on two cores the corpus costs about as much as the database work.
    Each chunk is one transaction.
    """
    started, cpu_started, children_started = time.perf_counter(), time.process_time(), _children_cpu()
    await upgrade(engine)
    sessionmaker = create_sessionmaker(engine)
    loaded = rows = cards = 0
    async with contextlib.aclosing(_produced(engine.url.drivername, items, seed)) as chunks:
        async for first_id, count, tables in chunks:
            async with sessionmaker.begin() as session:
                conn = await session.connection()
                for sql, parameters in tables:
                    await conn.exec_driver_sql(sql, parameters)
                    rows += len(parameters)
                cards += await rebuild_cards(session, proposal_ids=range(first_id, first_id + count))
            loaded += count
            elapsed = time.perf_counter() - started
            progress(f"seeding: {loaded}/{items} items, {rows} rows, {cards} cards, {elapsed:.1f} s")
    stats = SeedStats(
        items=loaded,
        rows=rows,
        cards=cards,
        seconds=time.perf_counter() - started,
        cpu_s=time.process_time() - cpu_started,
        producer_cpu_s=_children_cpu() - children_started,
    )
    progress(
        f"seeding: done in {stats.seconds:.1f} s; CPU {stats.cpu_s:.1f} s loading, "
        f"{stats.producer_cpu_s:.1f} s in the corpus producer (on an idle 2-core machine the two overlap)"
    )
    return stats


def _bulk_engine(path: Path) -> AsyncEngine:
    """An engine for loading a throw-away file: no journal, no fsync, a big page cache, no FK checks.

    The ids are assigned consistently here, and a crash loses only the partial file, so the safety the app
    needs costs time for nothing while loading. The file is switched to WAL, as the app expects, at the end.
    """
    engine = create_async_engine(sqlite_url(path))

    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in _BULK_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    event.listen(engine.sync_engine, "connect", _pragmas)
    return engine


async def build_file(path: Path, items: int, *, seed: int = 0, progress: Progress = _quiet) -> SeedStats:
    """Load ``items`` items into a new SQLite file at ``path`` (built aside, then renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.partial-{os.getpid()}")
    for leftover in (partial, *(partial.with_name(partial.name + s) for s in ("-wal", "-shm", "-journal"))):
        leftover.unlink(missing_ok=True)
    engine = _bulk_engine(partial)
    try:
        stats = await load(engine, items, seed=seed, progress=progress)
        async with engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
            await conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    finally:
        await engine.dispose()
    os.replace(partial, path)
    _prune(path)
    return stats


def _prune(current: Path) -> None:
    """Drop cached files for the same items and seed built by older code: they are stale and large."""
    prefix = current.name.split("-rev", 1)[0] + "-rev"
    for old in current.parent.glob(f"{prefix}*.db"):
        if old != current:
            old.unlink(missing_ok=True)


async def prepared_database(
    items: int, *, seed: int = 0, cache_dir: Path = CACHE_DIR, progress: Progress = _quiet
) -> Path:
    """The cached SQLite file with ``items`` items, built in this process if it is missing."""
    path = cached_path(items, seed, cache_dir=cache_dir)
    if path.exists():
        progress(f"seeding: reusing {path}")
        return path
    await build_file(path, items, seed=seed, progress=progress)
    return path


def ensure_database(items: int, *, seed: int = 0, cache_dir: Path = CACHE_DIR, progress: Progress = _quiet) -> Path:
    """Like ``prepared_database``, but a missing file is built in a child process.

    Benchmarks that report memory call this, so the corpus and the loader never inflate their own RSS.
    """
    path = cached_path(items, seed, cache_dir=cache_dir)
    if path.exists():
        progress(f"seeding: reusing {path}")
        return path
    progress(f"seeding: building {path} in a child process")
    command = [sys.executable, "-m", "bench.seeding", "--items", str(items), "--seed", str(seed)]
    command += ["--cache-dir", str(cache_dir)]
    completed = subprocess.run(command, cwd=_ROOT, capture_output=True, text=True, check=False)
    for line in completed.stdout.splitlines()[:-1]:
        progress(line)
    if completed.returncode != 0 or not path.exists():
        raise RuntimeError(f"seeding failed ({completed.returncode}): {completed.stderr.strip()[-2000:]}")
    return path


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench.seeding", description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=CACHE_DIR)
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if a cached file exists")
    args = parser.parse_args(argv)
    path = cached_path(args.items, args.seed, cache_dir=args.cache_dir)
    if args.rebuild or not path.exists():
        stats = asyncio.run(build_file(path, args.items, seed=args.seed, progress=lambda s: print(s, flush=True)))
        return {"path": str(path), "items": stats.items, "rows": stats.rows, "seconds": round(stats.seconds, 2)}
    return {"path": str(path), "items": args.items, "cached": True}


if __name__ == "__main__":
    result = main(sys.argv[1:])
    print(result["path"])
