"""One-time binding codes: an admin's link makes a Telegram account a deputy or unit staff. Never commits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import bind_account, find_account
from storage.errors import as_conflict
from storage.models import Account, BindCode, Deputy, Unit
from storage.proposals import find_deputy, find_unit, get_or_create_unit

CODE_TTL = timedelta(days=7)


class BindFailure(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


class BindError(Exception):
    def __init__(self, failure: BindFailure) -> None:
        super().__init__(failure.value)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class BindTarget:
    role: str  # deputy | unit
    name: str


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii", "replace")).hexdigest()


async def create_bind_code(
    session: AsyncSession, *, target: BindTarget, created_by: int | None, now: datetime, ttl: timedelta = CODE_TTL
) -> str:
    """A fresh code for `target` (the deputy must exist; a unit is created if new). Only its hash is stored."""
    deputy_id = unit_id = None
    if target.role == "deputy":
        deputy = await find_deputy(session, name=target.name)
        if deputy is None:
            deputy = Deputy(name=target.name)
            session.add(deputy)
            with as_conflict(f"deputy {target.name}"):
                await session.flush()
        deputy_id = deputy.id
    else:
        unit = await find_unit(session, name=target.name) or await get_or_create_unit(session, target.name)
        unit_id = unit.id
    code = secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
    session.add(
        BindCode(
            code_hash=_hash(code),
            role=target.role,
            deputy_id=deputy_id,
            unit_id=unit_id,
            created_by=created_by,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    with as_conflict(f"bind code for {target.role} {target.name}"):
        await session.flush()
    return code


async def redeem_bind_code(
    session: AsyncSession, *, code: str, telegram_id: int, chat_id: int, now: datetime, display_name: str = ""
) -> tuple[Account, str]:
    """Bind the account; returns it and the bound name. Raises BindError for unknown, used or expired codes."""
    row = await session.scalar(select(BindCode).where(BindCode.code_hash == _hash(code)).with_for_update())
    if row is None:
        raise BindError(BindFailure.UNKNOWN)
    if row.used_at is not None:
        raise BindError(BindFailure.USED)
    if row.expires_at <= now:
        raise BindError(BindFailure.EXPIRED)
    row.used_at = now
    row.used_by = telegram_id
    account = await bind_account(
        session,
        telegram_id=telegram_id,
        chat_id=chat_id,
        role=row.role,
        now=now,
        deputy_id=row.deputy_id,
        unit_id=row.unit_id,
        display_name=display_name,
    )
    name = ""
    if row.deputy_id is not None:
        deputy = await session.get(Deputy, row.deputy_id)
        name = deputy.name if deputy else ""
    elif row.unit_id is not None:
        unit = await session.get(Unit, row.unit_id)
        name = unit.name if unit else ""
    return account, name


async def unbind(session: AsyncSession, *, telegram_id: int) -> bool:
    """Drop the account's deputy or unit binding; returns False when there was none."""
    account = await find_account(session, telegram_id=telegram_id)
    if account is None or account.role not in {"deputy", "unit"}:
        return False
    account.role = "public"
    account.deputy_id = None
    account.unit_id = None
    await session.flush()
    return True
