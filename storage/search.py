"""The search index: jieba tokens of every item's title, content, unit names and reply, behind one interface.

SQLite keeps two FTS5 tables ranked with BM25; PostgreSQL keeps one table of `tsvector('simple')` documents under
a GIN index, ranked with `ts_rank_cd`. Neither needs a server extension. Both hold pre-tokenized text: jieba's
search-mode tokens (bot/text.py, with the domain dictionary in config/) joined by spaces, so each engine's own
parser only splits on the spaces.

What a viewer may search decides the layout. Every public item has a *public* document: its title, content, units
and its reply's text when the reply is public. An item with anything non-public (the item itself, or its reply)
also has a *full* document with all of it. A public viewer's query reads only public documents, so non-public
text can neither match nor move the ranking (on SQLite the full documents live in their own FTS5 table, so they
are not even in the BM25 statistics). A viewer allowed to read an item's non-public text (the access policy
decides, in bot/services/search.py) searches that item's full document instead.

Writes go through `index_items`, which `storage.cards.rebuild_cards` calls on every write path, so the index
changes in the same transaction as the data. `reindex` rebuilds it; migration 0012 builds it for existing data.
User words never reach MATCH or tsquery syntax: they are jieba tokens reduced to runs of letters and digits, each
quoted.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from bot.text import Tokenizer, index_words_of, shared_tokenizer
from storage.models import Assignment, Proposal, Reply, Session, Unit

__all__ = [
    "FILTER_STATES",
    "NO_FILTERS",
    "NO_REACH",
    "OPEN_STATES",
    "REPLIED_STATES",
    "SEARCH_TABLES",
    "Document",
    "Filters",
    "Hit",
    "Reach",
    "Results",
    "TextSource",
    "count_matches",
    "expected_snapshot",
    "index_items",
    "index_snapshot",
    "index_tokens",
    "known_words",
    "reindex",
    "reindex_sync",
    "search",
    "term_counts",
    "text_sources",
    "text_sources_of",
]

#: Tables (and SQLite's FTS5 shadow tables) that the ORM models do not describe; the migration test skips them.
SEARCH_TABLES = re.compile(r"^search_(public|full|docs|vocab)(_\w+)?$")
#: The states a filter names: 逾期 (overdue: open with its lead due day passed), 已答复, 未答复.
OPEN_STATES = ("draft", "assigned", "in_progress", "rehandling")
REPLIED_STATES = ("replied", "closed", "tracking")
FILTER_STATES = ("overdue", "replied", "unreplied")
# BM25 column weights: a title hit counts four times a content hit; unit names count a little less.
_BM25 = "bm25({t}, 4.0, 1.0, 0.5, 1.0)"
# ts_rank_cd weights for {D, C, B, A}: reply D, units C, content B, title A.
_PG_WEIGHTS = "'{0.25, 0.15, 0.25, 1.0}'"
# A small boost for recent sittings: +10 % this year, +5 % last year, +2.5 % three years ago.
RECENCY = 0.1
_BATCH = 500
#: documents ts_stat reads for the closest known words on PostgreSQL (their words' counts rank them)
_NEAR_SAMPLE = 2000
_INDEX_STEM = re.compile(r"[^\W_]+")
# up to this many items are segmented on the event loop (a reply, a state change): a thread hop costs more
_INLINE = 8


def index_tokens(tokens: Iterable[str]) -> list[str]:
    """jieba tokens as the index stores them: runs of letters and digits (``1+11`` gives ``1`` and ``11``)."""
    return index_words_of(tokens)


@dataclass(frozen=True, slots=True)
class TextSource:
    """An item's searchable text as stored, for the index and for snippets."""

    proposal_id: int
    title: str
    content: str
    units: str
    reply: str
    reply_public: bool
    item_public: bool
    term: int
    sitting: int
    year: int
    state: str
    due_on: date | None


@dataclass(frozen=True, slots=True)
class Document:
    """One row of the index: an item's tokens per column, public or full, with the columns filters read."""

    proposal_id: int
    full: bool
    title: str
    body: str
    units: str
    reply: str
    term: int
    sitting: int
    year: int
    state: str
    due_on: str
    has_full: bool


def _documents(source: TextSource, tokenizer: Tokenizer, unit_words: dict[str, str] | None = None) -> list[Document]:
    def tokens(value: str) -> str:
        return " ".join(tokenizer.index_words(value)) if value else ""

    units = unit_words.get(source.units) if unit_words is not None else None
    if units is None:
        units = tokens(source.units)
        if unit_words is not None:
            unit_words[source.units] = units
    title, body, reply = tokens(source.title), tokens(source.content), tokens(source.reply)
    has_full = not source.item_public or (bool(reply) and not source.reply_public)
    common = {
        "proposal_id": source.proposal_id,
        "title": title,
        "body": body,
        "units": units,
        "term": source.term,
        "sitting": source.sitting,
        "year": source.year,
        "state": source.state,
        "due_on": source.due_on.isoformat() if source.due_on else "",
        "has_full": has_full,
    }
    docs: list[Document] = []
    if source.item_public:
        docs.append(Document(full=False, reply=reply if source.reply_public else "", **common))  # type: ignore[arg-type]
    if has_full:
        docs.append(Document(full=True, reply=reply, **common))  # type: ignore[arg-type]
    return docs


def _year(value: date | datetime | None) -> int | None:
    return value.year if value is not None else None


def text_sources(connection: Connection, proposal_ids: Sequence[int] | None) -> dict[int, TextSource]:
    """The searchable text of the given items (every item with None), read with three set-based queries."""
    scope: Any = (lambda column: column.in_(proposal_ids)) if proposal_ids is not None else (lambda column: True)
    rows = connection.execute(
        select(
            Proposal.id,
            Proposal.title,
            Proposal.content,
            Proposal.public,
            Proposal.state,
            Proposal.created_at,
            Session.term,
            Session.sitting,
            Session.opened_on,
        )
        .join(Session, Session.id == Proposal.session_id)
        .where(scope(Proposal.id))
    ).all()
    units: dict[int, list[str]] = {}
    due: dict[int, date | None] = {}
    received: dict[int, date] = {}
    for a in connection.execute(
        select(Assignment.proposal_id, Assignment.role, Assignment.received_on, Assignment.due_on, Unit.name)
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(scope(Assignment.proposal_id), Assignment.active.is_(True))
        .order_by(Assignment.proposal_id, Assignment.id)
    ):
        units.setdefault(a.proposal_id, []).append(a.name)
        if a.role == "lead" and a.proposal_id not in due:
            due[a.proposal_id] = a.due_on
        if a.received_on is not None and (a.proposal_id not in received or a.received_on < received[a.proposal_id]):
            received[a.proposal_id] = a.received_on
    replies: dict[int, tuple[str, bool]] = {}
    # The current reply is the newest formal reply not superseded (the status card's reply): the first row wins.
    for r in connection.execute(
        select(Reply.proposal_id, Reply.body, Reply.summary, Reply.public)
        .where(scope(Reply.proposal_id), Reply.letter_type == "reply", Reply.superseded.is_(False))
        .order_by(Reply.proposal_id, Reply.id.desc())
    ):
        if r.proposal_id not in replies:
            replies[r.proposal_id] = (r.body or r.summary or "", r.public is not False)
    sources: dict[int, TextSource] = {}
    for p in rows:
        reply, reply_public = replies.get(p.id, ("", True))
        year = _year(p.opened_on) or _year(received.get(p.id)) or _year(p.created_at) or 0
        sources[p.id] = TextSource(
            proposal_id=p.id,
            title=p.title or "",
            content=p.content or "",
            units=" ".join(units.get(p.id, [])),
            reply=reply,
            reply_public=reply_public,
            item_public=bool(p.public),
            term=p.term,
            sitting=p.sitting,
            year=year,
            state=p.state,
            due_on=due.get(p.id),
        )
    return sources


async def text_sources_of(session: AsyncSession, *, proposal_ids: Sequence[int]) -> dict[int, TextSource]:
    """`text_sources` on the session's connection: what snippets are cut from (a page of hits)."""
    if not proposal_ids:
        return {}
    conn = await session.connection()
    ids = list(proposal_ids)
    return await conn.run_sync(lambda c: text_sources(c, ids))


def _is_sqlite(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


def _table(full: bool) -> str:
    return "search_full" if full else "search_public"


def _delete(connection: Connection, proposal_ids: Sequence[int] | None) -> None:
    if _is_sqlite(connection):
        for table in ("search_public", "search_full"):
            if proposal_ids is None:
                connection.execute(text(f"DELETE FROM {table}"))
            else:
                statement = text(f"DELETE FROM {table} WHERE rowid IN :ids").bindparams(
                    bindparam("ids", expanding=True)
                )
                connection.execute(statement, {"ids": list(proposal_ids)})
    elif proposal_ids is None:
        connection.execute(text("DELETE FROM search_docs"))
    else:
        statement = text("DELETE FROM search_docs WHERE proposal_id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        )
        connection.execute(statement, {"ids": list(proposal_ids)})


_PG_DOC = (
    "setweight(to_tsvector('simple', :title), 'A') || setweight(to_tsvector('simple', :body), 'B') || "
    "setweight(to_tsvector('simple', :units), 'C') || setweight(to_tsvector('simple', :reply), 'D')"
)


def _insert(connection: Connection, docs: Sequence[Document]) -> None:
    if not docs:
        return
    if _is_sqlite(connection):
        for full in (False, True):
            rows = [_row(d) for d in docs if d.full is full]
            if rows:
                connection.execute(
                    text(
                        f"INSERT INTO {_table(full)} (rowid, title, body, units, reply, term, sitting, year, state, "
                        "due_on, has_full) VALUES (:proposal_id, :title, :body, :units, :reply, :term, :sitting, "
                        ":year, :state, :due_on, :has_full)"
                    ),
                    rows,
                )
        return
    connection.execute(
        text(
            "INSERT INTO search_docs (proposal_id, scope, doc, term, sitting, year, state, due_on, has_full) "
            f"VALUES (:proposal_id, :scope, {_PG_DOC}, :term, :sitting, :year, :state, "
            "CAST(NULLIF(:due_on, '') AS date), :has_full)"
        ),
        [_row(d) for d in docs],
    )


def _row(doc: Document) -> dict[str, Any]:
    return {
        "proposal_id": doc.proposal_id,
        "scope": "full" if doc.full else "public",
        "title": doc.title,
        "body": doc.body,
        "units": doc.units,
        "reply": doc.reply,
        "term": doc.term,
        "sitting": doc.sitting,
        "year": doc.year,
        "state": doc.state,
        "due_on": doc.due_on,
        "has_full": doc.has_full,
    }


def _documents_of(sources: Iterable[TextSource], tokenizer: Tokenizer) -> list[Document]:
    units: dict[str, str] = {}  # a batch names the same few units again and again
    return [doc for source in sources for doc in _documents(source, tokenizer, units)]


def _page_ids(connection: Connection, after: int) -> list[int]:
    return list(
        connection.scalars(select(Proposal.id).where(Proposal.id > after).order_by(Proposal.id).limit(_BATCH)).all()
    )


def _replace(connection: Connection, proposal_ids: Sequence[int], docs: Sequence[Document]) -> None:
    _delete(connection, proposal_ids)
    _insert(connection, docs)


def reindex_sync(connection: Connection, *, tokenizer: Tokenizer | None = None) -> int:
    """Rebuild the whole index on a sync connection (migration 0012's); returns the documents written."""
    tok = tokenizer or shared_tokenizer()
    written = 0
    _delete(connection, None)
    last = 0
    while page := _page_ids(connection, last):
        docs = _documents_of(text_sources(connection, page).values(), tok)
        _insert(connection, docs)
        written += len(docs)
        last = page[-1]
    return written


async def _tokenized(sources: dict[int, TextSource], tokenizer: Tokenizer) -> list[Document]:
    """Documents of the sources. jieba is pure Python: past a few items it runs in a worker thread, so a big
    import's segmentation does not hold the event loop (the GIL is handed back every few milliseconds)."""
    if len(sources) <= _INLINE:
        return _documents_of(sources.values(), tokenizer)
    return await asyncio.to_thread(_documents_of, list(sources.values()), tokenizer)


async def index_items(
    session: AsyncSession, *, proposal_ids: Sequence[int] | None, tokenizer: Tokenizer | None = None
) -> int:
    """Re-index these items (every item with None) inside the caller's transaction; returns documents written.

    `storage.cards.rebuild_cards` calls it wherever it rebuilds status cards, that is, on every write path.
    """
    tok = tokenizer or shared_tokenizer()
    await session.flush()
    conn = await session.connection()
    written = 0
    if proposal_ids is None:
        await conn.run_sync(_delete, None)
        last = 0
        while page := await conn.run_sync(_page_ids, last):
            docs = await _tokenized(await conn.run_sync(text_sources, page), tok)
            await conn.run_sync(_insert, docs)
            written += len(docs)
            last = page[-1]
        return written
    ids = list(dict.fromkeys(proposal_ids))
    for start in range(0, len(ids), _BATCH):
        chunk = ids[start : start + _BATCH]
        docs = await _tokenized(await conn.run_sync(text_sources, chunk), tok)
        await conn.run_sync(_replace, chunk, docs)
        written += len(docs)
    return written


async def reindex(session: AsyncSession, *, tokenizer: Tokenizer | None = None) -> int:
    """Rebuild the whole index in the caller's transaction (`proposal-bot reindex`); returns documents written."""
    return await index_items(session, proposal_ids=None, tokenizer=tokenizer)


# --- agreement between the index and the data (tests and `reindex --check`) ---


def _snapshot_sqlite(connection: Connection) -> dict[tuple[int, bool], tuple[Any, ...]]:
    out: dict[tuple[int, bool], tuple[Any, ...]] = {}
    for full in (False, True):
        for row in connection.execute(
            text(
                f"SELECT rowid, title, body, units, reply, term, sitting, year, state, due_on, has_full "
                f"FROM {_table(full)}"
            )
        ):
            out[(row[0], full)] = (*row[1:10], bool(row[10]))
    return out


def _snapshot_pg(connection: Connection) -> dict[tuple[int, bool], tuple[Any, ...]]:
    out: dict[tuple[int, bool], tuple[Any, ...]] = {}
    for row in connection.execute(
        text(
            "SELECT proposal_id, scope, doc::text, term, sitting, year, state, "
            "COALESCE(to_char(due_on, 'YYYY-MM-DD'), ''), has_full FROM search_docs"
        )
    ):
        out[(row[0], row[1] == "full")] = (row[2], *row[3:8], bool(row[8]))
    return out


def _snapshot(connection: Connection) -> dict[tuple[int, bool], tuple[Any, ...]]:
    return _snapshot_sqlite(connection) if _is_sqlite(connection) else _snapshot_pg(connection)


def _expected(connection: Connection, tokenizer: Tokenizer | None) -> dict[tuple[int, bool], tuple[Any, ...]]:
    docs = _documents_of(text_sources(connection, None).values(), tokenizer or shared_tokenizer())
    if _is_sqlite(connection):
        return {
            (d.proposal_id, d.full): (
                d.title,
                d.body,
                d.units,
                d.reply,
                d.term,
                d.sitting,
                d.year,
                d.state,
                d.due_on,
                d.has_full,
            )
            for d in docs
        }
    out: dict[tuple[int, bool], tuple[Any, ...]] = {}
    for d in docs:
        row = _row(d)
        vector = connection.scalar(text(f"SELECT ({_PG_DOC})::text"), row)
        out[(d.proposal_id, d.full)] = (vector, d.term, d.sitting, d.year, d.state, d.due_on, d.has_full)
    return out


async def index_snapshot(session: AsyncSession) -> dict[tuple[int, bool], tuple[Any, ...]]:
    """Every index row as comparable values, keyed by (proposal id, full)."""
    conn = await session.connection()
    return await conn.run_sync(_snapshot)


async def expected_snapshot(
    session: AsyncSession, *, tokenizer: Tokenizer | None = None
) -> dict[tuple[int, bool], tuple[Any, ...]]:
    """What `index_snapshot` must return for the data as stored now (built afresh, in the same shape)."""
    await session.flush()
    conn = await session.connection()
    return await conn.run_sync(lambda c: _expected(c, tokenizer))


# --- queries ---


@dataclass(frozen=True, slots=True)
class Reach:
    """Whose non-public text a viewer may search: every item's (admins), these items' (their own), or none."""

    every: bool = False
    ids: frozenset[int] = frozenset()

    @property
    def nothing(self) -> bool:
        return not self.every and not self.ids


@dataclass(frozen=True, slots=True)
class Filters:
    """What a liaison office narrows a search by; unset fields do not filter."""

    unit: str | None = None
    term: int | None = None
    sitting: int | None = None
    state: str | None = None  # one of FILTER_STATES
    year: int | None = None

    @property
    def empty(self) -> bool:
        return self == Filters()


#: a viewer who may search no non-public text (the public, and anyone for items not their own)
NO_REACH = Reach()
NO_FILTERS = Filters()


@dataclass(frozen=True, slots=True)
class Hit:
    proposal_id: int
    score: float
    full: bool  # matched the item's full document (the viewer may read its non-public text)


@dataclass(frozen=True, slots=True)
class Results:
    hits: list[Hit] = field(default_factory=list)
    total: int = 0


def _quoted(tokens: Sequence[str], *, sqlite: bool) -> str:
    if sqlite:
        return " ".join('"' + t.replace('"', '""') + '"' for t in tokens)
    return " & ".join("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in tokens)


def _filter_sql(filters: Filters, params: dict[str, Any], *, id_column: str, sqlite: bool) -> list[str]:
    clauses: list[str] = []
    if filters.term is not None:
        clauses.append("term = :f_term")
        params["f_term"] = filters.term
    if filters.sitting is not None:
        clauses.append("sitting = :f_sitting")
        params["f_sitting"] = filters.sitting
    if filters.year is not None:
        clauses.append("year = :f_year")
        params["f_year"] = filters.year
    if filters.state == "replied":
        clauses.append("state IN ('replied', 'closed', 'tracking')")
    elif filters.state == "unreplied":
        clauses.append("state IN ('draft', 'assigned', 'in_progress', 'rehandling')")
    elif filters.state == "overdue":
        # overdue is derived: open, with the lead unit's due day passed (never a stored flag)
        clauses.append("state IN ('assigned', 'in_progress', 'rehandling')")
        clauses.append("due_on != '' AND due_on < :f_today" if sqlite else "due_on < :f_today")
    if filters.unit:
        clauses.append(
            f"{id_column} IN (SELECT a.proposal_id FROM assignments a JOIN units u ON u.id = a.unit_id "
            "WHERE a.active AND u.name LIKE :f_unit)"
        )
        params["f_unit"] = "%" + filters.unit.replace("%", "").replace("_", "") + "%"
    return clauses


async def search(
    session: AsyncSession,
    *,
    tokens: Sequence[str],
    reach: Reach,
    filters: Filters = NO_FILTERS,
    today: date,
    limit: int = 5,
    offset: int = 0,
) -> Results:
    """The items whose document holds every token, best first: BM25 or ts_rank_cd, title boosted, recent a bit.

    Public documents for everyone; for items in `reach`, their full documents instead. `tokens` come from
    `index_tokens`; anything else in them is quoted, never read as query syntax.
    """
    rows = await _run(session, tokens=tokens, reach=reach, filters=filters, today=today, page=(limit, offset))
    hits = [Hit(int(r[0]), float(r[1]), bool(r[2])) for r in rows]
    total = int(rows[0][3]) if rows else 0
    if not rows and offset:
        total = await count_matches(session, tokens=tokens, reach=reach, filters=filters, today=today)
    return Results(hits, total)


async def count_matches(
    session: AsyncSession, *, tokens: Sequence[str], reach: Reach, filters: Filters = NO_FILTERS, today: date
) -> int:
    """How many items `search` finds for these tokens, without ranking them (a common word's count is cheap)."""
    rows = await _run(session, tokens=tokens, reach=reach, filters=filters, today=today, page=None)
    return int(rows[0][0]) if rows else 0


async def _run(
    session: AsyncSession,
    *,
    tokens: Sequence[str],
    reach: Reach,
    filters: Filters,
    today: date,
    page: tuple[int, int] | None,
) -> Sequence[Any]:
    """The rows of one index query: a ranked page (limit, offset), or with `page` None the count alone."""
    words = [t for t in dict.fromkeys(index_tokens(tokens)) if t]
    if not words:
        return []
    conn = await session.connection()
    sqlite = conn.dialect.name == "sqlite"
    limit, offset = page or (1, 0)
    params: dict[str, Any] = {
        "q": _quoted(words, sqlite=sqlite),
        "year_now": today.year,
        "f_today": today.isoformat() if sqlite else today,
        "limit": limit,
        "offset": offset,
    }
    ids = sorted(reach.ids)
    counting = page is None
    if sqlite:
        sql = _sqlite_query(filters, params, reach, counting=counting)
    else:
        sql = _pg_query(filters, params, reach, counting=counting)
    statement = text(sql)
    if ids and not reach.every:
        statement = statement.bindparams(bindparam("reach", expanding=True))
        params["reach"] = ids
    return (await conn.execute(statement, params)).all()


def _boost(*, sqlite: bool) -> str:
    greatest = "MAX" if sqlite else "GREATEST"
    return f"(1.0 + {RECENCY} / (1 + {greatest}(0, :year_now - year)))"


def _sqlite_query(filters: Filters, params: dict[str, Any], reach: Reach, *, counting: bool = False) -> str:
    """BM25 over every match, then the recency boost on the few that can still reach the page.

    Reading a column of an FTS5 row (the year the boost needs) loads the whole stored row, which costs several
    times what BM25 does when a common word matches tens of thousands of items. The boost multiplies a (negative)
    BM25 score by at most ``1 + RECENCY``, so an item can only make the first ``limit + offset`` if its raw score
    is within that factor of the ``limit + offset``-th best raw score: only those are boosted, and the page is
    exactly what boosting every match would give.
    """
    parts: list[str] = []
    for full in (False, True):
        if full and reach.nothing:
            continue
        table = _table(full)
        # `+rowid`: a unit filter's item set is checked against the matches, never handed to FTS5 as rowids to
        # look up one by one (that read thousands of whole rows: 130 ms for 区财政局 instead of 4 ms)
        clauses = [f"{table} MATCH :q", *_filter_sql(filters, params, id_column=f"+{table}.rowid", sqlite=True)]
        if not full and reach.every:
            clauses.append("has_full = 0")
        elif not full and not reach.nothing:
            clauses.append(f"NOT (has_full = 1 AND {table}.rowid IN :reach)")
        elif full and not reach.every:
            clauses.append(f"{table}.rowid IN :reach")
        parts.append(
            f"SELECT rowid AS id, {_BM25.format(t=table)} AS raw, {int(full)} AS full FROM {table} WHERE "
            + " AND ".join(clauses)
        )
    union = " UNION ALL ".join(parts)
    if counting:
        return f"SELECT count(*) FROM ({union})"
    params["cut"] = max(0, int(params["limit"]) + int(params["offset"]) - 1)
    year = (
        "(CASE WHEN m.full THEN (SELECT year FROM search_full WHERE rowid = m.id) "
        "ELSE (SELECT year FROM search_public WHERE rowid = m.id) END)"
    )
    boost = _boost(sqlite=True).replace("- year", f"- {year}")
    return (
        f"WITH m AS MATERIALIZED ({union}), "
        "cut AS (SELECT raw FROM m ORDER BY raw LIMIT 1 OFFSET :cut) "
        f"SELECT id, -score, full, (SELECT count(*) FROM m) FROM (SELECT m.id AS id, m.full AS full, "
        f"m.raw * {boost} AS score FROM m WHERE NOT EXISTS (SELECT 1 FROM cut) "
        f"OR m.raw <= (SELECT raw FROM cut) / (1.0 + {RECENCY})) ORDER BY score, id LIMIT :limit OFFSET :offset"
    )


def _pg_query(filters: Filters, params: dict[str, Any], reach: Reach, *, counting: bool = False) -> str:
    clauses = ["doc @@ CAST(:q AS tsquery)", *_filter_sql(filters, params, id_column="proposal_id", sqlite=False)]
    if reach.nothing:
        clauses.append("scope = 'public'")
    elif reach.every:
        clauses.append("(scope = 'full' OR NOT has_full)")
    else:
        clauses.append(
            "((scope = 'public' AND NOT (has_full AND proposal_id IN :reach)) "
            "OR (scope = 'full' AND proposal_id IN :reach))"
        )
    where = " AND ".join(clauses)
    if counting:
        return f"SELECT count(*) FROM search_docs WHERE {where}"
    score = f"ts_rank_cd({_PG_WEIGHTS}, doc, CAST(:q AS tsquery)) * {_boost(sqlite=False)}"
    return (
        f"SELECT proposal_id, {score} AS score, scope = 'full', count(*) OVER () FROM search_docs "
        f"WHERE {where} ORDER BY score DESC, proposal_id LIMIT :limit OFFSET :offset"
    )


async def term_counts(session: AsyncSession, *, tokens: Sequence[str]) -> dict[str, int]:
    """How many public documents hold each token (for "try fewer words")."""
    counts: dict[str, int] = {}
    for token in dict.fromkeys(index_tokens(tokens)):
        counts[token] = await count_matches(session, tokens=[token], reach=NO_REACH, today=date(2000, 1, 1))
    return counts


async def known_words(session: AsyncSession, *, near: str, limit: int = 5) -> list[str]:
    """Words of the public index that begin like `near` (its first two letters, else its first), most used first."""
    conn = await session.connection()
    words: list[str] = []
    for size in (2, 1):
        stem = near[:size]
        if len(stem) < size:
            continue
        if conn.dialect.name == "sqlite":
            rows = await conn.execute(
                text(
                    "SELECT term FROM search_vocab WHERE term >= :low AND term < :high AND term != :near "
                    "ORDER BY doc DESC LIMIT :limit"
                ),
                {"low": stem, "high": stem + "\U0010ffff", "near": near, "limit": limit},
            )
        else:
            # ts_stat over only the documents holding a word with this prefix (a GIN prefix match), not all, and
            # at most _NEAR_SAMPLE of them: a one-letter stem is in most documents, and reading them all took seconds
            # its query is SQL text, so the stem must be letters and digits only (an index word's are)
            if not _INDEX_STEM.fullmatch(stem):
                continue
            rows = await conn.execute(
                text(
                    "SELECT word FROM ts_stat('SELECT doc FROM search_docs WHERE scope = ''public'' AND doc @@ "
                    f"to_tsquery(''simple'', ''{stem}:*'') LIMIT {_NEAR_SAMPLE}') "
                    "WHERE word LIKE :pattern AND word != :near ORDER BY ndoc DESC LIMIT :limit"
                ),
                {"pattern": stem.replace("%", "").replace("_", "") + "%", "near": near, "limit": limit},
            )
        words.extend(w for (w,) in rows if w not in words)
        if words:
            break
    return words[:limit]
