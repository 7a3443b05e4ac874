"""Items and everything hanging off them: sessions, deputies, units, assignments, the event log, export rows.

Repositories never commit: the caller owns one transaction per update or job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar, cast

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import selectinload

from storage.cards import refresh_card
from storage.errors import NotFound, as_conflict
from storage.models import Assignment, Deputy, Event, Feedback, Proposal, ProposalDeputy, Reply, Session, Unit


@dataclass(frozen=True, slots=True)
class SessionKey:
    region: str
    body: str
    term: int
    sitting: int

    @property
    def label(self) -> str:
        return f"{self.region}{self.body} {self.term}-{self.sitting}"


@dataclass(frozen=True, slots=True)
class ProposalRecord:
    """One item as an importer or a demo loader states it; due days are computed by the caller."""

    session: SessionKey
    number: str
    number_key: str
    title: str
    kind: str = "代表建议"
    content: str = ""
    deputies: tuple[str, ...] = ()
    co_signers: tuple[str, ...] = ()
    lead_unit: str | None = None
    co_units: tuple[str, ...] = ()
    assigned_on: date | None = None
    due_on: date | None = None
    co_due_on: date | None = None
    key_supervised: bool = False
    public: bool = True


class UpsertOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class UpsertResult:
    outcome: UpsertOutcome
    proposal_id: int
    state: str


@dataclass(frozen=True, slots=True)
class EventRecord:
    action: str
    before: str | None
    after: str | None
    at: datetime
    actor: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def _cache(session: AsyncSession, name: str) -> dict[Any, Any]:
    """A per-transaction cache of rows looked up by name (a bulk import names the same units again and again).

    It lives in `session.info`, so it ends with the session; rows in it stay in the session's identity map.
    """
    cache: dict[Any, Any] = session.info.setdefault(name, {})
    return cache


_CACHES = ("sessions", "units", "deputies")


@event.listens_for(OrmSession, "after_rollback")
def _forget_cached_rows(session: OrmSession) -> None:
    """Rows created in a rolled-back transaction no longer exist: never hand them out again."""
    for name in _CACHES:
        session.info.pop(name, None)


async def get_or_create_session(session: AsyncSession, key: SessionKey) -> Session:
    cache = _cache(session, "sessions")
    if key in cache:
        return cast(Session, cache[key])
    row = await session.scalar(
        select(Session).where(
            Session.region == key.region,
            Session.body == key.body,
            Session.term == key.term,
            Session.sitting == key.sitting,
        )
    )
    if row is None:
        row = Session(region=key.region, body=key.body, term=key.term, sitting=key.sitting)
        session.add(row)
        with as_conflict(f"session {key.label}"):
            await session.flush()
    cache[key] = row
    return row


_Named = TypeVar("_Named", Deputy, Unit)


async def _get_or_create_named(session: AsyncSession, model: type[_Named], name: str) -> _Named:
    """The deputy or unit called `name`, created on first mention; cached for the rest of the transaction."""
    cache = _cache(session, model.__tablename__)
    if name in cache:
        return cast(_Named, cache[name])
    row = await session.scalar(select(model).where(model.name == name))
    if row is None:
        row = model(name=name)
        session.add(row)
        with as_conflict(f"{model.__tablename__} row {name}"):
            await session.flush()
    cache[name] = row
    return row


async def _deputy(session: AsyncSession, name: str) -> Deputy:
    return await _get_or_create_named(session, Deputy, name)


async def get_or_create_unit(session: AsyncSession, name: str) -> Unit:
    return await _get_or_create_named(session, Unit, name)


async def find_unit(session: AsyncSession, *, name: str) -> Unit | None:
    return await session.scalar(select(Unit).where(Unit.name == name))


async def find_deputy(session: AsyncSession, *, name: str) -> Deputy | None:
    return await session.scalar(select(Deputy).where(Deputy.name == name))


def _load_full() -> Any:
    return (
        selectinload(Proposal.session),
        selectinload(Proposal.deputies).selectinload(ProposalDeputy.deputy),
        selectinload(Proposal.assignments).selectinload(Assignment.unit),
    )


async def find_proposal(session: AsyncSession, *, key: SessionKey, number: str) -> Proposal | None:
    return await session.scalar(
        select(Proposal)
        .join(Session)
        .where(
            Session.region == key.region,
            Session.body == key.body,
            Session.term == key.term,
            Session.sitting == key.sitting,
            Proposal.number == number,
        )
        .options(*_load_full())
    )


async def get_proposal(session: AsyncSession, *, proposal_id: int) -> Proposal:
    row = await session.scalar(select(Proposal).where(Proposal.id == proposal_id).options(*_load_full()))
    if row is None:
        raise NotFound(f"proposal {proposal_id}")
    return row


def _snapshot(proposal: Proposal) -> tuple[Any, ...]:
    deputies = tuple((d.deputy.name, d.role) for d in proposal.deputies)
    # original_due_on, not due_on: an approved extension is not a difference from the imported record
    assignments = tuple(
        (a.unit.name, a.role, a.received_on, a.original_due_on) for a in proposal.assignments if a.active
    )
    return (
        proposal.kind,
        proposal.title,
        proposal.content,
        proposal.key_supervised,
        proposal.public,
        deputies,
        assignments,
    )


def _wanted(record: ProposalRecord) -> tuple[Any, ...]:
    deputies = tuple((n, "lead") for n in record.deputies) + tuple((n, "co_signer") for n in record.co_signers)
    assignments: tuple[tuple[Any, ...], ...] = ()
    if record.lead_unit:
        assignments += ((record.lead_unit, "lead", record.assigned_on, record.due_on),)
    assignments += tuple((u, "co", record.assigned_on, record.co_due_on) for u in record.co_units)
    return (
        record.kind,
        record.title,
        record.content,
        record.key_supervised,
        record.public,
        deputies,
        assignments,
    )


async def _apply(session: AsyncSession, proposal: Proposal, record: ProposalRecord) -> None:
    proposal.kind = record.kind
    proposal.title = record.title
    proposal.content = record.content
    proposal.key_supervised = record.key_supervised
    proposal.public = record.public
    wanted_deputies = [(n, "lead") for n in record.deputies] + [(n, "co_signer") for n in record.co_signers]
    seen: set[str] = set()
    links: list[ProposalDeputy] = []
    for position, (name, role) in enumerate(wanted_deputies):
        if name in seen:
            continue
        seen.add(name)
        deputy = await _deputy(session, name)
        links.append(ProposalDeputy(deputy=deputy, deputy_id=deputy.id, role=role, position=position))
    proposal.deputies.clear()
    await session.flush()
    proposal.deputies.extend(links)

    wanted_units: list[tuple[str, str, date | None]] = []
    if record.lead_unit:
        wanted_units.append((record.lead_unit, "lead", record.due_on))
    wanted_units += [(u, "co", record.co_due_on) for u in record.co_units if u != record.lead_unit]
    by_key = {(a.unit.name, a.role): a for a in proposal.assignments}
    keep: set[tuple[str, str]] = set()
    for name, role, due in wanted_units:
        keep.add((name, role))
        existing = by_key.get((name, role))
        if existing is None:
            unit = await get_or_create_unit(session, name)
            proposal.assignments.append(
                Assignment(
                    unit=unit,
                    unit_id=unit.id,
                    role=role,
                    received_on=record.assigned_on,
                    due_on=due,
                    original_due_on=due,
                    active=True,
                )
            )
        else:
            existing.active = True
            if existing.received_on != record.assigned_on or existing.original_due_on != due:
                existing.received_on = record.assigned_on
                existing.due_on = due
                existing.original_due_on = due
    for key, assignment in by_key.items():
        if key not in keep:
            assignment.active = False


async def upsert_proposal(
    session: AsyncSession, record: ProposalRecord, *, now: datetime, initial_state: str, refresh: bool = True
) -> UpsertResult:
    """Create the item or bring it in line with the record. Re-importing the same record changes nothing.

    `refresh=False` leaves the status card to the caller (a bulk import rebuilds all its cards at the end).
    Raises Conflict when the record breaks a unique key, such as a number stored under another number key.
    """
    with as_conflict(f"item {record.session.label} No. {record.number}"):
        return await _upsert(session, record, now=now, initial_state=initial_state, refresh=refresh)


async def _upsert(
    session: AsyncSession, record: ProposalRecord, *, now: datetime, initial_state: str, refresh: bool
) -> UpsertResult:
    db_session = await get_or_create_session(session, record.session)
    # match on the number's key so that `18` in a file updates the stored `018` instead of duplicating it
    proposal = await session.scalar(
        select(Proposal)
        .where(Proposal.session_id == db_session.id, Proposal.number_key == record.number_key)
        .options(*_load_full())
    )
    if proposal is None:
        proposal = Proposal(
            session_id=db_session.id,
            number=record.number,
            number_key=record.number_key,
            title=record.title,
            state=initial_state,
            created_at=now,
            updated_at=now,
        )
        proposal.deputies = []
        proposal.assignments = []
        session.add(proposal)
        await _apply(session, proposal, record)
        await session.flush()
        if refresh:
            await refresh_card(session, proposal_id=proposal.id)
        return UpsertResult(UpsertOutcome.CREATED, proposal.id, proposal.state)
    if _snapshot(proposal) == _wanted(record):
        return UpsertResult(UpsertOutcome.UNCHANGED, proposal.id, proposal.state)
    await _apply(session, proposal, record)
    proposal.updated_at = now
    await session.flush()
    if refresh:
        await refresh_card(session, proposal_id=proposal.id)
    return UpsertResult(UpsertOutcome.UPDATED, proposal.id, proposal.state)


async def add_event(session: AsyncSession, *, proposal_id: int, event: EventRecord) -> None:
    session.add(
        Event(
            proposal_id=proposal_id,
            action=event.action,
            before_state=event.before,
            after_state=event.after,
            actor=event.actor,
            at=event.at,
            detail=dict(event.detail),
        )
    )


async def _changed(session: AsyncSession, proposal: Proposal, event: EventRecord, *, state: str | None = None) -> None:
    """The end of every change to an item: its state (if given), the event, and its rebuilt card."""
    if state is not None:
        proposal.state = state
    proposal.updated_at = event.at
    await add_event(session, proposal_id=proposal.id, event=event)
    await session.flush()
    await refresh_card(session, proposal_id=proposal.id)


async def set_state(session: AsyncSession, *, proposal_id: int, state: str, event: EventRecord) -> None:
    """Change an item's state and record the event, in the caller's transaction."""
    proposal = await get_proposal(session, proposal_id=proposal_id)
    await _changed(session, proposal, event, state=state)


async def list_events(session: AsyncSession, *, proposal_id: int) -> Sequence[Event]:
    result = await session.scalars(select(Event).where(Event.proposal_id == proposal_id).order_by(Event.at, Event.id))
    return result.all()


@dataclass(frozen=True, slots=True)
class StoredItem:
    """An item as stored, in the terms an importer states it in, with its state. ``record.due_on`` is the lead
    unit's current due day (an approved extension included), ``record.co_due_on`` the first co-unit's."""

    record: ProposalRecord
    state: str
    result_class: str | None = None
    replied_on: date | None = None
    rating: str | None = None


def _stored(proposal: Proposal) -> StoredItem:
    active = [a for a in proposal.assignments if a.active]
    lead = next((a for a in active if a.role == "lead"), None)
    co = [a for a in active if a.role == "co"]
    record = ProposalRecord(
        session=SessionKey(
            region=proposal.session.region,
            body=proposal.session.body,
            term=proposal.session.term,
            sitting=proposal.session.sitting,
        ),
        number=proposal.number,
        number_key=proposal.number_key,
        title=proposal.title,
        kind=proposal.kind,
        content=proposal.content,
        deputies=tuple(d.deputy.name for d in proposal.deputies if d.role == "lead"),
        co_signers=tuple(d.deputy.name for d in proposal.deputies if d.role == "co_signer"),
        lead_unit=lead.unit.name if lead else None,
        co_units=tuple(a.unit.name for a in co),
        assigned_on=lead.received_on if lead else None,
        due_on=lead.due_on if lead else None,
        co_due_on=co[0].due_on if co else None,
        key_supervised=proposal.key_supervised,
        public=proposal.public,
    )
    return StoredItem(record=record, state=proposal.state)


async def list_items(session: AsyncSession, *, session_id: int | None = None) -> list[StoredItem]:
    """Every item (of one sitting, if given), ordered by session and number, with its current reply's result class,
    date and latest rating (for an export)."""
    query = select(Proposal).options(*_load_full()).join(Session)
    if session_id is not None:
        query = query.where(Proposal.session_id == session_id)
    result = await session.scalars(
        query.order_by(Session.region, Session.body, Session.term, Session.sitting, Proposal.number)
    )
    proposals = result.all()
    replies: dict[int, tuple[int, str | None, date | None]] = {}
    scope = select(Proposal.id) if session_id is None else select(Proposal.id).where(Proposal.session_id == session_id)
    for r in await session.execute(
        select(Reply.id, Reply.proposal_id, Reply.result_class, Reply.replied_on)
        .where(Reply.letter_type == "reply", Reply.superseded.is_(False), Reply.proposal_id.in_(scope))
        .order_by(Reply.proposal_id, Reply.id.desc())
    ):
        replies.setdefault(r.proposal_id, (r.id, r.result_class, r.replied_on))
    ratings: dict[int, str] = {}
    current = [v[0] for v in replies.values()]
    for start in range(0, len(current), 2000):
        for f in await session.execute(
            select(Feedback.reply_id, Feedback.rating)
            .where(Feedback.reply_id.in_(current[start : start + 2000]))
            .order_by(Feedback.reply_id, Feedback.id.desc())
        ):
            ratings.setdefault(f.reply_id, f.rating)
    items: list[StoredItem] = []
    for p in proposals:
        item = _stored(p)
        reply = replies.get(p.id)
        if reply is not None:
            item = StoredItem(item.record, item.state, reply[1], reply[2], ratings.get(reply[0]))
        items.append(item)
    return items


async def extend_due(session: AsyncSession, *, proposal_id: int, due_on: date, event: EventRecord) -> None:
    """Move the lead unit's due day (an approved extension) and record the event."""
    proposal = await get_proposal(session, proposal_id=proposal_id)
    for assignment in proposal.assignments:
        if assignment.active and assignment.role == "lead":
            assignment.due_on = due_on
    await _changed(session, proposal, event)


async def restart_clock(
    session: AsyncSession, *, proposal_id: int, due_on: date, state: str, event: EventRecord
) -> None:
    """Start a new lead-unit clock (re-handling after 不满意) and change the state, with its event."""
    proposal = await get_proposal(session, proposal_id=proposal_id)
    for assignment in proposal.assignments:
        if assignment.active and assignment.role == "lead":
            # 交办日 stays as it was: the new clock is known by its due day
            assignment.due_on = due_on
            assignment.original_due_on = due_on
    await _changed(session, proposal, event, state=state)


async def latest_session(session: AsyncSession) -> Session | None:
    """The most recent session (highest term, then sitting) that has items."""
    return await session.scalar(
        select(Session).order_by(Session.term.desc(), Session.sitting.desc(), Session.id.desc()).limit(1)
    )


async def find_session(session: AsyncSession, *, session_id: int) -> Session | None:
    return await session.get(Session, session_id)


async def find_unit_by_id(session: AsyncSession, *, unit_id: int) -> Unit | None:
    return await session.get(Unit, unit_id)


async def hand_to_unit(
    session: AsyncSession,
    *,
    proposal_id: int,
    unit_id: int,
    received_on: date,
    due_on: date,
    state: str,
    event: EventRecord,
) -> list[int]:
    """Give the item to a new lead unit with a fresh clock (交办, 改派 or a wrong-unit return), in one step.

    The old lead assignment stays as history but stops (``active`` false, so its reminders stop); returns the ids
    of the assignments that stopped.
    """
    proposal = await get_proposal(session, proposal_id=proposal_id)
    stopped: list[int] = []
    target: Assignment | None = None
    for assignment in proposal.assignments:
        if assignment.role != "lead":
            continue
        if assignment.unit_id == unit_id:
            target = assignment
        elif assignment.active:
            assignment.active = False
            stopped.append(assignment.id)
    if target is None:
        target = Assignment(proposal_id=proposal_id, unit_id=unit_id, role="lead")
        session.add(target)
    target.active = True
    target.received_on = received_on
    target.due_on = due_on
    target.original_due_on = due_on
    await _changed(session, proposal, event, state=state)
    return stopped


async def list_units_matching(session: AsyncSession, *, text: str, limit: int = 6) -> Sequence[Unit]:
    """Units named exactly `text`, else those whose name contains it (at most `limit`)."""
    exact = await find_unit(session, name=text)
    if exact is not None:
        return [exact]
    query = select(Unit).where(Unit.name.contains(text, autoescape=True)).order_by(Unit.name).limit(limit)
    return (await session.scalars(query)).all()


async def list_sessions_of(session: AsyncSession, *, term: int, sitting: int) -> Sequence[Session]:
    """Every session (region and body) of this term and sitting."""
    query = select(Session).where(Session.term == term, Session.sitting == sitting).order_by(Session.id)
    return (await session.scalars(query)).all()
