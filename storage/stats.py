"""The SQL behind /stats: per lead unit and per state counts, aggregated in the database (one query each).

The definitions (replied, on time, overdue, pending) are those of `bot/domain/stats.py`. The current reply of an
item is its newest non-superseded formal reply (as the export reads it), and its rating the newest one given.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from types import MappingProxyType
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.lifecycle import OPEN_STATES, State
from bot.domain.ratings import RESULT_CLASSES
from bot.domain.stats import RATINGS, StatsReport, UnitTally
from storage.models import Assignment, Feedback, Proposal, Reply, Unit

__all__ = ["load_stats"]

_OPEN = [s.value for s in OPEN_STATES]


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def load_stats(
    session: AsyncSession, *, today: date, session_ids: Sequence[int] | None = None, unit_id: int | None = None
) -> StatsReport:
    """Counts for the items of these sessions (all when None), of one lead unit if `unit_id` is given."""
    current = (
        select(Reply.proposal_id, func.max(Reply.id).label("reply_id"))
        .where(Reply.letter_type == "reply", Reply.superseded.is_(False))
        .group_by(Reply.proposal_id)
        .subquery()
    )
    latest = (
        select(Feedback.reply_id, func.max(Feedback.id).label("feedback_id")).group_by(Feedback.reply_id).subquery()
    )
    lead = and_(Assignment.proposal_id == Proposal.id, Assignment.active.is_(True), Assignment.role == "lead")
    replied = and_(Reply.id.is_not(None), Proposal.state.not_in(_OPEN))
    late = and_(replied, Assignment.due_on.is_not(None), Reply.replied_on > Assignment.due_on)
    columns = [
        Unit.name,
        func.count(Proposal.id),
        _count(and_(replied, ~late)),
        _count(late),
        _count(and_(Proposal.state.in_(_OPEN), Assignment.due_on < today)),
        *(_count(Reply.result_class == c) for c in RESULT_CLASSES),
        *(_count(Feedback.rating == r) for r in RATINGS),
    ]
    query = (
        select(*columns)
        .select_from(Proposal)
        .join(Assignment, lead)
        .join(Unit, Unit.id == Assignment.unit_id)
        .outerjoin(current, current.c.proposal_id == Proposal.id)
        .outerjoin(Reply, Reply.id == current.c.reply_id)
        .outerjoin(latest, latest.c.reply_id == Reply.id)
        .outerjoin(Feedback, Feedback.id == latest.c.feedback_id)
        .where(Proposal.state != State.withdrawn.value)
        .group_by(Unit.id, Unit.name)
    )
    states = select(Proposal.state, func.count(Proposal.id)).group_by(Proposal.state)
    if session_ids is not None:
        query = query.where(Proposal.session_id.in_(list(session_ids)))
        states = states.where(Proposal.session_id.in_(list(session_ids)))
    if unit_id is not None:
        query = query.where(Assignment.unit_id == unit_id)
        states = states.join(Assignment, lead).where(Assignment.unit_id == unit_id)
    units: list[UnitTally] = []
    n = len(RESULT_CLASSES)
    for name, items, on_time, late_count, overdue, *rest in (await session.execute(query)).all():
        units.append(
            UnitTally(
                unit=name,
                items=int(items),
                on_time=int(on_time),
                late=int(late_count),
                overdue=int(overdue),
                classes=MappingProxyType({c: int(v) for c, v in zip(RESULT_CLASSES, rest[:n], strict=True)}),
                ratings=MappingProxyType({r: int(v) for r, v in zip(RATINGS, rest[n:], strict=True)}),
            )
        )
    units.sort(key=lambda u: (-u.items, u.unit))
    by_state = {state: int(count) for state, count in (await session.execute(states)).all()}
    return StatsReport(units=tuple(units), states=MappingProxyType(by_state))
