"""Telegram accounts: role bindings and preferences. Never commits."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, time
from typing import Literal

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import as_conflict
from storage.models import Account, AdminGrant


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
        with as_conflict(f"account of Telegram user {telegram_id}"):
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
    with as_conflict(f"{role} binding of Telegram user {telegram_id}"):
        await session.flush()
    return account


async def language_overrides(session: AsyncSession) -> dict[int, str]:
    """Telegram user id → the language the user chose in /settings (only users who chose one)."""
    result = await session.execute(select(Account.telegram_id, Account.language).where(Account.language.is_not(None)))
    return {telegram_id: language for telegram_id, language in result.all() if language}


async def update_preferences(
    session: AsyncSession,
    *,
    account: Account,
    language: str | Literal["keep"] | None = "keep",
    digest_mode: str | None = None,
    quiet: tuple[time | None, time | None] | None = None,
) -> None:
    """Change /settings preferences; `language=None` returns to the Telegram app's language."""
    if language != "keep":
        account.language = language
    if digest_mode is not None:
        if digest_mode not in {"instant", "daily", "weekly"}:
            raise ValueError(f"unknown digest mode {digest_mode!r}")
        account.digest_mode = digest_mode
    if quiet is not None:
        account.quiet_start, account.quiet_end = quiet
    await session.flush()


async def accounts_for(
    session: AsyncSession, *, account_ids: Collection[int] = (), deputy_ids: Collection[int] = ()
) -> Sequence[Account]:
    """Active accounts by id, plus the accounts bound to any of the deputies."""
    if not account_ids and not deputy_ids:
        return []
    query = select(Account).where(
        Account.active.is_(True),
        or_(Account.id.in_(list(account_ids)), and_(Account.role == "deputy", Account.deputy_id.in_(list(deputy_ids)))),
    )
    return (await session.scalars(query)).all()


def admin_ids_clause(telegram_ids: Collection[int]) -> ColumnElement[bool]:
    """Admins: listed in settings (`telegram_ids`) or granted in the database; a stored role never counts."""
    granted = select(AdminGrant.telegram_id).scalar_subquery()
    return or_(Account.telegram_id.in_(sorted(set(telegram_ids))), Account.telegram_id.in_(granted))


async def admin_accounts(session: AsyncSession, *, telegram_ids: Collection[int]) -> Sequence[Account]:
    """The active accounts of the admins: listed in settings (by Telegram id) or granted by `/grant`."""
    query = select(Account).where(Account.active.is_(True), admin_ids_clause(telegram_ids))
    return (await session.scalars(query.order_by(Account.id))).all()


async def unit_accounts(session: AsyncSession, *, unit_id: int) -> Sequence[Account]:
    """Active staff accounts bound to one unit."""
    query = select(Account).where(Account.active.is_(True), Account.role == "unit", Account.unit_id == unit_id)
    return (await session.scalars(query)).all()
