"""The one way to queue a push: planned pushes become outbox rows here, and nowhere else.

Services (a registered reply, a rating), the deadline sweep and the ticker's own notes all plan ``Plan`` values
and hand them to ``queue_plans`` inside the caller's transaction, so a push is queued exactly when the change
that caused it commits. Every plan carries a dedup key: queuing the same plans again queues nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.planner import Plan
from storage.outbox import enqueue, queued_dedup_keys

__all__ = ["queue_plans"]


def _payload(plan: Plan) -> dict[str, Any]:
    return {"text_key": plan.text_key, "params": dict(plan.params)}


async def queue_plans(session: AsyncSession, plans: Sequence[Plan], *, now: datetime) -> int:
    """Put the plans the outbox does not hold yet into it; returns how many were new.

    The caller owns the transaction. A plan for an account that blocked the bot queues nothing.
    """
    known = await queued_dedup_keys(session, keys=[plan.dedup_key for plan in plans])
    queued = 0
    for plan in plans:
        if plan.dedup_key in known:
            continue
        if await enqueue(
            session,
            dedup_key=plan.dedup_key,
            chat_id=plan.chat_id,
            account_id=plan.recipient_account_id,
            kind=plan.kind,
            payload=_payload(plan),
            due_at=plan.due_at,
            now=now,
        ):
            queued += 1
    return queued
