"""Status cards: a denormalized JSON row per item, kept current on every write, read with one indexed query.

The read path is the bot's hottest. On SQLite it reads through a plain `sqlite3` connection on the event loop
(an indexed primary-key-sized read takes tens of microseconds), because aiosqlite's thread hops and pool
checkouts cost ten times more than the query itself (DESIGN §7). On PostgreSQL it uses the async engine.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import Assignment, Feedback, Proposal, ProposalDeputy, Reply, StatusCard

CARD_QUERY = "SELECT payload FROM status_cards WHERE number_key = ?"
CARD_QUERY_SESSION = "SELECT payload FROM status_cards WHERE number_key = ? AND term = ? AND sitting = ?"
CARD_BY_ID = "SELECT payload FROM status_cards WHERE proposal_id = ?"
MAX_MATCHES = 20


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def build_card(session: AsyncSession, *, proposal_id: int) -> dict[str, Any] | None:
    proposal = await session.scalar(
        select(Proposal)
        .where(Proposal.id == proposal_id)
        .options(
            selectinload(Proposal.session),
            selectinload(Proposal.deputies).selectinload(ProposalDeputy.deputy),
            selectinload(Proposal.assignments).selectinload(Assignment.unit),
        )
        .execution_options(populate_existing=True)
    )
    if proposal is None:
        return None
    reply = await session.scalar(
        select(Reply)
        .where(Reply.proposal_id == proposal_id, Reply.letter_type == "reply", Reply.superseded.is_(False))
        .options(selectinload(Reply.unit))
        .order_by(Reply.id.desc())
        .limit(1)
    )
    rating = None
    if reply is not None:
        rating = await session.scalar(
            select(Feedback.rating).where(Feedback.reply_id == reply.id).order_by(Feedback.id.desc()).limit(1)
        )
    s = proposal.session
    return {
        "id": proposal.id,
        "session": {"region": s.region, "body": s.body, "term": s.term, "sitting": s.sitting},
        "number": proposal.number,
        "kind": proposal.kind,
        "title": proposal.title,
        "state": proposal.state,
        "key_supervised": proposal.key_supervised,
        "public": proposal.public,
        "deputies": [{"name": d.deputy.name, "role": d.role, "id": d.deputy_id} for d in proposal.deputies],
        "units": [
            {
                "name": a.unit.name,
                "id": a.unit_id,
                "role": a.role,
                "received_on": _iso(a.received_on),
                "due_on": _iso(a.due_on),
                "original_due_on": _iso(a.original_due_on),
            }
            for a in proposal.assignments
            if a.active
        ],
        "reply": None
        if reply is None
        else {
            "result": reply.result_text,
            "result_class": reply.result_class,
            "replied_on": _iso(reply.replied_on),
            "signer": reply.signer,
            "unit": reply.unit.name if reply.unit else None,
            "public": reply.public,
            "summary": reply.summary,
            "has_text": bool(reply.body),
            "rating": rating,
        },
    }


async def refresh_card(session: AsyncSession, *, proposal_id: int) -> None:
    """Rebuild one item's card inside the caller's transaction (called by every write path)."""
    card = await build_card(session, proposal_id=proposal_id)
    await session.execute(delete(StatusCard).where(StatusCard.proposal_id == proposal_id))
    if card is None:
        return
    session.add(
        StatusCard(
            proposal_id=proposal_id,
            number_key=str(card["number"]).lstrip("0") or "0",
            term=card["session"]["term"],
            sitting=card["session"]["sitting"],
            payload=json.dumps(card, ensure_ascii=False, separators=(",", ":")),
        )
    )
    await session.flush()


class CardReader(Protocol):
    """Reads status cards by number; two implementations, one per engine."""

    async def find(
        self, number_key: str, *, term: int | None = None, sitting: int | None = None
    ) -> list[dict[str, Any]]: ...

    async def by_id(self, proposal_id: int) -> dict[str, Any] | None: ...

    def close(self) -> None: ...


class SqliteCardReader:
    """Reads cards through a private read-only `sqlite3` connection on the event loop (no thread hop)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            uri = f"file:{self._path}?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout=2000")
            self._conn.execute("PRAGMA query_only=ON")
        return self._conn

    async def find(
        self, number_key: str, *, term: int | None = None, sitting: int | None = None
    ) -> list[dict[str, Any]]:
        conn = self._connection()
        if term is not None and sitting is not None:
            rows = conn.execute(CARD_QUERY_SESSION, (number_key, term, sitting)).fetchmany(MAX_MATCHES)
        else:
            rows = conn.execute(CARD_QUERY, (number_key,)).fetchmany(MAX_MATCHES)
        return [json.loads(r[0]) for r in rows]

    async def by_id(self, proposal_id: int) -> dict[str, Any] | None:
        row = self._connection().execute(CARD_BY_ID, (proposal_id,)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class EngineCardReader:
    """Reads cards through the async engine (PostgreSQL, or an in-memory SQLite in tests)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def find(
        self, number_key: str, *, term: int | None = None, sitting: int | None = None
    ) -> list[dict[str, Any]]:
        query = "SELECT payload FROM status_cards WHERE number_key = :k"
        params: dict[str, Any] = {"k": number_key}
        if term is not None and sitting is not None:
            query += " AND term = :t AND sitting = :s"
            params.update(t=term, s=sitting)
        async with self._engine.connect() as conn:
            result = await conn.execute(text(query + f" LIMIT {MAX_MATCHES}"), params)
            return [json.loads(r[0]) for r in result]

    async def by_id(self, proposal_id: int) -> dict[str, Any] | None:
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                text("SELECT payload FROM status_cards WHERE proposal_id = :i"), {"i": proposal_id}
            )
        return None if value is None else dict(json.loads(value))

    def close(self) -> None:
        return None


def card_reader(engine: AsyncEngine) -> CardReader:
    """The fastest correct reader for this engine."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return SqliteCardReader(Path(url.database))
    return EngineCardReader(engine)
