"""Bulk import SQL: the stored items of the sittings a file names, read with a few set-based queries, and a planned
import written with one executemany per table.

The per-row ORM path (`storage.proposals.upsert_proposal`) costs about 17 ms a row on SQLite; this one reads and
writes in sets, so 10,000 rows take a second or two and the write transaction, the only part that holds SQLite's
write lock, stays short. Repositories never commit: the caller's transaction makes the import all-or-nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage.cards import MAX_IDS_PER_QUERY, rebuild_cards
from storage.errors import as_conflict
from storage.models import Assignment, Deputy, Event, Proposal, ProposalDeputy, Session, Unit
from storage.proposals import EventRecord, ProposalRecord, SessionKey, get_or_create_session

__all__ = ["ImportWrite", "Snapshot", "StoredAssignment", "StoredProposal", "apply_import", "load_existing"]

_PROPOSALS: Table = Proposal.__table__  # type: ignore[assignment]
_ASSIGNMENTS: Table = Assignment.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class StoredAssignment:
    id: int
    unit: str
    role: str
    received_on: date | None
    due_on: date | None
    original_due_on: date | None
    active: bool


@dataclass(frozen=True, slots=True)
class StoredProposal:
    """One stored item as an import sees it: its record (active assignments only), state and every assignment."""

    id: int
    state: str
    record: ProposalRecord
    assignments: tuple[StoredAssignment, ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The stored items of some sittings, by (sitting, number key), and a fingerprint to tell if they changed."""

    items: dict[tuple[SessionKey, str], StoredProposal]
    fingerprint: tuple[Any, ...]

    def numbers(self) -> dict[tuple[str, str, int, int], list[str]]:
        """The printed numbers stored per sitting (for padding a numeric 编号)."""
        out: dict[tuple[str, str, int, int], list[str]] = {}
        for (key, _), item in self.items.items():
            out.setdefault((key.region, key.body, key.term, key.sitting), []).append(item.record.number)
        return out


@dataclass(frozen=True, slots=True)
class ImportWrite:
    """What to store for one row: the record (with its due days), the item it updates, its new state and events."""

    record: ProposalRecord
    existing: StoredProposal | None
    state: str
    events: tuple[EventRecord, ...] = field(default=())


async def _session_ids(conn: AsyncConnection, keys: Iterable[SessionKey]) -> dict[SessionKey, int]:
    ids: dict[SessionKey, int] = {}
    for key in set(keys):
        found = await conn.scalar(
            select(Session.id).where(
                Session.region == key.region,
                Session.body == key.body,
                Session.term == key.term,
                Session.sitting == key.sitting,
            )
        )
        if found is not None:
            ids[key] = found
    return ids


async def _fingerprint(conn: AsyncConnection, session_ids: Sequence[int]) -> tuple[Any, ...]:
    """What changes whenever an item of these sittings is created or changed (every write path sets updated_at)."""
    row = (
        await conn.execute(
            select(func.count(Proposal.id), func.max(Proposal.updated_at), func.max(Proposal.id)).where(
                Proposal.session_id.in_(session_ids)
            )
        )
    ).one()
    return (tuple(sorted(session_ids)), row[0], row[1], row[2])


async def load_existing(session: AsyncSession, keys: Iterable[SessionKey]) -> Snapshot:
    """The stored items of the sittings `keys`, with their deputies and assignments: four queries in all."""
    conn = await session.connection()
    session_ids = await _session_ids(conn, keys)
    by_id = {v: k for k, v in session_ids.items()}
    if not by_id:
        return Snapshot({}, ((), 0, None, None))
    in_sittings = select(Proposal.id).where(Proposal.session_id.in_(list(by_id))).scalar_subquery()
    proposals = (
        await conn.execute(
            select(
                Proposal.id,
                Proposal.session_id,
                Proposal.number,
                Proposal.number_key,
                Proposal.kind,
                Proposal.title,
                Proposal.content,
                Proposal.key_supervised,
                Proposal.public,
                Proposal.state,
            ).where(Proposal.session_id.in_(list(by_id)))
        )
    ).all()
    deputies: dict[int, list[tuple[str, str]]] = {}
    for d in await conn.execute(
        select(ProposalDeputy.proposal_id, Deputy.name, ProposalDeputy.role)
        .join(Deputy, Deputy.id == ProposalDeputy.deputy_id)
        .where(ProposalDeputy.proposal_id.in_(in_sittings))
        .order_by(ProposalDeputy.proposal_id, ProposalDeputy.position, ProposalDeputy.id)
    ):
        deputies.setdefault(d.proposal_id, []).append((d.name, d.role))
    assignments: dict[int, list[StoredAssignment]] = {}
    for a in await conn.execute(
        select(
            Assignment.id,
            Assignment.proposal_id,
            Unit.name,
            Assignment.role,
            Assignment.received_on,
            Assignment.due_on,
            Assignment.original_due_on,
            Assignment.active,
        )
        .join(Unit, Unit.id == Assignment.unit_id)
        .where(Assignment.proposal_id.in_(in_sittings))
        .order_by(Assignment.proposal_id, Assignment.id)
    ):
        assignments.setdefault(a.proposal_id, []).append(
            StoredAssignment(a.id, a.name, a.role, a.received_on, a.due_on, a.original_due_on, a.active)
        )
    items: dict[tuple[SessionKey, str], StoredProposal] = {}
    for p in proposals:
        links = deputies.get(p.id, [])
        units = assignments.get(p.id, [])
        active = [a for a in units if a.active]
        lead = next((a for a in active if a.role == "lead"), None)
        co = [a for a in active if a.role == "co"]
        key = by_id[p.session_id]
        record = ProposalRecord(
            session=key,
            number=p.number,
            number_key=p.number_key,
            title=p.title,
            kind=p.kind,
            content=p.content,
            deputies=tuple(n for n, r in links if r == "lead"),
            co_signers=tuple(n for n, r in links if r == "co_signer"),
            lead_unit=lead.unit if lead else None,
            co_units=tuple(a.unit for a in co),
            assigned_on=lead.received_on if lead else None,
            due_on=lead.due_on if lead else None,
            co_due_on=co[0].due_on if co else None,
            key_supervised=p.key_supervised,
            public=p.public,
        )
        items[(key, p.number_key)] = StoredProposal(p.id, p.state, record, tuple(units))
    return Snapshot(items, await _fingerprint(conn, list(by_id)))


async def snapshot_changed(session: AsyncSession, snapshot: Snapshot, keys: Iterable[SessionKey]) -> bool:
    """Whether the sittings' items changed since `snapshot` was read (another writer came in between)."""
    conn = await session.connection()
    ids = await _session_ids(conn, keys)
    if not ids:
        return bool(snapshot.fingerprint[0] != ())
    return bool(await _fingerprint(conn, list(ids.values())) != snapshot.fingerprint)


async def _ids_by_name(conn: AsyncConnection, model: type[Deputy] | type[Unit], names: set[str]) -> dict[str, int]:
    """The ids of the deputies or units called `names`, creating the missing ones in one executemany."""
    ids: dict[str, int] = {}
    wanted = sorted(names)
    for start in range(0, len(wanted), MAX_IDS_PER_QUERY):
        chunk = wanted[start : start + MAX_IDS_PER_QUERY]
        for row in await conn.execute(select(model.id, model.name).where(model.name.in_(chunk))):
            ids[row.name] = row.id
    missing = [{"name": n} for n in wanted if n not in ids]
    if missing:
        table: Table = model.__table__  # type: ignore[assignment]
        created = await conn.execute(insert(table).returning(table.c.id, table.c.name), missing)
        for row in created:
            ids[row.name] = row.id
    return ids


def _deputy_rows(proposal_id: int, record: ProposalRecord, deputy_ids: dict[str, int]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    wanted = [(n, "lead") for n in record.deputies] + [(n, "co_signer") for n in record.co_signers]
    for position, (name, role) in enumerate(wanted):
        if name not in seen:
            seen.add(name)
            rows.append({"proposal_id": proposal_id, "deputy_id": deputy_ids[name], "role": role, "position": position})
    return rows


def _wanted_units(record: ProposalRecord) -> list[tuple[str, str, date | None]]:
    units: list[tuple[str, str, date | None]] = []
    if record.lead_unit:
        units.append((record.lead_unit, "lead", record.due_on))
    units += [(u, "co", record.co_due_on) for u in record.co_units if u != record.lead_unit]
    return units


def _deputies_of(record: ProposalRecord) -> tuple[tuple[str, str], ...]:
    return tuple((n, "lead") for n in record.deputies) + tuple((n, "co_signer") for n in record.co_signers)


async def _executemany(conn: AsyncConnection, statement: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(statement, rows)


async def apply_import(session: AsyncSession, writes: Sequence[ImportWrite], *, now: datetime) -> list[int]:
    """Store the planned rows in the caller's transaction: one executemany per table, then the touched cards.

    Returns the ids of the items created or changed. A row that breaks a unique key raises Conflict.
    """
    with as_conflict("import"):
        return await _apply(session, writes, now=now)


async def _apply(session: AsyncSession, writes: Sequence[ImportWrite], *, now: datetime) -> list[int]:
    sessions = {w.record.session: (await get_or_create_session(session, w.record.session)).id for w in writes}
    conn = await session.connection()
    deputy_ids = await _ids_by_name(
        conn, Deputy, {n for w in writes for n in (*w.record.deputies, *w.record.co_signers)}
    )
    unit_ids = await _ids_by_name(conn, Unit, {u for w in writes for u, _, _ in _wanted_units(w.record)})

    new = [w for w in writes if w.existing is None]
    ids: list[int] = []
    if new:
        # RETURNING in any order (keyed by the unique sitting and number): SQLAlchemy batches it on both engines,
        # where asking for the parameters' order makes SQLite insert row by row
        created = await conn.execute(
            insert(_PROPOSALS).returning(_PROPOSALS.c.id, _PROPOSALS.c.session_id, _PROPOSALS.c.number),
            [
                {
                    "session_id": sessions[w.record.session],
                    "number": w.record.number,
                    "number_key": w.record.number_key,
                    "kind": w.record.kind,
                    "title": w.record.title,
                    "content": w.record.content,
                    "state": w.state,
                    "key_supervised": w.record.key_supervised,
                    "public": w.record.public,
                    "created_at": now,
                    "updated_at": now,
                }
                for w in new
            ],
        )
        by_key = {(row.session_id, row.number): row.id for row in created}
        ids = [by_key[(sessions[w.record.session], w.record.number)] for w in new]
    links: list[dict[str, Any]] = []
    assignment_rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []

    def assignment(proposal_id: int, record: ProposalRecord, unit: str, role: str, due: date | None) -> None:
        assignment_rows.append(
            {
                "proposal_id": proposal_id,
                "unit_id": unit_ids[unit],
                "role": role,
                "received_on": record.assigned_on,
                "due_on": due,
                "original_due_on": due,
                "active": True,
            }
        )

    def log(proposal_id: int, write: ImportWrite) -> None:
        events.extend(
            {
                "proposal_id": proposal_id,
                "action": e.action,
                "before_state": e.before,
                "after_state": e.after,
                "actor": e.actor,
                "at": e.at,
                "detail": dict(e.detail),
            }
            for e in write.events
        )

    for proposal_id, write in zip(ids, new, strict=True):
        links += _deputy_rows(proposal_id, write.record, deputy_ids)
        for unit, role, due in _wanted_units(write.record):
            assignment(proposal_id, write.record, unit, role, due)
        log(proposal_id, write)

    changed = [w for w in writes if w.existing is not None]
    proposal_updates: list[dict[str, Any]] = []
    relinked: list[int] = []
    assignment_updates: list[dict[str, Any]] = []
    for write in changed:
        stored = write.existing
        assert stored is not None
        r = write.record
        proposal_updates.append(
            {
                "b_id": stored.id,
                "kind": r.kind,
                "title": r.title,
                "content": r.content,
                "key_supervised": r.key_supervised,
                "state": write.state,
                "updated_at": now,
            }
        )
        if _deputies_of(stored.record) != _deputies_of(r):
            relinked.append(stored.id)
            links += _deputy_rows(stored.id, r, deputy_ids)
        by_key = {(a.unit, a.role): a for a in stored.assignments}
        keep: set[tuple[str, str]] = set()
        for unit, role, due in _wanted_units(r):
            keep.add((unit, role))
            old = by_key.get((unit, role))
            if old is None:
                assignment(stored.id, r, unit, role, due)
            elif not old.active or old.received_on != r.assigned_on or old.original_due_on != due:
                moved = old.received_on != r.assigned_on or old.original_due_on != due
                assignment_updates.append(
                    {
                        "b_id": old.id,
                        "active": True,
                        "received_on": r.assigned_on if moved else old.received_on,
                        "due_on": due if moved else old.due_on,
                        "original_due_on": due if moved else old.original_due_on,
                    }
                )
        for key, old in by_key.items():
            if key not in keep and old.active:
                assignment_updates.append(
                    {
                        "b_id": old.id,
                        "active": False,
                        "received_on": old.received_on,
                        "due_on": old.due_on,
                        "original_due_on": old.original_due_on,
                    }
                )
        log(stored.id, write)

    await _executemany(
        conn,
        update(_PROPOSALS)
        .where(_PROPOSALS.c.id == bindparam("b_id"))
        .values(
            kind=bindparam("kind"),
            title=bindparam("title"),
            content=bindparam("content"),
            key_supervised=bindparam("key_supervised"),
            state=bindparam("state"),
            updated_at=bindparam("updated_at"),
        ),
        proposal_updates,
    )
    for start in range(0, len(relinked), MAX_IDS_PER_QUERY):
        await conn.execute(
            delete(ProposalDeputy).where(ProposalDeputy.proposal_id.in_(relinked[start : start + MAX_IDS_PER_QUERY]))
        )
    await _executemany(
        conn,
        update(_ASSIGNMENTS)
        .where(_ASSIGNMENTS.c.id == bindparam("b_id"))
        .values(
            active=bindparam("active"),
            received_on=bindparam("received_on"),
            due_on=bindparam("due_on"),
            original_due_on=bindparam("original_due_on"),
        ),
        assignment_updates,
    )
    await _executemany(conn, insert(ProposalDeputy), links)
    await _executemany(conn, insert(Assignment), assignment_rows)
    await _executemany(conn, insert(Event), events)
    touched = ids + [w.existing.id for w in changed if w.existing is not None]
    if touched:
        await rebuild_cards(session, proposal_ids=touched)
    return touched
