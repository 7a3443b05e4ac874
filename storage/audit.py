"""The audit log: every admin action with who, when, what, and the old and new values. Never commits.

Only ``record_audit`` writes here, and nothing in the bot deletes an entry: items, replies and grants come and go,
their audit trail stays (``proposal_id`` has no foreign key, so deleting an item keeps its entries).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry, Proposal
from storage.proposals import SessionKey

__all__ = ["Actor", "AuditRecord", "count_audit", "item_subject", "list_audit", "proposal_subject", "record_audit"]


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a Telegram user (id and name), or the command line (no id)."""

    telegram_id: int | None
    name: str = ""


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """What was done to what: the action, the subject as people read it, and the values before and after."""

    action: str
    subject: str
    old: Mapping[str, Any] = field(default_factory=dict)
    new: Mapping[str, Any] = field(default_factory=dict)
    proposal_id: int | None = None


def item_subject(session_label: str, number: str) -> str:
    """How the audit log names an item: `长宁区人大 17-5 第018号`."""
    return f"{session_label} 第{number}号"


def proposal_subject(proposal: Proposal) -> str:
    """`item_subject` of a stored item (its session loaded)."""
    s = proposal.session
    return item_subject(SessionKey(region=s.region, body=s.body, term=s.term, sitting=s.sitting).label, proposal.number)


async def record_audit(session: AsyncSession, records: Sequence[AuditRecord], *, actor: Actor, now: datetime) -> None:
    """Store the entries in the caller's transaction (one statement, however many: an import records many)."""
    if not records:
        return
    rows = [
        {
            "at": now,
            "actor_id": actor.telegram_id,
            "actor_name": actor.name[:128],
            "action": r.action,
            "proposal_id": r.proposal_id,
            "subject": r.subject[:256],
            "old": dict(r.old),
            "new": dict(r.new),
        }
        for r in records
    ]
    await session.execute(insert(AuditEntry), rows)


def _scope(proposal_id: int | None) -> Any:
    query = select(AuditEntry)
    return query if proposal_id is None else query.where(AuditEntry.proposal_id == proposal_id)


async def list_audit(
    session: AsyncSession, *, proposal_id: int | None = None, offset: int = 0, limit: int = 10
) -> list[AuditEntry]:
    """Entries newest first (of one item, if given), one page."""
    query = _scope(proposal_id).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset(offset).limit(limit)
    return list((await session.scalars(query)).all())


async def count_audit(session: AsyncSession, *, proposal_id: int | None = None) -> int:
    query = select(func.count()).select_from(AuditEntry)
    if proposal_id is not None:
        query = query.where(AuditEntry.proposal_id == proposal_id)
    return int(await session.scalar(query) or 0)
