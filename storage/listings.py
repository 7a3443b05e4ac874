"""Lists of status cards for /mine, /due and /overdue: a deputy's items, a unit's items, or all of them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.card import Card
from storage.cards import load_card
from storage.models import Assignment, Proposal, ProposalDeputy, StatusCard


async def list_cards(
    session: AsyncSession,
    *,
    deputy_id: int | None = None,
    unit_id: int | None = None,
    states: Collection[str] | None = None,
    due_before: date | None = None,
    due_from: date | None = None,
    limit: int = 200,
) -> list[Card]:
    """Cards of a deputy's items, a unit's items, or all items; optionally by state and due day [from, before).

    Ordered by the lead (or the unit's own) due day, earliest first; items without a due day come last.
    """
    query = select(StatusCard.payload, Assignment.due_on).join(Proposal, Proposal.id == StatusCard.proposal_id)
    if unit_id is not None:
        query = query.join(
            Assignment,
            (Assignment.proposal_id == Proposal.id) & Assignment.active.is_(True) & (Assignment.unit_id == unit_id),
        )
    else:
        query = query.outerjoin(
            Assignment,
            (Assignment.proposal_id == Proposal.id) & Assignment.active.is_(True) & (Assignment.role == "lead"),
        )
    if deputy_id is not None:
        query = query.join(
            ProposalDeputy, (ProposalDeputy.proposal_id == Proposal.id) & (ProposalDeputy.deputy_id == deputy_id)
        )
    if states is not None:
        query = query.where(Proposal.state.in_(list(states)))
    if due_before is not None:
        query = query.where(Assignment.due_on.is_not(None), Assignment.due_on < due_before)
    if due_from is not None:
        query = query.where(Assignment.due_on.is_not(None), Assignment.due_on >= due_from)
    query = query.order_by(Assignment.due_on.is_(None), Assignment.due_on, Proposal.id).limit(limit)
    rows = (await session.execute(query)).all()
    seen: set[int] = set()
    cards: list[Card] = []
    for payload, _due in rows:
        card = load_card(payload)
        if card["id"] not in seen:
            seen.add(card["id"])
            cards.append(card)
    return cards
