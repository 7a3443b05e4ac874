"""Storage on both engines: migrations, upsert idempotence, cards, replies, events, overrides, rollback."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import storage
from storage.calendar import load_overrides, set_override
from storage.cards import EngineCardReader, card_reader
from storage.errors import NotFound
from storage.models import Event, Proposal, StatusCard
from storage.proposals import (
    EventRecord,
    ProposalRecord,
    SessionKey,
    UpsertOutcome,
    extend_due,
    find_session,
    find_unit_by_id,
    get_proposal,
    list_events,
    list_items,
    set_state,
    upsert_proposal,
)
from storage.replies import ReplyRecord, add_reply, find_current_reply

NOW = datetime(2024, 3, 25, 2, 0, tzinfo=UTC)
CHANGNING = SessionKey(region="长宁区", body="人大", term=17, sitting=5)


def _record(**changes: object) -> ProposalRecord:
    base = ProposalRecord(
        session=CHANGNING,
        number="018",
        number_key="18",
        title="关于高标准打造“上海硅巷”科创街区，加速集聚科创型企业的建议",
        deputies=("康红恩",),
        co_signers=("李明", "王芳"),
        lead_unit="长宁区科学技术委员会",
        co_units=("区发改委",),
        assigned_on=date(2024, 1, 29),
        due_on=date(2024, 4, 29),
        co_due_on=date(2024, 2, 29),
    )
    fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
    fields.update(changes)
    return ProposalRecord(**fields)  # type: ignore[arg-type]


async def test_upsert_new_then_same_record_is_unchanged(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.begin() as s:
        first = await upsert_proposal(s, _record(), now=NOW, initial_state="assigned")
    async with sessionmaker.begin() as s:
        second = await upsert_proposal(s, _record(), now=NOW, initial_state="assigned")
    assert first.outcome is UpsertOutcome.CREATED
    assert second.outcome is UpsertOutcome.UNCHANGED
    assert second.proposal_id == first.proposal_id
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Proposal)) == 1
        p = await get_proposal(s, proposal_id=first.proposal_id)
        assert [d.deputy.name for d in p.deputies] == ["康红恩", "李明", "王芳"]
        assert {(a.unit.name, a.role) for a in p.assignments} == {("长宁区科学技术委员会", "lead"), ("区发改委", "co")}


async def test_upsert_changed_title_updates_and_refreshes_card(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    async with sessionmaker.begin() as s:
        await upsert_proposal(s, _record(), now=NOW, initial_state="assigned")
    async with sessionmaker.begin() as s:
        result = await upsert_proposal(s, _record(title="新标题", co_units=()), now=NOW, initial_state="assigned")
    assert result.outcome is UpsertOutcome.UPDATED
    cards = await EngineCardReader(engine).find("18")
    assert len(cards) == 1
    assert cards[0]["title"] == "新标题"
    assert [u["name"] for u in cards[0]["units"]] == ["长宁区科学技术委员会"]


async def test_card_reader_matches_number_and_session(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    other = SessionKey(region="长宁区", body="人大", term=17, sitting=4)
    async with sessionmaker.begin() as s:
        await upsert_proposal(s, _record(), now=NOW, initial_state="assigned")
        await upsert_proposal(s, _record(session=other, title="另一件"), now=NOW, initial_state="assigned")
    reader = card_reader(engine)
    try:
        assert len(await reader.find("18")) == 2
        only = await reader.find("18", term=17, sitting=4)
        assert [c["title"] for c in only] == ["另一件"]
        assert await reader.find("19") == []
        assert (await reader.by_id(only[0]["id"]) or {})["title"] == "另一件"
    finally:
        reader.close()


async def test_reply_supersedes_previous_and_shows_on_card(
    sessionmaker: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    async with sessionmaker.begin() as s:
        pid = (await upsert_proposal(s, _record(), now=NOW, initial_state="assigned")).proposal_id
        await add_reply(s, proposal_id=pid, record=ReplyRecord(result_text="正在解决", result_class="B"), now=NOW)
        await add_reply(
            s,
            proposal_id=pid,
            record=ReplyRecord(
                unit="长宁区科学技术委员会",
                result_text="解决或采纳",
                result_class="A",
                signer="詹镭",
                replied_on=date(2024, 4, 29),
                public=True,
                body="全文",
                file_name="letter.txt",
                file_data=b"\xe5\x85\xa8",
            ),
            now=NOW,
        )
    async with sessionmaker() as s:
        reply = await find_current_reply(s, proposal_id=pid, with_file=True)
    assert reply is not None
    assert (reply.result_class, reply.file_data) == ("A", b"\xe5\x85\xa8")
    card = (await EngineCardReader(engine).find("18"))[0]
    assert card["reply"]["result"] == "解决或采纳"
    assert card["reply"]["replied_on"] == "2024-04-29"


async def test_set_state_records_event_with_aware_time(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.begin() as s:
        pid = (await upsert_proposal(s, _record(), now=NOW, initial_state="assigned")).proposal_id
        await set_state(
            s,
            proposal_id=pid,
            state="in_progress",
            event=EventRecord(action="start", before="assigned", after="in_progress", at=NOW, actor="admin"),
        )
    async with sessionmaker() as s:
        events = await list_events(s, proposal_id=pid)
        p = await get_proposal(s, proposal_id=pid)
    assert [(e.action, e.after_state) for e in events] == [("start", "in_progress")]
    assert events[0].at == NOW
    assert events[0].at.tzinfo is not None
    assert p.state == "in_progress"


async def test_failed_transaction_leaves_database_unchanged(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(RuntimeError):
        async with sessionmaker.begin() as s:
            await upsert_proposal(s, _record(), now=NOW, initial_state="assigned")
            raise RuntimeError("handler crashed mid-update")
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Proposal)) == 0
        assert await s.scalar(select(func.count()).select_from(StatusCard)) == 0
        assert await s.scalar(select(func.count()).select_from(Event)) == 0


async def test_get_proposal_unknown_raises_not_found(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as s:
        with pytest.raises(NotFound):
            await get_proposal(s, proposal_id=12345)


async def test_find_session_and_unit_by_unknown_id_return_none(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as s:
        assert await find_session(s, session_id=12345) is None
        assert await find_unit_by_id(s, unit_id=12345) is None


def _storage_functions() -> list[tuple[str, str]]:
    """(qualified name, return annotation) of every public function defined in a storage module."""
    found = []
    for info in pkgutil.iter_modules(storage.__path__):
        module = importlib.import_module(f"storage.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                found.append((f"{module.__name__}.{name}", str(fn.__annotations__.get("return"))))
    return found


def test_storage_get_functions_never_return_none_and_find_functions_may() -> None:
    """STYLE #7: `get_x()` raises NotFound when there is nothing; `find_x()` says so with `X | None`."""
    functions = _storage_functions()
    gets = [(n, r) for n, r in functions if n.rsplit(".", 1)[1].startswith("get_") and "get_or_create_" not in n]
    finds = [(n, r) for n, r in functions if n.rsplit(".", 1)[1].startswith("find_")]
    assert gets and finds
    assert [n for n, r in gets if "None" in r] == []
    assert [n for n, r in finds if not r.endswith("| None")] == []


async def test_calendar_overrides_round_trip(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.begin() as s:
        await set_override(s, day=date(2027, 1, 4), is_workday=False, note="台风")
        await set_override(s, day=date(2027, 1, 4), is_workday=True, note="更正")
    async with sessionmaker() as s:
        assert await load_overrides(s) == {date(2027, 1, 4): True}


async def test_list_items_gives_back_the_upserted_record(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.begin() as s:
        await upsert_proposal(s, _record(), now=NOW, initial_state="assigned")
    async with sessionmaker() as s:
        (item,) = await list_items(s)
    assert item.record == _record()
    assert item.state == "assigned"


async def test_list_items_due_day_includes_an_extension(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.begin() as s:
        pid = (await upsert_proposal(s, _record(), now=NOW, initial_state="assigned")).proposal_id
        event = EventRecord("extend", "assigned", "assigned", NOW)
        await extend_due(s, proposal_id=pid, due_on=date(2024, 7, 29), event=event)
    async with sessionmaker() as s:
        (item,) = await list_items(s)
    assert item.record.due_on == date(2024, 7, 29)


async def test_upsert_unpadded_number_updates_padded_item(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """`18` in a later file is the same item as the stored `018`: no duplicate."""
    async with sessionmaker.begin() as s:
        first = await upsert_proposal(s, _record(), now=NOW, initial_state="assigned")
    async with sessionmaker.begin() as s:
        again = await upsert_proposal(s, _record(number="18", title="改过的标题"), now=NOW, initial_state="assigned")
    assert again.proposal_id == first.proposal_id
    assert again.outcome is UpsertOutcome.UPDATED
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(Proposal)) == 1


async def test_upsert_after_extension_is_unchanged(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """An approved extension moves due_on; re-importing the original record must not undo or re-report it."""
    async with sessionmaker.begin() as s:
        pid = (await upsert_proposal(s, _record(), now=NOW, initial_state="assigned")).proposal_id
        await extend_due(
            s,
            proposal_id=pid,
            due_on=date(2024, 7, 29),
            event=EventRecord(action="extend", before="assigned", after="assigned", at=NOW),
        )
    async with sessionmaker.begin() as s:
        result = await upsert_proposal(s, _record(), now=NOW, initial_state="assigned")
    assert result.outcome is UpsertOutcome.UNCHANGED
    async with sessionmaker() as s:
        p = await get_proposal(s, proposal_id=pid)
    lead = next(a for a in p.assignments if a.role == "lead")
    assert (lead.due_on, lead.original_due_on) == (date(2024, 7, 29), date(2024, 4, 29))


async def test_rollback_forgets_cached_units(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """A unit created in a rolled-back transaction is not handed out again by the same session."""
    from storage.proposals import get_or_create_unit

    async with sessionmaker() as s:
        await s.begin()
        first = await get_or_create_unit(s, "区临时局")
        await s.rollback()
        await s.begin()
        again = await get_or_create_unit(s, "区临时局")
        await s.commit()
        assert again is not first
