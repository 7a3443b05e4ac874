"""``python -m bench search --items N [--db URL]``: the search service vs a LIKE scan on the same data.

Method:
- The data is the synthetic corpus of ``bench.seeding`` (words drawn by jieba's dictionary frequencies, mixed with
  domain words and per-item topic words: DESIGN §6's realistic selectivity), with its search index written by the
  same ``rebuild_cards`` every write path uses. On SQLite it is the cached file (copied, so the cache stays
  pristine); ``--db`` takes a PostgreSQL URL, whose schema is reset and loaded (use a throw-away database;
  ``--reuse`` keeps one that already holds ``--items`` items).
- Queries are 1 to 3 words typed as a user would, separated by spaces, parsed by the bot's own ``parse_query``
  (before the clock starts). Half are *common*: words that many items hold (a document frequency of at least 1 %),
  combined at random, so some find nothing together and the service relaxes them word by word. Half are *rare*:
  a word held by fewer than 0.5 % of items, with the other words taken from an item that holds it.
- Timed: ``bot.services.search.search_page`` for a public viewer, page 0, in its own session, as the handler
  calls it (the index query, the count, any relaxing, the cards and the snippets of the 5 hits).
- The LIKE peer answers the same question the naive way (DESIGN §6): for the words the service finally searched,
  it scans every item with ``LIKE '%w%'`` per word (AND) over the title, the content and the public reply text,
  ranks the matches by hit count and takes the top 5 (with the total); when the service left words out, the peer
  first scans for all of them and for each one alone, as the service did. It runs on a subset of the queries
  (``--like-queries``), and ``speedup_vs_like`` is its total time over the service's on that same subset.
  ``total_agreement`` is the share of those queries where both find the same number of items (LIKE matches
  substrings, the index whole jieba words, so they may differ).
- Rounds alternate common and rare queries; a warm-up runs first.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bench import seeding
from bot.domain.access import PUBLIC
from bot.services.search import Query, parse_query, search_page
from bot.text import Tokenizer, shared_tokenizer
from storage.engine import create_engine, create_sessionmaker, is_sqlite

TODAY = date(2025, 3, 3)
COMMON_SHARE = 0.01  # a common word is held by at least this share of items
RARE_SHARE = 0.005  # a rare word by fewer than this share (or than 3 items in a tiny corpus)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(slots=True)
class Sample:
    kind: str  # common | rare
    text: str
    query: Query
    words: tuple[str, ...] = ()  # what the service finally searched for
    total: int = 0
    ms: list[float] | None = None
    like_ms: float | None = None
    like_total: int | None = None


async def _document_frequencies(session: AsyncSession, items: int) -> dict[str, int]:
    """Index words and how many public documents hold them, from a sample of items (scaled up)."""
    conn = await session.connection()
    sample = min(items, 3000)
    step = max(1, items // sample)
    rows = await conn.execute(
        text("SELECT title, content FROM proposals WHERE id % :step = 0 ORDER BY id LIMIT :n"),
        {"step": step, "n": sample},
    )
    tokenizer = shared_tokenizer()
    counts: dict[str, int] = {}
    seen = 0
    for title, content in rows:
        seen += 1
        for word in set(tokenizer.index_words(f"{title} {content}")):
            counts[word] = counts.get(word, 0) + 1
    scale = items / max(seen, 1)
    return {w: round(n * scale) for w, n in counts.items() if len(w) >= 2 and not w.isdigit()}


async def make_queries(session: AsyncSession, *, items: int, count: int, rng: random.Random) -> list[Sample]:
    tokenizer = shared_tokenizer()
    df = await _document_frequencies(session, items)
    common = sorted(w for w, n in df.items() if n >= COMMON_SHARE * items)
    rare = sorted(w for w, n in df.items() if 1 <= n < max(RARE_SHARE * items, 3))
    if not common or not rare:
        raise RuntimeError(f"the corpus has too few common ({len(common)}) or rare ({len(rare)}) words")
    conn = await session.connection()
    samples: list[Sample] = []
    for n in range(count):
        size = rng.choice((1, 2, 2, 3))
        if n % 2 == 0:
            kind, words = "common", rng.sample(common, size)
        else:
            kind, first = "rare", rng.choice(rare)
            row = (
                await conn.execute(
                    text("SELECT title, content FROM proposals WHERE title LIKE :w OR content LIKE :w LIMIT 1"),
                    {"w": f"%{first}%"},
                )
            ).first()
            others = [w for w in dict.fromkeys(tokenizer.index_words(f"{row[0]} {row[1]}")) if w in df] if row else []
            others = [w for w in others if w != first and first not in w and w not in first]
            words = [first, *rng.sample(others, min(size - 1, len(others)))]
        typed = " ".join(words)
        samples.append(Sample(kind, typed, await parse_query(session, typed, tokenizer=tokenizer)))
    return samples


# ---- the LIKE peer -------------------------------------------------------------------------------------------


def _like_sql(count: int, *, limit: int) -> str:
    columns = ("p.title", "p.content", "COALESCE(r.body, '')")
    where = " AND ".join(
        "(" + " OR ".join(f"{c} LIKE :p{i}" for c in columns) + ")" for i in range(count)
    )  # every word somewhere (AND)
    hits = " + ".join(
        f"(LENGTH({c}) - LENGTH(REPLACE({c}, :w{i}, ''))) / LENGTH(:w{i})" for i in range(count) for c in columns
    )
    return (
        f"SELECT p.id, {hits} AS hits, count(*) OVER () FROM proposals p "
        "LEFT JOIN replies r ON r.proposal_id = p.id AND r.letter_type = 'reply' AND r.superseded = :no "
        "AND r.public = :yes "
        f"WHERE p.public = :yes AND {where} ORDER BY hits DESC, p.id LIMIT {limit}"
    )


async def like_scan(session: AsyncSession, words: list[str], *, limit: int = 5) -> tuple[list[int], int]:
    """The top ``limit`` public items holding every word (substring), by hit count, and how many there are."""
    params: dict[str, Any] = {"no": False, "yes": True}
    for i, word in enumerate(words):
        params[f"p{i}"] = f"%{word}%"
        params[f"w{i}"] = word
    rows = (await session.execute(text(_like_sql(len(words), limit=limit)), params)).all()
    return [int(r[0]) for r in rows], int(rows[0][2]) if rows else 0


async def like_answer(session: AsyncSession, sample: Sample) -> int:
    """The same question as the service's, answered with LIKE scans: all words, then each alone if it relaxed."""
    asked = list(sample.query.words)
    _, total = await like_scan(session, asked)
    if list(sample.words) != asked:
        for word in asked:
            await like_scan(session, [word], limit=1)
        _, total = await like_scan(session, list(sample.words))
    return total


# ---- running ---------------------------------------------------------------------------------------------------


async def _time_service(sm: async_sessionmaker[AsyncSession], sample: Sample) -> float:
    async with sm() as session:
        started = time.perf_counter()
        page = await search_page(session, viewer=PUBLIC, query=sample.query, page=0, today=TODAY)
        elapsed = (time.perf_counter() - started) * 1000
    sample.words, sample.total = page.words, page.total
    return elapsed


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def _prepare_pg(url: str, items: int, *, reuse: bool) -> None:
    engine = create_engine(url)
    try:
        if reuse:
            async with engine.connect() as conn:
                try:
                    held = await conn.scalar(text("SELECT count(*) FROM proposals"))
                except DBAPIError:  # no schema yet: load it
                    held = None
            if held == items:
                _progress(f"search: reusing {url} with {items} items")
                return
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            await conn.exec_driver_sql("CREATE SCHEMA public")
        await seeding.load(engine, items, progress=_progress)
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM ANALYZE")
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    engine: AsyncEngine = create_engine(url)
    rng = random.Random(args.seed)
    try:
        sm = create_sessionmaker(engine)
        tokenizer: Tokenizer = shared_tokenizer()
        tokenizer.index_words("预热")  # jieba loads before the clock starts
        async with sm() as session:
            samples = await make_queries(session, items=args.items, count=args.queries, rng=rng)
            warm = await make_queries(session, items=args.items, count=args.warmup, rng=random.Random(args.seed + 1))
        for sample in warm:
            await _time_service(sm, sample)
        for sample in samples:
            sample.ms = []
        for _ in range(args.rounds):
            for sample in samples:
                assert sample.ms is not None
                sample.ms.append(await _time_service(sm, sample))
        like = samples[: args.like_queries]
        for sample in like:
            async with sm() as session:
                started = time.perf_counter()
                sample.like_total = await like_answer(session, sample)
                sample.like_ms = (time.perf_counter() - started) * 1000
    finally:
        await engine.dispose()
    every = [ms for s in samples for ms in (s.ms or [])]
    by_kind = {kind: [ms for s in samples if s.kind == kind for ms in (s.ms or [])] for kind in ("common", "rare")}
    # the service's time per query: the median of its rounds, compared with the one LIKE answer
    service_like = [statistics.median(s.ms or [0.0]) for s in like]
    like_ms = [s.like_ms or 0.0 for s in like]
    relaxed = sum(1 for s in samples if s.words != s.query.words)
    found = sum(1 for s in samples if s.total)
    return {
        "p95_ms": round(_percentile(every, 0.95), 2),
        "speedup_vs_like": round(sum(like_ms) / sum(service_like), 1),
        "items": args.items,
        "engine": "sqlite" if is_sqlite(url) else "postgresql",
        "p50_ms": round(statistics.median(every), 2),
        "p99_ms": round(_percentile(every, 0.99), 2),
        "max_ms": round(max(every), 2),
        "common_p50_ms": round(statistics.median(by_kind["common"]), 2),
        "common_p95_ms": round(_percentile(by_kind["common"], 0.95), 2),
        "rare_p50_ms": round(statistics.median(by_kind["rare"]), 2),
        "rare_p95_ms": round(_percentile(by_kind["rare"], 0.95), 2),
        "like_p50_ms": round(statistics.median(like_ms), 1),
        "like_p95_ms": round(_percentile(like_ms, 0.95), 1),
        "speedup_of_medians": round(statistics.median(like_ms) / statistics.median(service_like), 1),
        "queries": len(samples),
        "searches": len(every),
        "like_queries": len(like),
        "found_share": round(found / len(samples), 3),
        "relaxed_share": round(relaxed / len(samples), 3),
        "median_total": statistics.median(s.total for s in samples),
        "total_agreement": round(sum(1 for s in like if s.like_total == s.total) / len(like), 3),
    }


def main(argv: list[str]) -> dict[str, Any]:
    """Run the benchmark: ``p95_ms``, ``speedup_vs_like``, ``items`` and the detail."""
    parser = argparse.ArgumentParser(prog="python -m bench search", description=__doc__)
    parser.add_argument("--items", type=int, default=100_000, help="synthetic items (default 100000)")
    parser.add_argument("--db", help="a PostgreSQL URL (a throw-away database: its schema is reset)")
    parser.add_argument("--reuse", action="store_true", help="with --db: keep a database holding --items items")
    parser.add_argument("--queries", type=int, default=200, help="distinct queries (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of every query (default 3)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed queries first (default 20)")
    parser.add_argument("--like-queries", type=int, default=40, help="queries the LIKE peer answers (default 40)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=seeding.CACHE_DIR)
    args = parser.parse_args(argv)
    if args.queries < 2 or args.rounds < 1 or not 0 < args.like_queries <= args.queries:
        parser.error("need --queries >= 2, --rounds >= 1 and 0 < --like-queries <= --queries")
    if args.db:
        if is_sqlite(args.db):
            parser.error("--db is for PostgreSQL; SQLite uses the cached synthetic file")
        asyncio.run(_prepare_pg(args.db, args.items, reuse=args.reuse))
        return asyncio.run(run(args, args.db))
    cached = seeding.ensure_database(args.items, cache_dir=args.cache_dir, progress=_progress)
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        work = Path(tmp) / "search.db"
        shutil.copyfile(cached, work)
        return asyncio.run(run(args, seeding.sqlite_url(work)))
