"""Admin overrides of the official working-day calendar. Never commits."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import as_conflict
from storage.models import CalendarOverride


async def load_overrides(session: AsyncSession) -> dict[date, bool]:
    result = await session.execute(select(CalendarOverride.day, CalendarOverride.is_workday))
    return {day: is_workday for day, is_workday in result.all()}


async def set_override(session: AsyncSession, *, day: date, is_workday: bool, note: str = "") -> None:
    row = await session.get(CalendarOverride, day)
    if row is None:
        session.add(CalendarOverride(day=day, is_workday=is_workday, note=note))
    else:
        row.is_workday = is_workday
        row.note = note
    with as_conflict(f"calendar override for {day.isoformat()}"):
        await session.flush()
