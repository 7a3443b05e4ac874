"""What the deadline sweep reads: the clocks that are due or overdue, and who hears about them. Never commits.

The sweep's cost must grow with the due rows, not with every item ever filed. Two indexed reads do it:

- countdowns: a range scan of ``ix_assignments_active_due`` over ``[today, today + horizon]``;
- overdue: the open items through ``ix_proposals_state`` (migration 0003), then their assignments through
  ``ix_assignments_proposal_id``. Closed history is never touched.

SQLite's planner would rather walk ``ix_assignments_active_due`` over every past due day, which is O(history):
without statistics it takes ``active = 1`` for a selective equality, and with ``ANALYZE`` statistics (which
only hold the average number of items per state) it skip-scans the index. So the overdue query says
``active != false``, which no index serves, and ``rare()`` tells SQLite through ``likelihood()`` that the open
states are the rare ones. PostgreSQL keeps per-value statistics and needs no hint; there ``rare()`` renders the
bare condition.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Select, and_, exists, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from bot.domain.assignments import DueAssignment
from storage.accounts import admin_ids_clause
from storage.models import Account, Assignment, Proposal, Reply

__all__ = [
    "Recipient",
    "admin_recipients",
    "countdown_query",
    "due_assignments",
    "overdue_query",
    "rare",
    "unit_recipients",
]

_IN_CHUNK = 500  # values per IN (...) list: well under every engine's bind-parameter limit


@dataclass(frozen=True, slots=True)
class Recipient:
    """An active account that receives sweep pushes: unit staff or an admin."""

    account_id: int
    chat_id: int
    role: str
    unit_id: int | None
    quiet_start: time | None
    quiet_end: time | None
    language: str | None

    @property
    def quiet(self) -> tuple[time, time] | None:
        if self.quiet_start is None or self.quiet_end is None:
            return None
        return (self.quiet_start, self.quiet_end)


class rare(FunctionElement[bool]):  # lowercase, like SQLAlchemy's own SQL function classes
    """A condition that is seldom true: a planner hint on SQLite, the bare condition elsewhere."""

    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True  # a condition already: no "= 1" on engines without a boolean type

    def __init__(self, condition: ColumnElement[bool]) -> None:
        super().__init__(condition)


@compiles(rare)
def _rare_default(element: rare, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(rare, "sqlite")
def _rare_sqlite(element: rare, compiler: SQLCompiler, **kw: Any) -> str:
    # The probability must be a literal: SQLite rejects a bound parameter here.
    return f"likelihood({compiler.process(element.clauses, **kw)}, 0.001)"


def _base() -> Select[*tuple[Any, ...]]:
    opinion_in = exists().where(
        Reply.proposal_id == Assignment.proposal_id,
        Reply.unit_id == Assignment.unit_id,
        Reply.letter_type == "co-handling",
        Reply.superseded == false(),
    )
    return select(
        Assignment.id,
        Assignment.proposal_id,
        Assignment.unit_id,
        Proposal.number,
        Proposal.title,
        Assignment.role,
        Assignment.due_on,
        Assignment.original_due_on,
        Proposal.state,
        and_(Assignment.role == "co", opinion_in).label("answered"),
    ).join(Proposal, Proposal.id == Assignment.proposal_id)


def countdown_query(*, today: date, horizon_days: int, open_states: Collection[str]) -> Select[*tuple[Any, ...]]:
    """Open clocks due in ``[today, today + horizon_days]``: a range scan of the (active, due_on) index."""
    return _base().where(
        Assignment.active == true(),
        Assignment.due_on >= today,
        Assignment.due_on <= today + timedelta(days=horizon_days),
        Proposal.state.in_(sorted(open_states)),
    )


def overdue_query(*, today: date, open_states: Collection[str]) -> Select[*tuple[Any, ...]]:
    """Open clocks whose due day has passed: reached from the open items, never from the whole history."""
    return _base().where(
        rare(Proposal.state.in_(sorted(open_states))),
        # Not "= true": an equality on ``active`` would let SQLite range-scan (active, due_on) over every past
        # due day when it has no statistics, which is O(history).
        Assignment.active != false(),
        Assignment.due_on < today,
    )


def _rows(result: Iterable[Any]) -> list[DueAssignment]:
    return [
        DueAssignment(
            assignment_id=r.id,
            proposal_id=r.proposal_id,
            unit_id=r.unit_id,
            number=r.number,
            title=r.title,
            role=r.role,
            due_on=r.due_on,
            original_due_on=r.original_due_on,
            state=r.state,
            answered=bool(r.answered),
        )
        for r in result
    ]


async def due_assignments(
    session: AsyncSession, *, today: date, horizon_days: int, open_states: Collection[str]
) -> list[DueAssignment]:
    """Active assignments of open items due within ``horizon_days`` from ``today`` or already overdue.

    Ordered by due day, then assignment id. ``open_states`` are the lifecycle states that owe a reply.
    """
    if horizon_days < 0:
        raise ValueError(f"horizon_days must not be negative, got {horizon_days}")
    if not open_states:
        return []
    upcoming = await session.execute(countdown_query(today=today, horizon_days=horizon_days, open_states=open_states))
    late = await session.execute(overdue_query(today=today, open_states=open_states))
    rows = _rows(late) + _rows(upcoming)
    rows.sort(key=lambda r: (r.due_on, r.assignment_id))
    return rows


def _recipient(row: Any) -> Recipient:
    return Recipient(
        account_id=row.id,
        chat_id=row.chat_id,
        role=row.role,
        unit_id=row.unit_id,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        language=row.language,
    )


def _recipient_query() -> Select[*tuple[Any, ...]]:
    return select(
        Account.id,
        Account.chat_id,
        Account.role,
        Account.unit_id,
        Account.quiet_start,
        Account.quiet_end,
        Account.language,
    ).where(Account.active == true())


async def unit_recipients(session: AsyncSession, *, unit_ids: Iterable[int]) -> dict[int, list[Recipient]]:
    """The active staff accounts bound to each of ``unit_ids`` (units without staff are absent), by account id."""
    wanted = sorted(set(unit_ids))
    found: dict[int, list[Recipient]] = {}
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        result = await session.execute(
            _recipient_query().where(Account.role == "unit", Account.unit_id.in_(chunk)).order_by(Account.id)
        )
        for row in result:
            found.setdefault(row.unit_id, []).append(_recipient(row))
    return found


async def admin_recipients(session: AsyncSession, *, telegram_ids: Collection[int]) -> list[Recipient]:
    """The active accounts of the admins (listed in settings by Telegram id, or granted), as admins, by account id.

    A stored `admin` role does not count: removing an id from the settings, or revoking its grant, stops its pushes.
    """
    result = await session.execute(_recipient_query().where(admin_ids_clause(telegram_ids)).order_by(Account.id))
    return [replace(_recipient(row), role="admin") for row in result]
