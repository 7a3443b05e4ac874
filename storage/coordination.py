"""Coordination between instances: the leader lease for the sweeps and the sweeps' watermarks. Never commits.

A lease is one row per name. Taking it is a single atomic upsert (``INSERT … ON CONFLICT DO UPDATE … WHERE``),
which succeeds when the row is new, expired or already ours: two instances racing on PostgreSQL or SQLite get
one winner without a read-then-write window. A watermark records the last day a sweep completed, so a restart
knows how much it missed.

Importing this module also registers the index on ``proposals.state`` (migration 0003): the overdue sweep
reaches the few open items through it instead of scanning every item ever filed.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, Index, String, delete, or_, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, Proposal

__all__ = [
    "PROPOSALS_STATE_INDEX",
    "Lease",
    "SweepWatermark",
    "acquire_lease",
    "find_lease_holder",
    "find_watermark",
    "release_lease",
    "set_watermark",
]


class Lease(Base):
    """A named, expiring lock held by one instance (the sweep leader)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class SweepWatermark(Base):
    """The last day a named sweep completed."""

    __tablename__ = "sweep_watermarks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_day: Mapped[date] = mapped_column(Date)
    updated_at: Mapped[datetime]


#: Open items are few, all items are many: the overdue sweep starts from this index.
PROPOSALS_STATE_INDEX = Index("ix_proposals_state", Proposal.state)


def _insert(session: AsyncSession) -> Any:
    """The dialect's INSERT construct, which has ``on_conflict_do_update`` on both of our engines."""
    name = session.get_bind().dialect.name
    if name == "sqlite":
        return sqlite_insert
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert  # 60-110 ms of start-up on SQLite

        return pg_insert
    raise NotImplementedError(f"no upsert for the {name} dialect")


async def acquire_lease(session: AsyncSession, *, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``ttl``; False when another holder has it and it has not expired."""
    if ttl <= timedelta(0):
        raise ValueError(f"a lease needs a positive ttl, got {ttl}")
    stmt = _insert(session)(Lease).values(name=name, holder=holder, acquired_at=now, expires_at=now + ttl)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Lease.name],
        set_={
            "holder": stmt.excluded.holder,
            "acquired_at": stmt.excluded.acquired_at,
            "expires_at": stmt.excluded.expires_at,
        },
        where=or_(Lease.expires_at <= now, Lease.holder == holder),
    ).returning(Lease.holder)
    won = (await session.execute(stmt)).scalar_one_or_none()
    return won == holder


async def release_lease(session: AsyncSession, *, name: str, holder: str) -> bool:
    """Give the lease up if we hold it (at shutdown); True when a row was removed."""
    result = await session.execute(
        delete(Lease).where(Lease.name == name, Lease.holder == holder).returning(Lease.name)
    )
    return result.scalar_one_or_none() is not None


async def find_lease_holder(session: AsyncSession, *, name: str, now: datetime) -> str | None:
    """Who holds the lease now, or None when it is free or expired."""
    return await session.scalar(select(Lease.holder).where(Lease.name == name, Lease.expires_at > now))


async def find_watermark(session: AsyncSession, *, name: str) -> date | None:
    """The last day the sweep ``name`` completed, or None before its first run."""
    return await session.scalar(select(SweepWatermark.last_day).where(SweepWatermark.name == name))


async def set_watermark(session: AsyncSession, *, name: str, day: date, now: datetime) -> None:
    """Record that the sweep ``name`` completed ``day`` (last write wins; the sweep holds the lease)."""
    stmt = _insert(session)(SweepWatermark).values(name=name, last_day=day, updated_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[SweepWatermark.name],
        set_={"last_day": stmt.excluded.last_day, "updated_at": stmt.excluded.updated_at},
    )
    await session.execute(stmt)
