"""Admin grants: admins beyond PROPOSAL_BOT_ADMINS, recorded by `/grant` and deleted by `/revoke`. Never commits.

The admin role itself is never stored: `bot/domain/access.is_admin_id` derives it from the settings plus these
rows at every update, so a revoked grant (or an id dropped from the settings) counts for nothing at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import as_conflict
from storage.models import AdminGrant


async def is_granted(session: AsyncSession, *, telegram_id: int) -> bool:
    found = await session.scalar(select(AdminGrant.telegram_id).where(AdminGrant.telegram_id == telegram_id))
    return found is not None


async def list_grants(session: AsyncSession) -> Sequence[AdminGrant]:
    return (await session.scalars(select(AdminGrant).order_by(AdminGrant.granted_at, AdminGrant.telegram_id))).all()


async def grant_admin(session: AsyncSession, *, telegram_id: int, granted_by: int, now: datetime) -> bool:
    """Record a grant; False when the id already holds one."""
    if await is_granted(session, telegram_id=telegram_id):
        return False
    session.add(AdminGrant(telegram_id=telegram_id, granted_by=granted_by, granted_at=now))
    with as_conflict(f"admin grant of Telegram user {telegram_id}"):
        await session.flush()
    return True


async def revoke_admin(session: AsyncSession, *, telegram_id: int) -> bool:
    """Delete a grant; False when there was none."""
    result = await session.execute(delete(AdminGrant).where(AdminGrant.telegram_id == telegram_id))
    return bool(getattr(result, "rowcount", 0))
