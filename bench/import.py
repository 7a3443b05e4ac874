"""``python -m bench import --rows N [--db URL]``: an N-row .xlsx import into an empty database, then a re-import.

The sheet is what a liaison office sends: every column filled, one lead deputy and up to four co-signers drawn
from a pool of deputies, one of 200 lead units and up to three co-units, 交办日期 spread over a month. ``seconds``
is what ``proposal-bot import`` takes once the file is in memory: reading and validating the sheet
(``read_seconds``), then planning against the stored items and storing all rows in one transaction
(``store_seconds``).
The re-import of the same rows changes nothing and is timed too. SQLite by default, in a temporary folder;
``--db`` takes a PostgreSQL URL, whose schema is reset first (use a throw-away database).

DESIGN §7 asks for ``seconds < 10`` at 10,000 rows on both engines.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl

from bot.domain.clock import WorkCalendar
from bot.services.imports import import_rows, parse_file
from bot.text import shared_tokenizer
from config.settings import load_settings
from storage.engine import create_engine, create_sessionmaker, is_sqlite
from storage.migrate import upgrade

NOW = datetime(2024, 3, 25, 2, 0, tzinfo=UTC)
HEADER = (
    "地区",
    "机构",
    "届",
    "次",
    "编号",
    "类别",
    "标题",
    "内容",
    "领衔代表",
    "联名代表",
    "主办单位",
    "会办单位",
    "交办日期",
    "重点督办",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红燕鹏辉建国"
TOPICS = (
    "社区养老",
    "公交线路",
    "老旧小区改造",
    "垃圾分类",
    "停车难",
    "科创街区",
    "学前教育",
    "医疗资源",
    "河道治理",
    "菜场改造",
)


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def sheet(path: Path, rows: int, *, seed: int = 0) -> Path:
    """An .xlsx import sheet of `rows` items in one sitting, numbered from 001."""
    rng = random.Random(seed)
    deputies = sorted({rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN) for _ in range(3000)})
    units = [f"区第{n}委员会" for n in range(1, 201)]
    width = max(3, len(str(rows)))
    workbook = openpyxl.Workbook(write_only=True)
    ws = workbook.create_sheet("items")
    ws.append(list(HEADER))
    start = date(2024, 1, 15)
    for n in range(1, rows + 1):
        lead = rng.choice(deputies)
        co = [d for d in rng.sample(deputies, rng.randint(0, 4)) if d != lead]
        unit = rng.choice(units)
        co_units = [u for u in rng.sample(units, rng.randint(0, 3)) if u != unit]
        topic = rng.choice(TOPICS)
        ws.append(
            [
                "长宁区",
                "人大",
                17,
                5,
                str(n).zfill(width),
                "代表建议",
                f"关于{topic}的建议（{n}）",
                f"建议加强{topic}工作，" * rng.randint(3, 20),
                lead,
                "、".join(co),
                unit,
                "、".join(co_units),
                (start + timedelta(days=rng.randint(0, 30))).isoformat(),
                "是" if rng.random() < 0.05 else "否",
            ]
        )
    workbook.save(path)
    return path


async def _reset(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            await conn.exec_driver_sql("CREATE SCHEMA public")
    finally:
        await engine.dispose()


async def run(rows: int, url: str, folder: Path) -> dict[str, Any]:
    settings = load_settings(database_url=url)
    path = sheet(folder / "items.xlsx", rows)
    if not is_sqlite(url):
        await _reset(url)
    engine = create_engine(url)
    try:
        await upgrade(engine)
        sessionmaker = create_sessionmaker(engine)
        shared_tokenizer().initialize()  # jieba loads at start-up in the bot, not inside an import
        started = time.perf_counter()
        parsed = await parse_file(path.name, path.read_bytes())
        read_s = time.perf_counter() - started
        assert not parsed.errors, parsed.errors[:3]
        options = parsed.options()

        async def once() -> tuple[float, Any]:
            began = time.perf_counter()
            report = await import_rows(
                sessionmaker,
                parsed.rows,
                now=NOW,
                calendar=WorkCalendar(),
                profile=settings.profile,
                actor="bench",
                options=options,
            )
            return time.perf_counter() - began, report

        seconds, first = await once()
        _progress(f"imported {first.created} rows in {seconds:.2f} s")
        again, second = await once()
        _progress(f"re-imported: {second.unchanged} unchanged in {again:.2f} s")
    finally:
        await engine.dispose()
    return {
        "rows": rows,
        "seconds": round(read_s + seconds, 3),
        "read_seconds": round(read_s, 3),
        "store_seconds": round(seconds, 3),
        "reimport_seconds": round(again, 3),
        "created": first.created,
        "unchanged_on_reimport": second.unchanged,
        "engine": "sqlite" if is_sqlite(url) else "postgresql",
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m bench import", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--db", help="a database URL (PostgreSQL: a throw-away database, its schema is reset)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        folder = Path(tmp)
        url = args.db or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        return asyncio.run(run(args.rows, url, folder))
