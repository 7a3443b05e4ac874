"""The deadline sweep: one tick of the reminder machinery, from due clocks to outbox rows.

The scheduler only calls ``run_sweep`` on a ticker; what is due lives in indexed columns, so a tick costs
O(due rows). Only the holder of the "sweeps" lease sweeps, so several instances can run side by side. All rows
and the watermark commit in one transaction, and every row has a dedup key, so a tick repeated at the same
moment (or a second instance that slipped past an expired lease) queues nothing new.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.planner import (
    Plan,
    RecipientView,
    deadline_reminders,
    horizon_days,
    overdue_digest,
)
from bot.delivery.queue import queue_plans
from bot.domain.assignments import DueAssignment
from bot.domain.clock import WorkCalendar
from bot.domain.lifecycle import OPEN_STATES
from config.settings import Jurisdiction
from storage.coordination import acquire_lease, find_watermark, set_watermark
from storage.sweeps import (
    Recipient,
    admin_recipients,
    due_assignments,
    unit_recipients,
)

__all__ = ["SWEEP_LEASE", "SWEEP_LEASE_TTL", "WATERMARK", "SweepStats", "plan_sweep", "run_sweep"]

logger = logging.getLogger(__name__)

SWEEP_LEASE: Final = "sweeps"
WATERMARK: Final = "deadlines"
#: Long enough to outlive a slow tick, short enough that a dead leader is replaced within minutes.
SWEEP_LEASE_TTL: Final = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SweepStats:
    """What one tick did: ``planned`` pushes, of which ``queued`` were new and ``deduplicated`` already queued."""

    planned: int = 0
    queued: int = 0
    deduplicated: int = 0
    skipped_lease: bool = False
    due: int = 0  # due or overdue clocks read
    day: date | None = None
    last_swept: date | None = None


def _recipient_view(row: Recipient, tz: tzinfo) -> RecipientView:
    return RecipientView(account_id=row.account_id, chat_id=row.chat_id, role=row.role, quiet=row.quiet, tz=tz)


def plan_sweep(
    rows: Sequence[DueAssignment],
    *,
    staff: dict[int, list[Recipient]],
    admins: Sequence[Recipient],
    today: date,
    last_swept: date | None,
    now: datetime,
    profile: Jurisdiction,
    calendar: WorkCalendar,
    tz: tzinfo,
) -> list[Plan]:
    """Every push owed for these clocks: reminders to each unit's staff, then the admins' overdue digest."""
    plans: list[Plan] = []
    for view in rows:
        recipients = [_recipient_view(r, tz) for r in staff.get(view.unit_id, ())]
        plans += deadline_reminders(
            assignment=view,
            recipients=recipients,
            today=today,
            last_swept=last_swept,
            now=now,
            profile=profile,
            calendar=calendar,
        )
    plans += overdue_digest(
        overdue=rows,
        admins=[_recipient_view(a, tz) for a in admins],
        today=today,
        now=now,
        profile=profile,
        calendar=calendar,
    )
    return plans


async def run_sweep(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    calendar: WorkCalendar,
    profile: Jurisdiction,
    tz: tzinfo,
    holder: str,
    admin_ids: Collection[int] = (),
    ttl: timedelta = SWEEP_LEASE_TTL,
) -> SweepStats:
    """Take (or renew) the sweeps lease, then queue every reminder due by ``now`` and advance the watermark.

    ``admin_ids`` are the Telegram user ids of the admins (PROPOSAL_BOT_ADMINS), who get the overdue digest.

    Returns ``SweepStats(skipped_lease=True)`` without reading anything when another instance holds the lease.
    The lease is kept after the tick, so the leader stays the leader; release it at shutdown.
    """
    if now.tzinfo is None or now.tzinfo.utcoffset(now) is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    now = now.astimezone(UTC)
    today = now.astimezone(tz).date()
    async with sessionmaker.begin() as session:
        leader = await acquire_lease(session, name=SWEEP_LEASE, holder=holder, now=now, ttl=ttl)
    if not leader:
        logger.debug("sweep skipped: another instance holds the %s lease", SWEEP_LEASE)
        return SweepStats(skipped_lease=True, day=today)
    async with sessionmaker.begin() as session:
        last_swept = await find_watermark(session, name=WATERMARK)
        rows = await due_assignments(
            session, today=today, horizon_days=horizon_days(profile), open_states=frozenset(OPEN_STATES)
        )
        staff = await unit_recipients(session, unit_ids={row.unit_id for row in rows})
        admins = await admin_recipients(session, telegram_ids=admin_ids)
        plans = plan_sweep(
            rows,
            staff=staff,
            admins=admins,
            today=today,
            last_swept=last_swept,
            now=now,
            profile=profile,
            calendar=calendar,
            tz=tz,
        )
        queued = await queue_plans(session, plans, now=now)
        await set_watermark(session, name=WATERMARK, day=today, now=now)
    stats = SweepStats(
        planned=len(plans),
        queued=queued,
        deduplicated=len(plans) - queued,
        due=len(rows),
        day=today,
        last_swept=last_swept,
    )
    if queued:
        logger.info(
            "sweep %s: %s due clocks, %s pushes queued, %s already queued", today, stats.due, queued, stats.deduplicated
        )
    return stats
