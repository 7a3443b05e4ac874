"""Follows (subscriptions): an item, a unit, a keyword or a whole session. Never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import as_conflict
from storage.models import Subscription

KINDS = ("item", "unit", "keyword", "session")
#: Follows one account may hold: each is matched on every registered reply, so the number is bounded.
MAX_FOLLOWS = 200


class TooManyFollows(Exception):
    """The account already holds MAX_FOLLOWS follows; nothing was added."""


async def follow(session: AsyncSession, *, account_id: int, kind: str, key: str, now: datetime) -> bool:
    """Add a follow; returns False when the account already follows that target.

    Raises TooManyFollows, before writing anything, when the account holds MAX_FOLLOWS follows already.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown follow kind {kind!r}")
    existing = await session.scalar(
        select(Subscription.id).where(
            Subscription.account_id == account_id, Subscription.target_kind == kind, Subscription.target_key == key
        )
    )
    if existing is not None:
        return False
    held = await session.scalar(
        select(func.count()).select_from(Subscription).where(Subscription.account_id == account_id)
    )
    if (held or 0) >= MAX_FOLLOWS:
        raise TooManyFollows(account_id)
    session.add(Subscription(account_id=account_id, target_kind=kind, target_key=key, created_at=now))
    with as_conflict(f"follow of {kind}:{key} by account {account_id}"):
        await session.flush()
    return True


async def unfollow(session: AsyncSession, *, account_id: int, kind: str, key: str) -> bool:
    result = await session.execute(
        delete(Subscription).where(
            Subscription.account_id == account_id, Subscription.target_kind == kind, Subscription.target_key == key
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def find_follow(session: AsyncSession, *, account_id: int, follow_id: int) -> Subscription | None:
    """One of this account's follows by its id; None for an id that is not the account's (or no longer exists)."""
    found: Subscription | None = await session.scalar(
        select(Subscription).where(Subscription.id == follow_id, Subscription.account_id == account_id)
    )
    return found


async def list_follows(session: AsyncSession, *, account_id: int) -> Sequence[Subscription]:
    result = await session.scalars(
        select(Subscription).where(Subscription.account_id == account_id).order_by(Subscription.id)
    )
    return result.all()


async def followers(session: AsyncSession, *, kind: str, key: str) -> Sequence[int]:
    """Account ids following one target (the index on (target_kind, target_key) serves this)."""
    result = await session.scalars(
        select(Subscription.account_id).where(Subscription.target_kind == kind, Subscription.target_key == key)
    )
    return result.all()


async def keyword_follows(session: AsyncSession) -> Sequence[tuple[int, str]]:
    """Every keyword follow as (account id, keywords); matched against an item's jieba tokens by the caller."""
    result = await session.execute(
        select(Subscription.account_id, Subscription.target_key).where(Subscription.target_kind == "keyword")
    )
    return [(account_id, key) for account_id, key in result.all()]
