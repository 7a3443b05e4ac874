"""The deadline sweep on SQLite and PostgreSQL: what it queues, idempotency, catch-up, the leader lease, the plan."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlalchemy.sql import Select

from bot.delivery.sweeps import SWEEP_LEASE, SweepStats, run_sweep
from bot.domain.clock import WorkCalendar, due_day
from bot.domain.lifecycle import OPEN_STATES
from config.settings import Jurisdiction
from storage.coordination import acquire_lease, find_lease_holder, find_watermark, release_lease
from storage.engine import create_engine, create_sessionmaker
from storage.migrate import upgrade
from storage.models import Account, Assignment, OutboxMessage, Proposal, Reply, Session, Unit
from storage.sweeps import admin_recipients, countdown_query, due_assignments, overdue_query, unit_recipients

D = date.fromisoformat
ADMIN_IDS = frozenset({5002})
SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar()
PROFILE = Jurisdiction(
    name="上海市", reply_months=3, extended_max_months=6, co_opinion_months=1, rehandling_months=1, return_workdays=7
)
T0 = datetime(2024, 1, 29, 2, 0, tzinfo=UTC)
TTL = timedelta(minutes=5)
UNIT_NAME = "长宁区科学技术委员会"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH).astimezone(UTC)


async def seed_item_018(sm: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Item 018 (17-5, 长宁区), assigned 2024-01-29, due 2024-04-29, with unit staff, an admin and a co-unit."""
    async with sm.begin() as s:
        sitting = Session(region="长宁区", body="人大", term=17, sitting=5)
        unit, co_unit, co_done = Unit(name=UNIT_NAME), Unit(name="长宁区财政局"), Unit(name="长宁区民政局")
        s.add_all([sitting, unit, co_unit, co_done])
        await s.flush()
        item = Proposal(
            session_id=sitting.id,
            number="018",
            number_key="18",
            title="关于加强区域科技创新服务体系建设的建议",
            state="in_progress",
            created_at=T0,
            updated_at=T0,
        )
        s.add(item)
        await s.flush()
        due = due_day(D("2024-01-29"), months=3, calendar=CAL).day
        co_due = due_day(D("2024-01-29"), months=1, calendar=CAL).day
        assert (due, co_due) == (D("2024-04-29"), D("2024-02-29"))
        s.add_all(
            [
                Assignment(
                    proposal_id=item.id,
                    unit_id=unit.id,
                    role="lead",
                    received_on=D("2024-01-29"),
                    due_on=due,
                    original_due_on=due,
                ),
                Assignment(
                    proposal_id=item.id,
                    unit_id=co_unit.id,
                    role="co",
                    received_on=D("2024-01-29"),
                    due_on=co_due,
                    original_due_on=co_due,
                ),
                Assignment(
                    proposal_id=item.id,
                    unit_id=co_done.id,
                    role="co",
                    received_on=D("2024-01-29"),
                    due_on=co_due,
                    original_due_on=co_due,
                ),
                Reply(proposal_id=item.id, unit_id=co_done.id, letter_type="co-handling", summary="", created_at=T0),
            ]
        )
        staff = Account(telegram_id=5001, chat_id=5001, role="unit", unit_id=unit.id, created_at=T0)
        co_staff = Account(telegram_id=5003, chat_id=5003, role="unit", unit_id=co_unit.id, created_at=T0)
        co_done_staff = Account(telegram_id=5004, chat_id=5004, role="unit", unit_id=co_done.id, created_at=T0)
        # admins are who the settings list (ADMIN_IDS), whatever their account's stored role says
        admin = Account(telegram_id=5002, chat_id=5002, role="public", created_at=T0)
        former_admin = Account(telegram_id=5006, chat_id=5006, role="admin", created_at=T0)
        blocked = Account(telegram_id=5005, chat_id=5005, role="unit", unit_id=unit.id, active=False, created_at=T0)
        s.add_all([staff, co_staff, co_done_staff, admin, former_admin, blocked])
        await s.flush()
        return {
            "proposal": item.id,
            "unit": unit.id,
            "co_unit": co_unit.id,
            "co_done": co_done.id,
            "staff": staff.id,
            "co_staff": co_staff.id,
            "co_done_staff": co_done_staff.id,
            "admin": admin.id,
            "former_admin": former_admin.id,
            "blocked": blocked.id,
        }


async def sweep(sm: async_sessionmaker[AsyncSession], at: datetime, *, holder: str = "a") -> SweepStats:
    return await run_sweep(
        sm, now=at, calendar=CAL, profile=PROFILE, tz=SH, holder=holder, admin_ids=ADMIN_IDS, ttl=TTL
    )


async def queued(sm: async_sessionmaker[AsyncSession], account_id: int | None = None) -> list[OutboxMessage]:
    async with sm() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.due_at, OutboxMessage.id)
        if account_id is not None:
            query = query.where(OutboxMessage.account_id == account_id)
        return list((await s.scalars(query)).all())


def timeline(rows: list[OutboxMessage]) -> list[tuple[str, str]]:
    return [(r.due_at.astimezone(SH).strftime("%m-%d %H:%M"), r.kind) for r in rows]


# ------------------------------------------------------------------------------------------- acceptance


async def test_run_sweep_daily_for_45_days_reminds_item_018_on_working_mornings(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Issue 3 acceptance: from 2024-03-25 for 45 days, countdowns before the due day, overdue alerts after."""
    ids = await seed_item_018(sessionmaker)
    for n in range(45):
        day = D("2024-03-25") + timedelta(days=n)
        for tick in ("00:05", "13:30", "22:00"):  # several ticks a day, as the scheduler runs them
            stats = await sweep(sessionmaker, local(f"{day}T{tick}"))
            assert not stats.skipped_lease

    rows = await queued(sessionmaker, ids["staff"])
    assert timeline(rows) == [
        ("04-01 08:00", "due_in"),  # the 30-day mark, Saturday 03-30
        ("04-15 08:00", "due_in"),
        ("04-22 08:00", "due_in"),
        ("04-26 08:00", "due_in"),
        ("04-28 08:00", "due_in"),  # Sunday, an official make-up workday
        ("04-29 08:00", "due_today"),
        ("04-30 08:00", "overdue"),  # then the Labour Day holiday, 05-01 to 05-05
        ("05-06 08:00", "overdue"),
        ("05-07 08:00", "overdue"),
        ("05-08 08:00", "overdue"),
    ]
    countdowns = [r for r in rows if r.kind in {"due_in", "due_today"} and r.due_at < local("2024-04-29T00:00")]
    assert len(countdowns) >= 4
    for r in await queued(sessionmaker):
        wall = r.due_at.astimezone(SH)
        assert CAL.is_workday(wall.date()), r.dedup_key
        assert time(8) <= wall.time() < time(21), r.dedup_key
    assert rows[0].payload == {
        "text_key": "push.due_in",
        "params": {
            "proposal_id": ids["proposal"],
            "number": "018",
            "title": "关于加强区域科技创新服务体系建设的建议",
            "due_on": "2024-04-29",
            "days": 28,
            "offset": 30,
        },
    }
    digests = await queued(sessionmaker, ids["admin"])
    assert [d for d, _ in timeline(digests)] == ["04-30 08:00", "05-06 08:00", "05-07 08:00", "05-08 08:00"]
    assert {r.kind for r in digests} == {"overdue_digest"}
    assert await queued(sessionmaker, ids["blocked"]) == []


async def test_run_sweep_co_units_hear_until_their_opinion_is_in(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed_item_018(sessionmaker)
    for n in range(11):
        await sweep(sessionmaker, local(f"{D('2024-02-20') + timedelta(days=n)}T00:05"))
    assert timeline(await queued(sessionmaker, ids["co_staff"])) == [
        ("02-22 08:00", "co_due"),
        ("02-26 08:00", "co_due"),
        ("02-28 08:00", "co_due"),
        ("02-29 08:00", "co_due"),
        ("03-01 08:00", "co_overdue"),
    ]
    assert await queued(sessionmaker, ids["co_done_staff"]) == []


async def test_run_sweep_twice_at_the_same_moment_queues_nothing_new(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await seed_item_018(sessionmaker)
    at = local("2024-04-30T00:05")
    first = await sweep(sessionmaker, at)
    second = await sweep(sessionmaker, at)
    assert first.queued == first.planned == 3  # the unit's and a co-unit's overdue alerts, the admins' digest
    assert (second.planned, second.queued, second.deduplicated) == (3, 0, 3)
    assert len(await queued(sessionmaker)) == 3


async def test_run_sweep_after_downtime_catches_up_once(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    """Down from 03-25 to 04-23: the 30-, 14- and 7-day marks were missed; one push, the 7-day one."""
    ids = await seed_item_018(sessionmaker)
    await sweep(sessionmaker, local("2024-03-25T00:05"))
    stats = await sweep(sessionmaker, local("2024-04-23T09:40"))
    assert stats.last_swept == D("2024-03-25")
    rows = await queued(sessionmaker, ids["staff"])
    assert timeline(rows) == [("04-23 09:40", "due_in")]
    assert rows[0].dedup_key.endswith(":7")
    assert rows[0].payload["params"]["days"] == 6
    async with sessionmaker() as s:
        assert await find_watermark(s, name="deadlines") == D("2024-04-23")


async def test_run_sweep_replied_item_is_left_alone(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    ids = await seed_item_018(sessionmaker)
    async with sessionmaker.begin() as s:
        item = await s.get(Proposal, ids["proposal"])
        assert item is not None
        item.state = "replied"
    stats = await sweep(sessionmaker, local("2024-04-30T00:05"))
    assert (stats.due, stats.planned) == (0, 0)


# ------------------------------------------------------------------------------------------------ lease


async def test_run_sweep_second_holder_is_skipped_until_the_lease_expires(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await seed_item_018(sessionmaker)
    at = local("2024-04-30T00:05")
    assert (await sweep(sessionmaker, at, holder="a")).queued == 3
    other = await sweep(sessionmaker, at + timedelta(minutes=1), holder="b")
    assert other == SweepStats(skipped_lease=True, day=D("2024-04-30"))
    later = await sweep(sessionmaker, at + TTL + timedelta(seconds=1), holder="b")
    assert not later.skipped_lease
    assert later.queued == 0


async def test_run_sweep_two_instances_at_once_only_one_sweeps(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await seed_item_018(sessionmaker)
    at = local("2024-04-30T00:05")
    results = await asyncio.gather(*(sweep(sessionmaker, at, holder=h) for h in ("instance-1", "instance-2")))
    assert sorted(r.skipped_lease for r in results) == [False, True]
    rows = await queued(sessionmaker)
    assert len(rows) == 3
    assert len({r.dedup_key for r in rows}) == 3


async def test_acquire_lease_renew_expire_release(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    now = local("2024-04-30T00:05")

    async def take(holder: str, at: datetime) -> bool:
        async with sessionmaker.begin() as s:
            return await acquire_lease(s, name=SWEEP_LEASE, holder=holder, now=at, ttl=TTL)

    assert await take("a", now)
    assert not await take("b", now)
    assert await take("a", now + timedelta(minutes=4))  # renewal pushes the expiry on
    assert not await take("b", now + timedelta(minutes=6))
    async with sessionmaker() as s:
        assert await find_lease_holder(s, name=SWEEP_LEASE, now=now + timedelta(minutes=6)) == "a"
    assert await take("b", now + timedelta(minutes=9, seconds=1))
    async with sessionmaker.begin() as s:
        assert not await release_lease(s, name=SWEEP_LEASE, holder="a")
        assert await release_lease(s, name=SWEEP_LEASE, holder="b")
    assert await take("a", now + timedelta(minutes=10))


async def test_acquire_lease_racing_holders_get_one_winner(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    now = local("2024-04-30T00:05")

    async def take(holder: str) -> bool:
        async with sessionmaker.begin() as s:
            return await acquire_lease(s, name="race", holder=holder, now=now, ttl=TTL)

    results = await asyncio.gather(*(take(f"h{i}") for i in range(4)))
    assert sorted(results) == [False, False, False, True]


async def test_acquire_lease_rejects_a_non_positive_ttl(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker.begin() as s:
        with pytest.raises(ValueError, match="positive"):
            await acquire_lease(s, name="x", holder="a", now=T0, ttl=timedelta(0))


# ----------------------------------------------------------------------------------------- repositories


async def test_due_assignments_reads_the_window_and_open_overdue_only(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed_item_018(sessionmaker)
    async with sessionmaker() as s:
        # 2024-03-25: the lead clock is 35 days out (beyond a 30-day horizon); both co clocks are overdue.
        rows = await due_assignments(s, today=D("2024-03-25"), horizon_days=30, open_states=OPEN_STATES)
        assert [(r.role, r.due_on, r.answered) for r in rows] == [
            ("co", D("2024-02-29"), False),
            ("co", D("2024-02-29"), True),
        ]
        rows = await due_assignments(s, today=D("2024-03-30"), horizon_days=30, open_states=OPEN_STATES)
        assert [r.unit_id for r in rows][-1] == ids["unit"]
        assert await due_assignments(s, today=D("2024-03-30"), horizon_days=30, open_states=()) == []


async def test_recipients_are_active_bound_staff_and_the_admins_the_settings_list(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ids = await seed_item_018(sessionmaker)
    async with sessionmaker.begin() as s:
        staff = await s.get(Account, ids["staff"])
        assert staff is not None
        staff.quiet_start, staff.quiet_end = time(22), time(7)
    async with sessionmaker() as s:
        found = await unit_recipients(s, unit_ids=[ids["unit"], ids["co_unit"], 999])
        assert sorted(found) == [ids["unit"], ids["co_unit"]]
        [mine] = found[ids["unit"]]  # the blocked account is left out
        assert (mine.account_id, mine.chat_id, mine.quiet) == (ids["staff"], 5001, (time(22), time(7)))
        assert await unit_recipients(s, unit_ids=[]) == {}
        [admin] = await admin_recipients(s, telegram_ids=ADMIN_IDS)  # not the former admin's stored role
        assert (admin.account_id, admin.role) == (ids["admin"], "admin")
        assert await admin_recipients(s, telegram_ids=()) == []


# -------------------------------------------------------------------------------------------- the plan


async def _explain(conn: AsyncConnection, stmt: Select[*tuple[Any, ...]]) -> list[str]:
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    result = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
    return [str(row[-1]) for row in result.all()]  # (id, parent, notused, detail)


@pytest.mark.parametrize("analyzed", [False, True], ids=["no-statistics", "analyzed"])
async def test_sweep_queries_use_indexes_not_full_scans_on_sqlite(sqlite_url: str, analyzed: bool) -> None:
    """Cost grows with the due rows: the window is an index range, overdue starts from the open items."""
    engine = create_engine(sqlite_url)
    await upgrade(engine)
    sm = create_sessionmaker(engine)
    await seed_item_018(sm)
    async with sm.begin() as s:  # closed history, so that ANALYZE sees a realistic spread
        for n in range(200):
            history = Proposal(
                session_id=1,
                number=f"{n:03d}x",
                number_key=f"{n}x",
                title="t",
                state="closed",
                created_at=T0,
                updated_at=T0,
            )
            s.add(history)
            await s.flush()
            s.add(
                Assignment(proposal_id=history.id, unit_id=1, role="lead", due_on=D("2023-01-01") + timedelta(days=n))
            )
    async with engine.connect() as conn:
        if analyzed:
            await conn.exec_driver_sql("ANALYZE")
        window = await _explain(conn, countdown_query(today=D("2024-04-01"), horizon_days=30, open_states=OPEN_STATES))
        late = await _explain(conn, overdue_query(today=D("2024-04-01"), open_states=OPEN_STATES))
    await engine.dispose()
    assert any("USING INDEX ix_assignments_active_due (active=? AND due_on>? AND due_on<?)" in s for s in window)
    assert any("ix_proposals_state (state=?)" in s for s in late), late
    assert any("USING INDEX ix_assignments_proposal_id (proposal_id=?)" in s for s in late), late
    for plan in (window, late):
        assert not any(s.startswith(("SCAN assignments", "SCAN proposals")) for s in plan), plan
        assert not any("ANY(" in s for s in plan), plan  # no skip-scan over the whole history


def test_overdue_query_hint_is_sqlite_only() -> None:
    """PostgreSQL keeps per-value statistics: it gets the bare condition, no likelihood() it does not have."""
    query = overdue_query(today=D("2024-04-01"), open_states=OPEN_STATES)
    lite = sqlite.dialect()
    assert "likelihood(proposals.state IN" in str(query.compile(dialect=lite))
    pg = postgresql.dialect()  # type: ignore[no-untyped-call]
    rendered = str(query.compile(dialect=pg))
    assert "likelihood" not in rendered
    assert "proposals.state IN" in rendered
