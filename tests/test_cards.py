"""The bulk card builder on both engines: the same payload as the one-item ORM builder, and bulk rewrites."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.cards import SqliteCardReader, build_card, build_cards, card_reader, rebuild_cards
from storage.engine import create_engine, create_sessionmaker
from storage.migrate import upgrade
from storage.models import StatusCard
from storage.proposals import ProposalRecord, SessionKey, upsert_proposal
from storage.replies import ReplyRecord, add_feedback, add_reply

NOW = datetime(2024, 3, 25, 2, 0, tzinfo=UTC)
CHANGNING = SessionKey(region="长宁区", body="人大", term=17, sitting=5)
CPPCC = SessionKey(region="长宁区", body="政协", term=15, sitting=3)


def _record(number: str, **changes: object) -> ProposalRecord:
    fields: dict[str, object] = {
        "session": CHANGNING,
        "number": number,
        "number_key": number.lstrip("0") or "0",
        "title": f"关于第{number}号事项的建议",
        "deputies": ("康红恩",),
        "co_signers": ("李明", "王芳"),
        "lead_unit": "长宁区科学技术委员会",
        "co_units": ("区发改委", "区财政局"),
        "assigned_on": date(2024, 1, 29),
        "due_on": date(2024, 4, 29),
        "co_due_on": date(2024, 2, 29),
    }
    fields.update(changes)
    return ProposalRecord(**fields)  # type: ignore[arg-type]


async def _seed(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Five items: plain, replied and rated, superseded reply, no units, and one with a deactivated co-unit."""
    ids: dict[str, int] = {}
    async with sessionmaker.begin() as s:
        for name, record in {
            "plain": _record("001"),
            "rated": _record("018", key_supervised=True),
            "superseded": _record("002", session=CPPCC, kind="政协提案", co_signers=(), public=False),
            "bare": _record("003", deputies=(), co_signers=(), lead_unit=None, co_units=(), assigned_on=None),
            "shrunk": _record("004"),
        }.items():
            ids[name] = (await upsert_proposal(s, record, now=NOW, initial_state="assigned")).proposal_id
        reply = await add_reply(
            s,
            proposal_id=ids["rated"],
            record=ReplyRecord(
                unit="长宁区科学技术委员会",
                result_text="解决或采纳",
                result_class="A",
                signer="詹镭",
                replied_on=date(2024, 4, 29),
                public=True,
                summary="已发布三年行动方案",
                body="全文",
            ),
            now=NOW,
        )
        await add_feedback(s, reply_id=reply.id, proposal_id=ids["rated"], rating="基本满意", now=NOW)
        await add_feedback(s, reply_id=reply.id, proposal_id=ids["rated"], rating="满意", now=NOW)
        await add_reply(s, proposal_id=ids["superseded"], record=ReplyRecord(result_text="正在解决"), now=NOW)
        await add_reply(
            s,
            proposal_id=ids["superseded"],
            record=ReplyRecord(unit="区民政局", result_text="留作参考", result_class="C", public=False),
            now=NOW,
        )
        await add_reply(s, proposal_id=ids["superseded"], record=ReplyRecord(letter_type="co-handling"), now=NOW)
        await upsert_proposal(s, _record("004", co_units=("区财政局",)), now=NOW, initial_state="assigned")
    return ids


async def test_build_cards_equals_build_card_for_every_item(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    ids = await _seed(sessionmaker)
    async with sessionmaker() as s:
        bulk = await build_cards(s, proposal_ids=[*ids.values(), 99999])
        single = {pid: await build_card(s, proposal_id=pid) for pid in ids.values()}
    assert bulk == single
    rated = bulk[ids["rated"]]["reply"]
    assert (rated["result"], rated["rating"], rated["unit"], rated["has_text"]) == (
        "解决或采纳",
        "满意",
        "长宁区科学技术委员会",
        True,
    )
    assert bulk[ids["superseded"]]["reply"]["result"] == "留作参考"
    assert [u["name"] for u in bulk[ids["shrunk"]]["units"]] == ["长宁区科学技术委员会", "区财政局"]
    assert bulk[ids["bare"]]["units"] == []


async def test_build_cards_unknown_ids_are_absent(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as s:
        assert await build_cards(s, proposal_ids=[1, 2, 3]) == {}
        assert await build_card(s, proposal_id=1) is None


async def test_rebuild_cards_rewrites_every_row_in_batches(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    ids = await _seed(sessionmaker)
    async with sessionmaker.begin() as s:
        await s.execute(StatusCard.__table__.delete())
        assert await rebuild_cards(s, batch=2) == len(ids)
    async with sessionmaker() as s:
        rows = (await s.execute(select(StatusCard.proposal_id, StatusCard.number_key, StatusCard.payload))).all()
        expected = {pid: await build_card(s, proposal_id=pid) for pid in ids.values()}
    assert {r.proposal_id: json.loads(r.payload) for r in rows} == expected
    assert {r.number_key for r in rows} == {"1", "18", "2", "3", "4"}


async def test_rebuild_cards_for_some_ids_leaves_the_others(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    ids = await _seed(sessionmaker)
    async with sessionmaker.begin() as s:
        written = await rebuild_cards(s, proposal_ids=[ids["rated"], ids["rated"], 99999], batch=1)
    async with sessionmaker() as s:
        count = await s.scalar(select(func.count()).select_from(StatusCard))
    assert (written, count) == (1, len(ids))


async def test_card_reader_find_keeps_newest_sessions_within_limit(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """A number found in more sessions than the limit keeps the most recent sessions, newest first."""
    async with sessionmaker.begin() as s:
        for sitting in (2, 4, 1, 3):
            key = SessionKey(region="长宁区", body="人大", term=17, sitting=sitting)
            await upsert_proposal(s, _record("018", session=key), now=NOW, initial_state="assigned")
    reader = card_reader(engine)
    try:
        newest = await reader.find("18", limit=2)
        everything = await reader.find("18")
        one = await reader.find("18", term=17, sitting=1, limit=5)
    finally:
        reader.close()
    assert [c["session"]["sitting"] for c in newest] == [4, 3]
    assert [c["session"]["sitting"] for c in everything] == [4, 3, 2, 1]
    assert [c["session"]["sitting"] for c in one] == [1]


async def test_card_reader_heads_are_the_found_cards_cut_to_id_number_and_session(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    """`heads` is `find` without the bodies: same cards, same order and limit, on either reader."""
    async with sessionmaker.begin() as s:
        for sitting in (2, 4, 1, 3):
            key = SessionKey(region="长宁区", body="人大", term=17, sitting=sitting)
            await upsert_proposal(s, _record("018", session=key), now=NOW, initial_state="assigned")
        await upsert_proposal(s, _record("18", session=CPPCC), now=NOW, initial_state="assigned")
    reader = card_reader(engine)
    try:
        for kwargs in ({}, {"limit": 2}, {"term": 17, "sitting": 3}, {"term": 17, "sitting": 9}):
            cards = await reader.find("18", **kwargs)  # type: ignore[arg-type]
            heads = await reader.heads("18", **kwargs)  # type: ignore[arg-type]
            assert heads == [{"id": c["id"], "number": c["number"], "session": c["session"]} for c in cards]
        assert await reader.heads("404") == []
        everything = await reader.heads("18")
    finally:
        reader.close()
    assert [(h["session"]["body"], h["session"]["sitting"]) for h in everything] == [
        ("人大", 4),
        ("人大", 3),
        ("人大", 2),
        ("人大", 1),
        ("政协", 3),
    ]
    assert {h["number"] for h in everything} == {"018", "18"}


async def test_sqlite_reader_serves_repeated_heads_from_memory_until_anyone_writes(sqlite_url: str) -> None:
    """A repeat look-up runs no query but the version check; a commit from another connection drops the cache."""
    eng = create_engine(sqlite_url)
    await upgrade(eng)
    maker = create_sessionmaker(eng)
    reader = card_reader(eng)
    assert isinstance(reader, SqliteCardReader)
    try:
        async with maker.begin() as s:
            await upsert_proposal(s, _record("018"), now=NOW, initial_state="assigned")
        first = await reader.heads("18")
        statements: list[str] = []
        reader._connection().set_trace_callback(statements.append)
        again = await reader.heads("18")
        assert again == first and [h["session"]["body"] for h in first] == ["人大"]
        assert statements == ["PRAGMA data_version"]

        async with maker.begin() as s:  # another connection commits: a second session has an 018 too
            await upsert_proposal(s, _record("018", session=CPPCC), now=NOW, initial_state="assigned")
        after = await reader.heads("18")
        assert [h["session"]["body"] for h in after] == ["人大", "政协"]
        assert any(sql.startswith("SELECT proposal_id") for sql in statements)
    finally:
        reader.close()
        await eng.dispose()
