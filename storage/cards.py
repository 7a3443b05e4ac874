"""Status cards: a denormalized JSON row per item, kept current on every write, read with one indexed query.

The read path is the bot's hottest. On SQLite it reads through a plain `sqlite3` connection on the event loop
(an indexed primary-key-sized read takes tens of microseconds), because aiosqlite's thread hops and pool
checkouts cost ten times more than the query itself (DESIGN §7). On PostgreSQL it uses the async engine.
"""

from __future__ import annotations

import json
import sqlite3
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.orm import selectinload

from bot.domain.card import Card, CardHead, CardReply
from bot.domain.lookup import number_key
from storage.models import (
    Assignment,
    Deputy,
    Feedback,
    Proposal,
    ProposalDeputy,
    Reply,
    Session,
    StatusCard,
    Unit,
)
from storage.search import index_items

MAX_MATCHES = 20
# Look-ups whose card heads the SQLite reader keeps (a few KiB each): the busy numbers of several sittings.
CACHED_HEADS = 1024
# Newest sessions first, so that a number found in more sessions than the limit keeps the recent ones. The
# order is the look-up index's own (number_key, term, sitting, rowid), read backwards: no sort step.
_NEWEST_FIRST = " ORDER BY term DESC, sitting DESC, proposal_id DESC LIMIT ?"
_BY_NUMBER = " WHERE number_key = ?" + _NEWEST_FIRST
_BY_NUMBER_IN_SESSION = " WHERE number_key = ? AND term = ? AND sitting = ?" + _NEWEST_FIRST
_CARD_COLUMNS = "SELECT payload FROM status_cards"
CARD_BY_ID = _CARD_COLUMNS + " WHERE proposal_id = ?"
# The choice list needs only each card's number and session: SQLite pulls them out of the JSON in C, so a
# number found in many sessions costs no full decode of every card.
_HEAD_COLUMNS = "SELECT proposal_id, json_extract(payload, '$.number', '$.session') FROM status_cards"
# Ids per IN (...) list: well under SQLite's 32766 and asyncpg's 32767 bound parameters.
MAX_IDS_PER_QUERY = 2000


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


async def build_card(session: AsyncSession, *, proposal_id: int) -> Card | None:
    """One card through the ORM, relationship by relationship: the readable reference `build_cards` is held to.

    Writes go through `build_cards`; this stays as the specification of the payload (tests compare the two).
    """
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
        "session": {"id": s.id, "region": s.region, "body": s.body, "term": s.term, "sitting": s.sitting},
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


async def build_cards(session: AsyncSession, *, proposal_ids: Sequence[int]) -> dict[int, Card]:
    """The cards of many items with five set-based queries per chunk of ids, keyed by proposal id.

    The same payload as `build_card`, read with Core selects on the session's connection (no identity map, no
    ORM row loading): proposals with their sessions, deputies, active assignments with their units, current
    replies, and their latest ratings. Pending ORM changes are flushed first. Unknown ids are left out.
    """
    await session.flush()
    conn = await session.connection()
    cards: dict[int, Card] = {}
    unique = list(dict.fromkeys(proposal_ids))
    for start in range(0, len(unique), MAX_IDS_PER_QUERY):
        chunk = unique[start : start + MAX_IDS_PER_QUERY]
        cards.update(await _build(conn, _Scope(ids=chunk)))
    return cards


@dataclass(frozen=True, slots=True)
class _Scope:
    """The items one build covers: a list of ids, or else the id range (low, high]."""

    ids: Sequence[int] | None = None
    low: int = 0
    high: int = 0

    def __call__(self, column: SQLColumnExpression[int]) -> ColumnElement[bool]:
        condition: ColumnElement[bool] = (
            column.in_(self.ids) if self.ids is not None else and_(column > self.low, column <= self.high)
        )
        return condition


async def _build(conn: AsyncConnection, scope: _Scope) -> dict[int, Card]:
    """The cards of the items whose id satisfies `scope` (an id list or an id range)."""
    cards: dict[int, Card] = {}
    proposals = await conn.execute(
        select(
            Proposal.id,
            Proposal.number,
            Proposal.kind,
            Proposal.title,
            Proposal.state,
            Proposal.key_supervised,
            Proposal.public,
            Proposal.session_id,
            Session.region,
            Session.body,
            Session.term,
            Session.sitting,
        )
        .join(Session, Session.id == Proposal.session_id)
        .where(scope(Proposal.id))
    )
    for p in proposals:
        cards[p.id] = {
            "id": p.id,
            "session": {"id": p.session_id, "region": p.region, "body": p.body, "term": p.term, "sitting": p.sitting},
            "number": p.number,
            "kind": p.kind,
            "title": p.title,
            "state": p.state,
            "key_supervised": p.key_supervised,
            "public": p.public,
            "deputies": [],
            "units": [],
            "reply": None,
        }
    if not cards:
        return cards

    deputies = await conn.execute(
        select(ProposalDeputy.proposal_id, ProposalDeputy.deputy_id, ProposalDeputy.role, Deputy.name)
        .join(Deputy, Deputy.id == ProposalDeputy.deputy_id)
        .where(scope(ProposalDeputy.proposal_id))
        .order_by(ProposalDeputy.proposal_id, ProposalDeputy.position, ProposalDeputy.id)
    )
    for d in deputies:
        cards[d.proposal_id]["deputies"].append({"name": d.name, "role": d.role, "id": d.deputy_id})

    assignments = await conn.execute(
        select(
            Assignment.proposal_id,
            Assignment.unit_id,
            Assignment.role,
            Assignment.received_on,
            Assignment.due_on,
            Assignment.original_due_on,
            Unit.name,
        )
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(scope(Assignment.proposal_id), Assignment.active.is_(True))
        .order_by(Assignment.proposal_id, Assignment.id)
    )
    for a in assignments:
        cards[a.proposal_id]["units"].append(
            {
                "name": a.name,
                "id": a.unit_id,
                "role": a.role,
                "received_on": _iso(a.received_on),
                "due_on": _iso(a.due_on),
                "original_due_on": _iso(a.original_due_on),
            }
        )

    # The current reply is the newest formal reply that is not superseded: the first row per item wins.
    is_current = (Reply.letter_type == "reply", Reply.superseded.is_(False))
    replies = await conn.execute(
        select(
            Reply.id,
            Reply.proposal_id,
            Reply.result_text,
            Reply.result_class,
            Reply.replied_on,
            Reply.signer,
            Reply.public,
            Reply.summary,
            (func.length(Reply.body) > 0).label("has_text"),
            Unit.name.label("unit_name"),
        )
        .outerjoin(Unit, Unit.id == Reply.unit_id)
        .where(scope(Reply.proposal_id), *is_current)
        .order_by(Reply.proposal_id, Reply.id.desc())
    )
    current: dict[int, CardReply] = {}
    for r in replies:
        card = cards[r.proposal_id]
        if card["reply"] is not None:
            continue
        reply: CardReply = {
            "result": r.result_text,
            "result_class": r.result_class,
            "replied_on": _iso(r.replied_on),
            "signer": r.signer,
            "unit": r.unit_name,
            "public": r.public,
            "summary": r.summary,
            "has_text": bool(r.has_text),
            "rating": None,
        }
        card["reply"] = current[r.id] = reply
    if not current:
        return cards
    ratings = await conn.execute(
        select(Feedback.reply_id, Feedback.rating)
        .join(Reply, Reply.id == Feedback.reply_id)
        .where(scope(Reply.proposal_id), *is_current)
        .order_by(Feedback.reply_id, Feedback.id.desc())
    )
    rated: set[int] = set()
    for f in ratings:
        rated_reply = current.get(f.reply_id)
        if rated_reply is not None and f.reply_id not in rated:
            rated.add(f.reply_id)
            rated_reply["rating"] = f.rating
    return cards


def _card_row(card: Card) -> dict[str, Any]:
    """The status_cards row of a card: look-up keys plus the payload as compact JSON text."""
    return {
        "proposal_id": card["id"],
        "number_key": number_key(card["number"]),
        "term": card["session"]["term"],
        "sitting": card["session"]["sitting"],
        "payload": json.dumps(card, ensure_ascii=False, separators=(",", ":")),
    }


async def _insert_cards(conn: AsyncConnection, cards: dict[int, Card]) -> int:
    if cards:
        await conn.execute(insert(StatusCard), [_card_row(card) for card in cards.values()])
    return len(cards)


async def refresh_card(session: AsyncSession, *, proposal_id: int) -> None:
    """Rebuild one item's card and its search documents inside the caller's transaction (every write path)."""
    await rebuild_cards(session, proposal_ids=[proposal_id])


async def rebuild_cards(session: AsyncSession, *, proposal_ids: Sequence[int] | None = None, batch: int = 2000) -> int:
    """(Re)write the cards of `proposal_ids`, or of every item, `batch` items at a time; returns cards written.

    Runs in the caller's transaction and never commits. An id without an item loses its card. With no ids,
    every card is rewritten, and cards of items that no longer exist go. Items named by id are re-indexed for
    search too (`storage.search.index_items`), so the index changes with the data; `storage.search.reindex`
    rebuilds the whole index.
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    written = 0
    if proposal_ids is not None:
        ids = list(dict.fromkeys(proposal_ids))
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            cards = await build_cards(session, proposal_ids=chunk)
            conn = await session.connection()
            await conn.execute(delete(StatusCard).where(StatusCard.proposal_id.in_(chunk)))
            written += await _insert_cards(conn, cards)
            await index_items(session, proposal_ids=chunk)
        return written
    await session.flush()
    conn = await session.connection()
    await conn.execute(delete(StatusCard))
    last = 0
    while True:
        # Walk the ids in order and read each batch as an id range: index range scans, no long IN lists.
        page = (
            await conn.scalars(select(Proposal.id).where(Proposal.id > last).order_by(Proposal.id).limit(batch))
        ).all()
        if not page:
            return written
        written += await _insert_cards(conn, await _build(conn, _Scope(low=last, high=page[-1])))
        last = page[-1]


class CardReader(Protocol):
    """Reads status cards by number; two implementations, one per engine."""

    async def find(
        self, number_key: str, *, term: int | None = None, sitting: int | None = None, limit: int = MAX_MATCHES
    ) -> list[Card]:
        """The cards with this number (in this session, if given): at most `limit`, newest session first."""
        ...

    async def heads(
        self, number_key: str, *, term: int | None = None, sitting: int | None = None, limit: int = MAX_MATCHES
    ) -> list[CardHead]:
        """What `find` finds, cut to each card's head: `{"id", "number", "session"}` (enough to offer a choice)."""
        ...

    async def by_id(self, proposal_id: int) -> Card | None: ...

    def close(self) -> None: ...


class SqliteCardReader:
    """Reads cards through a private read-only `sqlite3` connection on the event loop (no thread hop).

    Card heads (the choice between sessions) are cached per look-up. SQLite's `PRAGMA data_version` changes
    whenever another connection, in this process or any other, commits to the file, so the cache is dropped on
    the first read after any write: never stale, and checking costs a few microseconds.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._data_version: int | None = None
        self._heads: OrderedDict[tuple[str, int | None, int | None, int], list[CardHead]] = OrderedDict()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            uri = f"file:{self._path}?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout=2000")
            self._conn.execute("PRAGMA query_only=ON")
        return self._conn

    async def find(
        self, number_key: str, *, term: int | None = None, sitting: int | None = None, limit: int = MAX_MATCHES
    ) -> list[Card]:
        rows = _matching(self._connection(), _CARD_COLUMNS, number_key, term, sitting, limit)
        return [load_card(r[0]) for r in rows]

    async def heads(
        self, number_key: str, *, term: int | None = None, sitting: int | None = None, limit: int = MAX_MATCHES
    ) -> list[CardHead]:
        """As the protocol says; the dicts may be shared with later calls, so callers must not change them."""
        conn = self._unchanged_connection()
        key = (number_key, term, sitting, limit)
        cached = self._heads.get(key)
        if cached is not None:
            self._heads.move_to_end(key)
            return list(cached)
        heads: list[CardHead] = []
        for proposal_id, extracted in _matching(conn, _HEAD_COLUMNS, number_key, term, sitting, limit):
            number, session = json.loads(extracted)
            heads.append({"id": proposal_id, "number": number, "session": session})
        self._heads[key] = heads
        if len(self._heads) > CACHED_HEADS:
            self._heads.popitem(last=False)
        return list(heads)

    def _unchanged_connection(self) -> sqlite3.Connection:
        """The connection, after dropping cached heads if anyone has committed since the last read."""
        conn = self._connection()
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._data_version = version
            self._heads.clear()
        return conn

    async def by_id(self, proposal_id: int) -> Card | None:
        row = self._connection().execute(CARD_BY_ID, (proposal_id,)).fetchone()
        return None if row is None else load_card(row[0])

    def close(self) -> None:
        self._heads.clear()
        self._data_version = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _matching(
    conn: sqlite3.Connection, columns: str, number_key: str, term: int | None, sitting: int | None, limit: int
) -> list[Any]:
    """`columns` of the cards with this number (in this session, if given), newest session first."""
    if term is not None and sitting is not None:
        return conn.execute(columns + _BY_NUMBER_IN_SESSION, (number_key, term, sitting, limit)).fetchall()
    return conn.execute(columns + _BY_NUMBER, (number_key, limit)).fetchall()


class EngineCardReader:
    """Reads cards through the async engine (PostgreSQL, or an in-memory SQLite in tests)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def find(
        self, number_key: str, *, term: int | None = None, sitting: int | None = None, limit: int = MAX_MATCHES
    ) -> list[Card]:
        query = "SELECT payload FROM status_cards WHERE number_key = :k"
        params: dict[str, Any] = {"k": number_key, "n": limit}
        if term is not None and sitting is not None:
            query += " AND term = :t AND sitting = :s"
            params.update(t=term, s=sitting)
        query += " ORDER BY term DESC, sitting DESC, proposal_id DESC LIMIT :n"
        async with self._engine.connect() as conn:
            result = await conn.execute(text(query), params)
            return [load_card(r[0]) for r in result]

    async def heads(
        self, number_key: str, *, term: int | None = None, sitting: int | None = None, limit: int = MAX_MATCHES
    ) -> list[CardHead]:
        # One round trip either way; the full read keeps one query for both engines this reader serves.
        cards = await self.find(number_key, term=term, sitting=sitting, limit=limit)
        return [card_head(c) for c in cards]

    async def by_id(self, proposal_id: int) -> Card | None:
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                text("SELECT payload FROM status_cards WHERE proposal_id = :i"), {"i": proposal_id}
            )
        return None if value is None else load_card(value)

    def close(self) -> None:
        return None


def load_card(payload: str) -> Card:
    """A stored payload as the card it is: written by `_card_row` from a `Card`, so no check on the hot path."""
    card: Card = json.loads(payload)
    return card


def card_head(card: Card) -> CardHead:
    """A card cut to what a choice between sessions shows: its item id, printed number and session."""
    return {"id": card["id"], "number": card["number"], "session": card["session"]}


def card_reader(engine: AsyncEngine) -> CardReader:
    """The fastest correct reader for this engine."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return SqliteCardReader(Path(url.database))
    return EngineCardReader(engine)
