"""Reply letters (答复, 会办意见) and ratings. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload, undefer

from storage.cards import refresh_card
from storage.errors import NotFound, as_conflict
from storage.models import Feedback, OutboxMessage, Reply
from storage.proposals import get_or_create_unit


@dataclass(frozen=True, slots=True)
class ReplyRecord:
    letter_type: str = "reply"
    unit: str | None = None
    result_text: str | None = None
    result_class: str | None = None
    signer: str | None = None
    replied_on: date | None = None
    public: bool | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_address: str | None = None
    contact_postcode: str | None = None
    doc_number: str | None = None
    summary: str = ""
    body: str = ""
    file_name: str | None = None
    file_data: bytes | None = None


async def add_reply(session: AsyncSession, *, proposal_id: int, record: ReplyRecord, now: datetime) -> Reply:
    """Store a letter; a new formal reply supersedes the previous one. The caller records the event."""
    unit = await get_or_create_unit(session, record.unit) if record.unit else None
    if record.letter_type == "reply":
        await session.execute(
            update(Reply)
            .where(Reply.proposal_id == proposal_id, Reply.letter_type == "reply", Reply.superseded.is_(False))
            .values(superseded=True)
        )
    reply = Reply(
        proposal_id=proposal_id,
        unit_id=unit.id if unit else None,
        letter_type=record.letter_type,
        result_text=record.result_text,
        result_class=record.result_class,
        signer=record.signer,
        replied_on=record.replied_on,
        public=record.public,
        contact_name=record.contact_name,
        contact_phone=record.contact_phone,
        contact_address=record.contact_address,
        contact_postcode=record.contact_postcode,
        doc_number=record.doc_number,
        summary=record.summary,
        body=record.body,
        file_name=record.file_name,
        file_data=record.file_data,
        created_at=now,
    )
    session.add(reply)
    with as_conflict(f"{record.letter_type} letter for item {proposal_id}"):
        await session.flush()
    await refresh_card(session, proposal_id=proposal_id)
    return reply


async def find_current_reply(session: AsyncSession, *, proposal_id: int, with_file: bool = False) -> Reply | None:
    query = (
        select(Reply)
        .where(Reply.proposal_id == proposal_id, Reply.letter_type == "reply", Reply.superseded.is_(False))
        .options(selectinload(Reply.unit))
        .order_by(Reply.id.desc())
        .limit(1)
    )
    if with_file:
        query = query.options(undefer(Reply.file_data))
    return await session.scalar(query)


async def add_feedback(
    session: AsyncSession,
    *,
    reply_id: int,
    proposal_id: int,
    rating: str,
    now: datetime,
    deputy_id: int | None = None,
    reason: str | None = None,
) -> Feedback:
    feedback = Feedback(reply_id=reply_id, deputy_id=deputy_id, rating=rating, reason=reason, created_at=now)
    session.add(feedback)
    with as_conflict(f"rating of reply {reply_id}"):
        await session.flush()
    await refresh_card(session, proposal_id=proposal_id)
    return feedback


async def get_reply(session: AsyncSession, *, reply_id: int) -> Reply:
    reply = await session.get(Reply, reply_id)
    if reply is None:
        raise NotFound(f"reply {reply_id}")
    return reply


async def find_feedback(session: AsyncSession, *, reply_id: int, deputy_id: int | None) -> Feedback | None:
    return await session.scalar(
        select(Feedback).where(Feedback.reply_id == reply_id, Feedback.deputy_id == deputy_id).limit(1)
    )


async def cancel_pushes(session: AsyncSession, *, dedup_key: str) -> int:
    """Withdraw a queued push that is no longer wanted (a feedback request once the deputy has rated)."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedup_key == dedup_key, OutboxMessage.status == "pending")
        .values(status="cancelled", last_error="no longer needed")
    )
    return int(getattr(result, "rowcount", 0) or 0)
