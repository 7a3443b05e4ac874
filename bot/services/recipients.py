"""Accounts as push recipients: the quiet hours and role the planner needs, and what the access policy lets each
one see, from stored accounts."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import time, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.planner import RecipientView
from bot.domain.access import Viewer, account_viewer
from config.settings import Jurisdiction
from storage.accounts import admin_accounts
from storage.models import Account

__all__ = ["push_viewers", "quiet_hours", "recipient_view", "recipient_views"]


def quiet_hours(account: Account, profile: Jurisdiction) -> tuple[time, time] | None:
    """An account's quiet hours: unset means the jurisdiction's default; 00:00–00:00 means none."""
    if account.quiet_start is None or account.quiet_end is None:
        return profile.quiet_hours
    if account.quiet_start == account.quiet_end:
        return None
    return (account.quiet_start, account.quiet_end)


def recipient_view(account: Account, profile: Jurisdiction, tz: tzinfo, *, role: str | None = None) -> RecipientView:
    return RecipientView(
        account_id=account.id,
        chat_id=account.chat_id,
        role=role or account.role,
        quiet=quiet_hours(account, profile),
        tz=tz,
    )


def recipient_views(accounts: Iterable[Account], profile: Jurisdiction, tz: tzinfo) -> list[RecipientView]:
    """One view per active account, each account once (a unit's staff may follow the item too)."""
    seen: set[int] = set()
    views: list[RecipientView] = []
    for account in accounts:
        if account.id in seen or not account.active:
            continue
        seen.add(account.id)
        views.append(recipient_view(account, profile, tz))
    return views


async def push_viewers(
    session: AsyncSession, accounts: Iterable[Account], *, admin_ids: Collection[int]
) -> dict[int, Viewer]:
    """Each account's viewer, by account id, for deciding what a push may tell it (bot/domain/access).

    Admins are derived as at every update: listed in `admin_ids` (PROPOSAL_BOT_ADMINS) or granted in the
    database; a stored `admin` role counts for nothing.
    """
    admins = {a.id for a in await admin_accounts(session, telegram_ids=admin_ids)}
    return {
        a.id: account_viewer(admin=a.id in admins, role=a.role, deputy_id=a.deputy_id, unit_id=a.unit_id)
        for a in accounts
    }
