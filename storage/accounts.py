"""Telegram accounts: role bindings and preferences. Never commits."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account


async def find_account(session: AsyncSession, *, telegram_id: int) -> Account | None:
    return await session.scalar(select(Account).where(Account.telegram_id == telegram_id))


async def ensure_account(
    session: AsyncSession,
    *,
    telegram_id: int,
    chat_id: int,
    now: datetime,
    display_name: str = "",
    language: str | None = None,
) -> Account:
    """The account of a Telegram user, created as `public` on first contact."""
    account = await find_account(session, telegram_id=telegram_id)
    if account is None:
        account = Account(
            telegram_id=telegram_id,
            chat_id=chat_id,
            display_name=display_name,
            language=language,
            role="public",
            created_at=now,
        )
        session.add(account)
        await session.flush()
    return account


async def bind_account(
    session: AsyncSession,
    *,
    telegram_id: int,
    chat_id: int,
    role: str,
    now: datetime,
    deputy_id: int | None = None,
    unit_id: int | None = None,
    display_name: str = "",
) -> Account:
    account = await ensure_account(
        session, telegram_id=telegram_id, chat_id=chat_id, now=now, display_name=display_name
    )
    account.role = role
    account.deputy_id = deputy_id
    account.unit_id = unit_id
    account.active = True
    await session.flush()
    return account
