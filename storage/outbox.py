"""The delivery outbox: queue each push once, claim due rows atomically, and record every delivery outcome.

A row's life: ``pending`` (waiting for ``due_at``) → ``claimed`` (a dispatcher holds a lease on it until
``claimed_until``) → ``sent``, or back to ``pending`` for a retry, or ``dead`` (given up; admins see it).
A claimed row whose lease has run out belongs to nobody again: the worker holding it crashed or stalled, so
the next claim takes it over. That is how nothing is lost.

The claim is atomic on both engines. PostgreSQL locks the due rows with ``SELECT … FOR UPDATE SKIP LOCKED``
(concurrent claimers skip each other's rows instead of waiting for them), then updates them; SQLite has a
single writer, so one ``UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING …`` statement is atomic by itself.
Both claim in ``(due_at, id)`` order through the ``(status, due_at)`` index, so a claim costs O(claimed rows),
not O(table).

Repositories never commit: the caller owns the transaction (STYLE.md #5). ``enqueue`` in particular runs in
the transaction of the state change that caused the push, so both commit together or neither does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import NotFound, StorageError
from storage.models import Account, OutboxMessage

__all__ = [
    "BLOCKED",
    "CLAIMED",
    "DEAD",
    "PENDING",
    "SENT",
    "STATUSES",
    "Claimed",
    "DeadMessage",
    "claim",
    "count_by_status",
    "deactivate_chat",
    "enqueue",
    "list_dead",
    "mark_dead",
    "mark_retry",
    "mark_sent",
    "next_due_at",
    "queued_dedup_keys",
    "release",
]

PENDING: Final = "pending"
CLAIMED: Final = "claimed"
SENT: Final = "sent"
DEAD: Final = "dead"
STATUSES: Final = (PENDING, CLAIMED, SENT, DEAD)

#: Rows merged into a digest, and the digest modes that hold rows back.
MERGED: Final = "merged"
DIGEST_MODES: Final = frozenset({"daily", "weekly"})

#: ``last_error`` of the rows killed because their recipient blocked the bot.
BLOCKED: Final = "blocked"

#: ``UPDATE … RETURNING`` arrived in SQLite 3.35 (2021); the claim needs it.
_SQLITE_RETURNING = (3, 35, 0)
_MAX_ERROR = 1000
_IN_CHUNK = 500  # values per IN (...) list: well under every engine's bind-parameter limit

_T = OutboxMessage


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row a dispatcher holds a lease on: everything it needs to render and send the push."""

    id: int
    chat_id: int
    account_id: int | None
    kind: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class DeadMessage:
    """A push given up on, for admins: whom it was for, how often it was tried and the last error."""

    id: int
    chat_id: int
    account_id: int | None
    kind: str
    attempts: int
    last_error: str | None
    due_at: datetime
    created_at: datetime


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _clip(error: str) -> str:
    return error if len(error) <= _MAX_ERROR else error[: _MAX_ERROR - 1] + "…"


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return result.rowcount


async def enqueue(
    session: AsyncSession,
    *,
    dedup_key: str,
    chat_id: int,
    account_id: int | None,
    kind: str,
    payload: dict[str, Any],
    due_at: datetime,
    now: datetime,
) -> bool:
    """Queue a push unless one with ``dedup_key`` exists; True if this call queued it.

    An inactive account (the user blocked the bot) gets nothing queued: False. Raises NotFound for an
    account id that does not exist. ``due_at`` and ``now`` must be timezone-aware.
    """
    digest: str | None = None
    if account_id is not None:
        row = (
            await session.execute(select(Account.active, Account.digest_mode).where(Account.id == account_id))
        ).one_or_none()
        if row is None:
            raise NotFound(f"no account {account_id}")
        if not row.active:
            return False
        # a daily or weekly digest holds the push until the digest moment, then merges it (see merge_digests)
        digest = row.digest_mode if row.digest_mode in DIGEST_MODES else None
    values: dict[str, Any] = {
        "dedup_key": dedup_key,
        "account_id": account_id,
        "chat_id": chat_id,
        "kind": kind,
        "payload": payload,
        "status": PENDING,
        "due_at": due_at,
        "attempts": 0,
        "created_at": now,
        "digest": digest,
    }
    dialect = _dialect(session)
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql  # loaded on first use: 60-110 ms of start-up on SQLite

        pg_stmt = postgresql.insert(_T).values(values).on_conflict_do_nothing(index_elements=["dedup_key"])
        result = await session.execute(pg_stmt.returning(_T.id))
    elif dialect == "sqlite":
        lite_stmt = sqlite.insert(_T).values(values).on_conflict_do_nothing(index_elements=["dedup_key"])
        result = await session.execute(lite_stmt.returning(_T.id))
    else:  # pragma: no cover - the project supports exactly these two engines
        raise StorageError(f"the outbox does not support the {dialect} dialect")
    return result.scalar_one_or_none() is not None


def _claimable(now: datetime) -> Any:
    return or_(
        and_(_T.status == PENDING, _T.due_at <= now, _T.digest.is_(None)),
        and_(_T.status == CLAIMED, _T.claimed_until < now),
    )


async def claim(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    limit: int,
    lease: timedelta,
) -> list[Claimed]:
    """Claim up to ``limit`` due rows for ``worker`` until ``now + lease``, oldest ``due_at`` first.

    Due means pending with ``due_at <= now``, or claimed by anyone with a lease that ran out before ``now``.
    Two concurrent claimers never get the same row. Commit soon: on PostgreSQL the rows stay locked until
    the transaction ends.
    """
    if limit <= 0:
        return []
    if lease <= timedelta(0):
        raise ValueError("the lease must be positive")
    until = now + lease
    due = _claimable(now)
    oldest_first = (_T.due_at, _T.id)
    columns = (_T.id, _T.chat_id, _T.account_id, _T.kind, _T.payload, _T.attempts, _T.due_at)
    dialect = _dialect(session)
    if dialect == "postgresql":
        locked = select(_T.id).where(due).order_by(*oldest_first).limit(limit).with_for_update(skip_locked=True)
        ids = list((await session.scalars(locked)).all())
        if not ids:
            return []
        target: Any = _T.id.in_(ids)
    elif dialect == "sqlite":
        if sqlite3.sqlite_version_info < _SQLITE_RETURNING:
            raise StorageError(f"the outbox claim needs SQLite >= 3.35 (RETURNING), found {sqlite3.sqlite_version}")
        target = _T.id.in_(select(_T.id).where(due).order_by(*oldest_first).limit(limit).scalar_subquery())
    else:  # pragma: no cover
        raise StorageError(f"the outbox does not support the {dialect} dialect")
    stmt = (
        update(_T)
        .where(target)
        .values(status=CLAIMED, claimed_by=worker, claimed_until=until)
        .returning(*columns)
        .execution_options(synchronize_session=False)
    )
    # RETURNING promises no order; the dispatcher relies on due order (per-chat message order).
    rows = sorted((await session.execute(stmt)).all(), key=lambda r: (r.due_at, r.id))
    return [Claimed(r.id, r.chat_id, r.account_id, r.kind, dict(r.payload or {}), r.attempts) for r in rows]


def _held(message_id: int, worker: str | None) -> Any:
    """The row, while it is still claimed (by ``worker`` when given): a lease taken over is not ours to change."""
    condition = and_(_T.id == message_id, _T.status == CLAIMED)
    return condition if worker is None else and_(condition, _T.claimed_by == worker)


async def _update(session: AsyncSession, where: Any, **values: Any) -> int:
    stmt = update(_T).where(where).values(**values).execution_options(synchronize_session=False)
    return _rowcount(await session.execute(stmt))


async def mark_sent(session: AsyncSession, message_id: int, *, now: datetime) -> bool:
    """Record that Telegram accepted the message. Unconditional: whatever else happened, it was delivered."""
    count = await _update(session, _T.id == message_id, status=SENT, sent_at=now, claimed_until=None, last_error=None)
    return count == 1


async def mark_retry(
    session: AsyncSession,
    message_id: int,
    *,
    due_at: datetime,
    error: str,
    worker: str | None = None,
) -> bool:
    """A failed attempt: count it and put the row back to pending until ``due_at``.

    With ``worker``, only while that worker still holds the row; False if it no longer does.
    """
    count = await _update(
        session,
        _held(message_id, worker),
        status=PENDING,
        due_at=due_at,
        attempts=_T.attempts + 1,
        last_error=_clip(error),
        claimed_by=None,
        claimed_until=None,
    )
    return count == 1


async def mark_dead(session: AsyncSession, message_id: int, *, error: str, worker: str | None = None) -> bool:
    """Give up on a claimed row (the attempt that failed is counted). With ``worker``, only while it holds it."""
    count = await _update(
        session,
        _held(message_id, worker),
        status=DEAD,
        attempts=_T.attempts + 1,
        last_error=_clip(error),
        claimed_until=None,
    )
    return count == 1


async def release(
    session: AsyncSession,
    message_ids: Sequence[int],
    *,
    worker: str,
    due_at: datetime | None = None,
    error: str | None = None,
) -> int:
    """Hand rows ``worker`` holds back to pending without counting an attempt, optionally due later.

    For rows that were never tried (a batch cut short, a chat that must wait) and for a 429, which is the
    sender's pace and not the message's fault. Returns how many rows were released.
    """
    if not message_ids:
        return 0
    values: dict[str, Any] = {"status": PENDING, "claimed_by": None, "claimed_until": None}
    if due_at is not None:
        values["due_at"] = due_at
    if error is not None:
        values["last_error"] = _clip(error)
    where = and_(_T.id.in_(list(message_ids)), _T.status == CLAIMED, _T.claimed_by == worker)
    return await _update(session, where, **values)


async def deactivate_chat(session: AsyncSession, chat_id: int) -> int:
    """The recipient blocked the bot: deactivate the accounts of ``chat_id`` and kill their undelivered rows.

    Rows still pending or claimed for that chat (or for those accounts) become dead with ``last_error``
    "blocked"; ``enqueue`` refuses the accounts from now on. Returns how many rows were killed.
    """
    account_ids = list(
        (
            await session.scalars(
                update(Account)
                .where(Account.chat_id == chat_id, Account.active.is_(True))
                .values(active=False)
                .returning(Account.id)
                .execution_options(synchronize_session=False)
            )
        ).all()
    )
    recipient: Any = _T.chat_id == chat_id
    if account_ids:
        recipient = or_(recipient, _T.account_id.in_(account_ids))
    return await _update(
        session,
        and_(_T.status.in_((PENDING, CLAIMED)), recipient),
        status=DEAD,
        last_error=BLOCKED,
        claimed_until=None,
    )


async def count_by_status(session: AsyncSession) -> dict[str, int]:
    """How many rows are in each status; every status is present, zero when empty."""
    counts = dict.fromkeys(STATUSES, 0)
    rows = await session.execute(select(_T.status, func.count()).group_by(_T.status))
    for status, count in rows:
        counts[status] = int(count)
    return counts


async def list_dead(session: AsyncSession, *, limit: int = 50) -> list[DeadMessage]:
    """The most recent dead rows (latest ``due_at`` first), for admins."""
    rows = await session.execute(
        select(_T.id, _T.chat_id, _T.account_id, _T.kind, _T.attempts, _T.last_error, _T.due_at, _T.created_at)
        .where(_T.status == DEAD)
        .order_by(_T.due_at.desc(), _T.id.desc())
        .limit(limit)
    )
    return [DeadMessage(*row) for row in rows]


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the next row becomes claimable: the earliest pending ``due_at`` or claimed lease end; None if idle."""
    pending = await session.scalar(select(func.min(_T.due_at)).where(_T.status == PENDING, _T.digest.is_(None)))
    leased = await session.scalar(select(func.min(_T.claimed_until)).where(_T.status == CLAIMED))
    moments = [m for m in (pending, leased) if m is not None]
    return min(moments) if moments else None


async def merge_digests(session: AsyncSession, *, mode: str, cutoff: datetime, now: datetime) -> int:
    """Merge each chat's held `mode` digest rows due by `cutoff` into one `digest` row; returns the rows queued.

    A chat with a single held row gets that row released as it is. The originals of a merge become `merged`,
    in the same transaction as the new row, so a crash neither loses nor repeats them.
    """
    rows = (
        await session.execute(
            select(_T.id, _T.chat_id, _T.account_id, _T.kind, _T.payload)
            .where(_T.status == PENDING, _T.digest == mode, _T.due_at <= cutoff)
            .order_by(_T.chat_id, _T.due_at, _T.id)
        )
    ).all()
    by_chat: dict[int, list[Any]] = {}
    for row in rows:
        by_chat.setdefault(row.chat_id, []).append(row)
    queued = 0
    for chat_id, items in by_chat.items():
        if len(items) == 1:
            await session.execute(update(_T).where(_T.id == items[0].id).values(digest=None, due_at=cutoff))
            queued += 1
            continue
        await session.execute(
            update(_T).where(_T.id.in_([r.id for r in items])).values(status=MERGED, last_error="merged into a digest")
        )
        if await enqueue(
            session,
            dedup_key=f"digest:{mode}:{chat_id}:{cutoff.isoformat()}",
            chat_id=chat_id,
            account_id=None,
            kind="digest",
            payload={"items": _latest_per_subject(items)},
            due_at=cutoff,
            now=now,
        ):
            queued += 1
    return queued


def _latest_per_subject(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Digest entries, keeping only the newest push of each kind about each item (yesterday's "overdue by 3
    days" says nothing today's "overdue by 4 days" does not)."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:  # ordered by due_at: later rows replace earlier ones
        params = (row.payload or {}).get("params") or {}
        subject = str(params.get("proposal_id", f"row{row.id}"))
        latest.pop((row.kind, subject), None)
        latest[(row.kind, subject)] = {"kind": row.kind, "payload": row.payload}
    return list(latest.values())


async def count_dead_since(session: AsyncSession, *, since: datetime) -> int:
    """Pushes given up on whose due moment was at or after `since` (for the admins' daily note)."""
    return int(
        await session.scalar(select(func.count()).select_from(_T).where(_T.status == DEAD, _T.due_at >= since)) or 0
    )


async def queued_dedup_keys(session: AsyncSession, *, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` the outbox already holds (in any status): one indexed read instead of one per push.

    The sweep re-plans the day's reminders on every tick; this keeps a tick that finds nothing new cheap.
    """
    wanted = sorted(set(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        found.update((await session.scalars(select(_T.dedup_key).where(_T.dedup_key.in_(chunk)))).all())
    return found


async def cancel_pending(session: AsyncSession, *, prefixes: Sequence[str]) -> int:
    """Cancel the pending pushes whose dedup key starts with one of `prefixes` (reminders of a stopped clock)."""
    if not prefixes:
        return 0
    wanted = or_(*(OutboxMessage.dedup_key.startswith(p, autoescape=True) for p in prefixes))
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "pending", wanted)
        .values(status="cancelled", last_error="the clock stopped")
    )
    return _rowcount(result)
