"""The liaison office's lifecycle actions: extend a deadline, hand an item to another unit, withdraw it.

Each runs in the caller's one transaction and does everything at once: it checks the lifecycle and the clock
rules, changes the item, records the event (the timeline) and the audit entry (who, old and new values), stops
the reminders of a clock that no longer runs, and queues the notices through the one push queue. Each raises
before writing anything when the action is not allowed: ``IllegalTransition`` for the lifecycle,
``ExtensionRefused`` for the clock, ``UnknownUnit`` for a unit name that names no unit or several.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.planner import EXTENDED, REASSIGNED, WITHDRAWN, notice_plans, reminder_prefixes
from bot.delivery.queue import queue_plans
from bot.domain.access import may_see_item
from bot.domain.clock import WorkCalendar, due_day
from bot.domain.extensions import ExtensionAsk, NewDue, extended_due
from bot.domain.lifecycle import Action, State, transition
from bot.services.events import event_record
from bot.services.recipients import push_viewers, recipient_views
from config.settings import Jurisdiction
from storage.accounts import accounts_for, unit_accounts
from storage.audit import Actor, AuditRecord, proposal_subject, record_audit
from storage.cards import build_card
from storage.follows import followers
from storage.models import Account, Assignment, Proposal
from storage.outbox import cancel_pending
from storage.proposals import (
    extend_due,
    find_unit_by_id,
    get_proposal,
    hand_to_unit,
    list_units_matching,
    set_state,
)

__all__ = [
    "Acting",
    "Done",
    "SameUnit",
    "UnknownUnit",
    "assign_item",
    "extend_item",
    "lead_of",
    "plan_extension",
    "resolve_unit",
    "withdraw_item",
]


class UnknownUnit(Exception):
    """No unit, or several, go by the name given: ``candidates`` are the near matches."""

    def __init__(self, text: str, candidates: Sequence[str]) -> None:
        super().__init__(text)
        self.text = text
        self.candidates = tuple(candidates)


class SameUnit(Exception):
    """The unit named already handles the item: there is nothing to hand over."""


@dataclass(frozen=True, slots=True)
class Acting:
    """Who acts, when, and under which clock rules: what every action needs besides its own arguments."""

    actor: Actor
    now: datetime
    profile: Jurisdiction
    calendar: WorkCalendar
    tz: tzinfo
    admin_ids: frozenset[int] = frozenset()  # PROPOSAL_BOT_ADMINS: with the grants, who among the told is an admin


@dataclass(frozen=True, slots=True)
class Done:
    """What an action did, for the admin's answer: the number, the values before and after, who was told."""

    number: str
    old: dict[str, str]
    new: dict[str, str]
    notified: int
    late_return: bool = False


def lead_of(proposal: Proposal) -> Assignment | None:
    return next((a for a in proposal.assignments if a.active and a.role == "lead"), None)


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def plan_extension(
    ask: ExtensionAsk, *, received_on: date | None, due_on: date | None, profile: Jurisdiction, calendar: WorkCalendar
) -> NewDue:
    """The new due day `ask` gives under the profile's cap (`extended_max_months` from 交办日)."""
    return extended_due(
        ask,
        received_on=received_on,
        due_on=due_on,
        max_months=profile.extended_max_months,
        calendar=calendar,
        roll_to_workday=profile.roll_to_workday,
    )


async def _tell(
    session: AsyncSession,
    accounts: Iterable[Account],
    *,
    kind: str,
    proposal: Proposal,
    params: dict[str, str | int],
    acting: Acting,
) -> int:
    now, profile, calendar = acting.now, acting.profile, acting.calendar
    accounts = list(accounts)
    card = await build_card(session, proposal_id=proposal.id)
    viewers = await push_viewers(session, accounts, admin_ids=acting.admin_ids)
    # a follower who may no longer see the item (made non-public since) hears nothing of it: its card says nothing
    visible = [a for a in accounts if card is not None and may_see_item(card, viewers[a.id])]
    recipients = recipient_views(visible, profile, acting.tz)
    base: dict[str, str | int] = {"proposal_id": proposal.id, "number": proposal.number, "title": proposal.title}
    plans = notice_plans(
        recipients=recipients,
        kind=kind,
        subject=f"{proposal.id}:{now.isoformat()}",
        params=base | params,
        now=now,
        profile=profile,
        calendar=calendar,
    )
    await queue_plans(session, plans, now=now)
    return len(recipients)


async def _deputies(session: AsyncSession, proposal: Proposal, *, follower_ids: Iterable[int] = ()) -> list[Account]:
    deputy_ids = [d.deputy_id for d in proposal.deputies]
    return list(await accounts_for(session, account_ids=list(follower_ids), deputy_ids=deputy_ids))


async def _staff(session: AsyncSession, unit_id: int | None) -> list[Account]:
    return [] if unit_id is None else list(await unit_accounts(session, unit_id=unit_id))


async def extend_item(
    session: AsyncSession,
    acting: Acting,
    *,
    proposal_id: int,
    ask: ExtensionAsk,
    reason: str,
) -> Done:
    """延期: move the lead unit's due day; the unit's staff and the item's deputies are told."""
    actor, now, profile, calendar = acting.actor, acting.now, acting.profile, acting.calendar
    proposal = await get_proposal(session, proposal_id=proposal_id)
    lead = lead_of(proposal)
    step = transition(State(proposal.state), Action.extend, at=now, actor=f"admin:{actor.telegram_id}")
    new = plan_extension(
        ask,
        received_on=lead.received_on if lead else None,
        due_on=lead.due_on if lead else None,
        profile=profile,
        calendar=calendar,
    )
    assert lead is not None  # plan_extension refuses an item without a clock
    old_due = lead.due_on
    await extend_due(
        session,
        proposal_id=proposal.id,
        due_on=new.day,
        event=event_record(step, due_on=new.day.isoformat(), old_due_on=_iso(old_due), note=reason),
    )
    old = {"due_on": _iso(old_due)}
    fresh = {"due_on": new.day.isoformat(), "reason": reason}
    if new.months is not None:
        fresh["months"] = str(new.months)
    await record_audit(
        session,
        [AuditRecord("extend", proposal_subject(proposal), old, fresh, proposal.id)],
        actor=actor,
        now=now,
    )
    told = await _staff(session, lead.unit_id) + await _deputies(session, proposal)
    notified = await _tell(
        session,
        told,
        kind=EXTENDED,
        proposal=proposal,
        params={"due_on": new.day.isoformat(), "old_due_on": _iso(old_due), "reason": reason},
        acting=acting,
    )
    return Done(proposal.number, old, fresh, notified)


async def resolve_unit(session: AsyncSession, text: str) -> tuple[int, str]:
    """The one unit `text` names (exactly, or as the only unit whose name contains it); raises ``UnknownUnit``."""
    units = await list_units_matching(session, text=text.strip())
    if len(units) != 1:
        raise UnknownUnit(text, [u.name for u in units])
    return units[0].id, units[0].name


async def assign_item(
    session: AsyncSession,
    acting: Acting,
    *,
    proposal_id: int,
    unit_id: int,
    wrong_unit: bool,
) -> Done:
    """交办 / 改派 / 退回改派: the unit gets the item with a fresh clock from today; the old unit's reminders stop.

    `wrong_unit` records the old unit's return of a wrongly assigned item, flagged late when it comes more than
    the profile's `return_workdays` working days after that unit received it. The new unit's staff, the old
    unit's staff and the item's deputies are told.
    """
    actor, now, profile, calendar, tz = acting.actor, acting.now, acting.profile, acting.calendar, acting.tz
    proposal = await get_proposal(session, proposal_id=proposal_id)
    state = State(proposal.state)
    lead = lead_of(proposal)
    today = now.astimezone(tz).date()
    action = Action.assign if state is State.draft else Action.return_ if wrong_unit else Action.reassign
    step = transition(state, action, at=now, actor=f"admin:{actor.telegram_id}")
    if lead is not None and lead.unit_id == unit_id:
        raise SameUnit(lead.unit.name)
    late = False
    if wrong_unit and lead is not None and lead.received_on is not None:
        late = today > calendar.add_workdays(lead.received_on, profile.return_workdays)
    due = due_day(today, months=profile.reply_months, calendar=calendar, roll_to_workday=profile.roll_to_workday)
    units = {a.unit_id: a.unit.name for a in proposal.assignments}
    new_unit = units.get(unit_id) or (await _unit_name(session, unit_id))
    detail = {"unit": new_unit, "due_on": due.day.isoformat()}
    if lead is not None:
        detail["old_unit"] = lead.unit.name
    if late:
        detail["late"] = "1"
    stopped = await hand_to_unit(
        session,
        proposal_id=proposal.id,
        unit_id=unit_id,
        received_on=today,
        due_on=due.day,
        state=step.after,
        event=event_record(step, **detail),
    )
    await cancel_pending(session, prefixes=reminder_prefixes(stopped))
    old = {"unit": lead.unit.name if lead else "", "received_on": _iso(lead.received_on if lead else None)}
    old["due_on"] = _iso(lead.due_on if lead else None)
    fresh = {"unit": new_unit, "received_on": today.isoformat(), "due_on": due.day.isoformat(), "kind": action.value}
    if late:
        fresh["late_return"] = "1"
    await record_audit(
        session, [AuditRecord("assign", proposal_subject(proposal), old, fresh, proposal.id)], actor=actor, now=now
    )
    told = await _staff(session, unit_id) + await _staff(session, lead.unit_id if lead else None)
    told += await _deputies(session, proposal)
    notified = await _tell(
        session,
        told,
        kind=REASSIGNED,
        proposal=proposal,
        params={"unit": new_unit, "old_unit": old["unit"] or "—", "due_on": due.day.isoformat()},
        acting=acting,
    )
    return Done(proposal.number, old, fresh, notified, late_return=late)


async def _unit_name(session: AsyncSession, unit_id: int) -> str:
    unit = await find_unit_by_id(session, unit_id=unit_id)
    if unit is None:
        raise UnknownUnit(str(unit_id), [])
    return unit.name


async def withdraw_item(
    session: AsyncSession,
    acting: Acting,
    *,
    proposal_id: int,
    reason: str,
) -> Done:
    """撤回: the item leaves the handling; every reminder stops and its followers, deputies and units are told."""
    actor, now = acting.actor, acting.now
    proposal = await get_proposal(session, proposal_id=proposal_id)
    state = State(proposal.state)
    step = transition(state, Action.withdraw, at=now, actor=f"admin:{actor.telegram_id}")
    await set_state(session, proposal_id=proposal.id, state=step.after, event=event_record(step, note=reason))
    clocks = [a.id for a in proposal.assignments if a.active]
    await cancel_pending(session, prefixes=reminder_prefixes(clocks))
    old, fresh = {"state": state.value}, {"state": step.after.value, "reason": reason}
    await record_audit(
        session, [AuditRecord("withdraw", proposal_subject(proposal), old, fresh, proposal.id)], actor=actor, now=now
    )
    follower_ids: set[int] = set()
    follower_ids.update(await followers(session, kind="item", key=str(proposal.id)))
    follower_ids.update(await followers(session, kind="session", key=str(proposal.session_id)))
    told: list[Account] = []
    for assignment in proposal.assignments:
        if assignment.active:
            told += await _staff(session, assignment.unit_id)
            follower_ids.update(await followers(session, kind="unit", key=str(assignment.unit_id)))
    told += await _deputies(session, proposal, follower_ids=follower_ids)
    notified = await _tell(
        session,
        told,
        kind=WITHDRAWN,
        proposal=proposal,
        params={"reason": reason},
        acting=acting,
    )
    return Done(proposal.number, old, fresh, notified)
