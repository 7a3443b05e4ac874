"""The search index on both engines: it agrees with the data after an import, a reply, an edit and a reindex;
the migration builds it for existing items; non-public text is searched only within a viewer's reach."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.__main__ import main
from bot.domain.clock import WorkCalendar
from bot.services.imports import import_rows
from bot.spreadsheets.read import read_rows
from bot.spreadsheets.validate import ImportRow, validate
from config.settings import load_settings
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.proposals import SessionKey
from storage.search import NO_REACH, Filters, Reach, expected_snapshot, index_snapshot, search

NOW = datetime(2024, 5, 6, 2, 0, tzinfo=UTC)
TODAY = date(2024, 5, 6)
KEY = SessionKey(region="长宁区", body="人大", term=17, sitting=5)
HEADER = "地区,机构,届,次,编号,类别,标题,内容,领衔代表,联名代表,主办单位,会办单位,交办日期,重点督办"
LINES = (
    "长宁区,人大,17,5,018,代表建议,关于高标准打造“上海硅巷”科创街区，加速集聚科创型企业的建议,"
    "建议加快硅巷建设，集聚科创企业,康红恩,李明,长宁区科学技术委员会,区发改委,2024-01-29,是",
    "长宁区,人大,17,5,019,,关于加强社区养老服务的建议,增加社区食堂,张三,,长宁区民政局,,2024-01-29,否",
    "长宁区,人大,17,4,045,,关于增设公交线路的建议,,李四,,长宁区交通委,,2023-01-29,",
)


def _rows() -> list[ImportRow]:
    data = ("\n".join((HEADER, *LINES)) + "\n").encode("utf-8")
    rows, errors = validate(read_rows("items.csv", data))
    assert errors == []
    return rows


async def _agree(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as s:
        stored = await index_snapshot(s)
        wanted = await expected_snapshot(s)
    assert stored == wanted
    assert stored  # an empty index agrees with nothing


async def _ids(sessionmaker: async_sessionmaker[AsyncSession], tokens: list[str], reach: Reach = NO_REACH) -> list[int]:
    async with sessionmaker() as s:
        found = await search(s, tokens=tokens, reach=reach, today=TODAY, limit=20)
    return [h.proposal_id for h in found.hits]


async def _import_and_hide_a_reply(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """The three items imported, and 019 replied with a non-public letter; returns 019's id."""
    hidden = await _import_and_hide_a_reply(sessionmaker)
    assert await _ids(sessionmaker, ["新泾镇"]) == []  # a word only in the non-public reply
    assert await _ids(sessionmaker, ["社区", "新泾镇"]) == []
    assert await _ids(sessionmaker, ["社区"]) == [hidden]  # its public parts still match
    assert await _ids(sessionmaker, ["新泾镇"], Reach(every=True)) == [hidden]
    assert await _ids(sessionmaker, ["社区", "新泾镇"], Reach(ids=frozenset({hidden}))) == [hidden]
    assert await _ids(sessionmaker, ["新泾镇"], Reach(ids=frozenset({hidden + 100}))) == []
    # the admin's search finds the item once, through its full document
    async with sessionmaker() as s:
        found = await search(s, tokens=["社区"], reach=Reach(every=True), today=TODAY)
    assert [(h.proposal_id, h.full) for h in found.hits] == [(hidden, True)]


async def test_search_ranks_title_hits_first_and_filters(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    profile = load_settings(database_url="sqlite+aiosqlite:///unused.db").profile
    await import_rows(sessionmaker, _rows(), now=NOW, calendar=WorkCalendar(), profile=profile)
    assert len(await _ids(sessionmaker, ["硅巷"])) == 1
    assert len(await _ids(sessionmaker, ["建议"])) == 3
    async with sessionmaker() as s:
        sitting = await search(s, tokens=["建议"], reach=Reach(), filters=Filters(term=17, sitting=4), today=TODAY)
        unit = await search(s, tokens=["建议"], reach=Reach(), filters=Filters(unit="民政"), today=TODAY)
        overdue = await search(
            s, tokens=["建议"], reach=Reach(), filters=Filters(state="overdue"), today=date(2024, 3, 1)
        )
        replied = await search(s, tokens=["建议"], reach=Reach(), filters=Filters(state="replied"), today=TODAY)
        year = await search(s, tokens=["建议"], reach=Reach(), filters=Filters(year=2023), today=TODAY)
        paged = await search(s, tokens=["建议"], reach=Reach(), today=TODAY, limit=2, offset=2)
        syntax = await search(s, tokens=['"硅巷" OR NEAR(科创 * -', ":", "("], reach=Reach(), today=TODAY)
    assert sitting.total == 1 and unit.total == 1 and year.total == 1
    assert overdue.total == 1  # on 1 March only 045 (assigned 2023-01-29) is past due
    assert replied.total == 0
    assert len(paged.hits) == 1 and paged.total == 3
    assert syntax.total == 0  # every word quoted: 硅巷 AND OR AND NEAR AND 科创 — no item has "or"


async def test_migration_builds_the_index_for_existing_items(db_url: str) -> None:
    engine: AsyncEngine = create_engine(db_url)
    try:
        await upgrade(engine, "0011")
        sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        async with sessionmaker.begin() as s:
            # written before the index exists: through the ORM, as 0011's code would have
            from storage.models import Proposal, Session

            session_row = Session(region="长宁区", body="人大", term=17, sitting=5)
            s.add(session_row)
            await s.flush()
            s.add(
                Proposal(
                    session_id=session_row.id,
                    number="018",
                    number_key="18",
                    title="上海硅巷科创街区",
                    content="",
                    state="draft",
                    public=True,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        await upgrade(engine)
        await _agree(sessionmaker)
        assert len(await _ids(sessionmaker, ["硅巷"])) == 1
    finally:
        await engine.dispose()


async def test_reindex_command_rebuilds_a_damaged_index(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_engine(sqlite_url)
    await upgrade(engine)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    profile = load_settings(database_url=sqlite_url).profile
    await import_rows(sessionmaker, _rows(), now=NOW, calendar=WorkCalendar(), profile=profile)
    async with sessionmaker.begin() as s:
        await s.execute(text("DELETE FROM search_public WHERE rowid = 1"))
    async with sessionmaker() as s:
        assert await index_snapshot(s) != await expected_snapshot(s)
    await engine.dispose()
    monkeypatch.setenv("PROPOSAL_BOT_DATABASE_URL", sqlite_url)
    assert await asyncio.to_thread(main, ["reindex"]) == 0
    assert "3 documents; index and data agree" in capsys.readouterr().out
    await _agree(async_sessionmaker(engine, expire_on_commit=False))
    await engine.dispose()


async def test_sqlite_pages_equal_boosting_every_match(tmp_path: object) -> None:
    """SQLite boosts only the matches that can still reach the page; every page is what boosting all gives."""
    from bench import seeding
    from storage.engine import create_sessionmaker

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/boost.db")
    try:
        await seeding.load(engine, 300, seed=5)
        sessionmaker = create_sessionmaker(engine)
        async with sessionmaker() as s:
            conn = await s.connection()
            for word in ("社区", "建议", "居民", "服务"):
                wanted = [
                    row[0]
                    for row in await conn.execute(
                        text(
                            "SELECT rowid FROM search_public WHERE search_public MATCH :q ORDER BY "
                            "bm25(search_public, 4.0, 1.0, 0.5, 1.0) * (1.0 + 0.1 / (1 + MAX(0, :y - year))), rowid"
                        ),
                        {"q": f'"{word}"', "y": TODAY.year},
                    )
                ]
                assert len(wanted) > 15, word
                got: list[int] = []
                for offset in range(0, 15, 5):
                    found = await search(s, tokens=[word], reach=NO_REACH, today=TODAY, limit=5, offset=offset)
                    assert found.total == len(wanted)
                    got += [h.proposal_id for h in found.hits]
                assert got == wanted[:15], word
    finally:
        await engine.dispose()
