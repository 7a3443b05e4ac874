"""The proposal lifecycle: which action is legal in which state, where it leads, and derived overdue days.

The transition table is the single source of truth (DESIGN §2). A transition produces a ``Transition`` record
for the caller to store as an event; nothing here touches storage or the clock. Overdue is derived from the
state and the due day, never stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from bot.domain.ratings import Rating, is_tracking

__all__ = [
    "OPEN_STATES",
    "Action",
    "IllegalTransition",
    "State",
    "Transition",
    "legal_actions",
    "next_state",
    "overdue_days",
    "transition",
]


class State(StrEnum):
    draft = "draft"
    assigned = "assigned"
    in_progress = "in_progress"
    replied = "replied"
    closed = "closed"
    withdrawn = "withdrawn"
    rehandling = "rehandling"
    tracking = "tracking"  # a B-class (planned / in progress) reply: awaiting the final reply


class Action(StrEnum):
    assign = "assign"
    start = "start"
    # The unit hands a wrongly assigned item back (within 7 working days); ``return`` is a keyword.
    return_ = "return"
    reassign = "reassign"  # the liaison office sends the item to another unit
    extend = "extend"
    reply = "reply"
    rate = "rate"
    withdraw = "withdraw"
    rehandle = "rehandle"
    close = "close"


#: States in which a reply is owed, so a passed due day means overdue.
OPEN_STATES: Final[frozenset[State]] = frozenset({State.assigned, State.in_progress, State.rehandling})


class IllegalTransition(Exception):
    """An action that the lifecycle does not allow in the current state (or with these arguments)."""

    def __init__(self, state: State, action: Action, reason: str | None = None) -> None:
        self.state = state
        self.action = action
        self.reason = reason
        message = f"cannot {action.value} an item in state {state.value}"
        super().__init__(f"{message}: {reason}" if reason else message)


# The fixed part of the table. reply and rate depend on their arguments and are resolved in next_state.
_TABLE: Final[Mapping[tuple[State, Action], State]] = MappingProxyType(
    {
        (State.draft, Action.assign): State.assigned,
        (State.draft, Action.withdraw): State.withdrawn,
        (State.assigned, Action.start): State.in_progress,
        # A returned or reassigned item goes to another unit, whose clock starts afresh: assigned again.
        (State.assigned, Action.return_): State.assigned,
        (State.in_progress, Action.return_): State.assigned,
        (State.assigned, Action.reassign): State.assigned,
        (State.in_progress, Action.reassign): State.assigned,
        # An extension only moves the due day.
        (State.assigned, Action.extend): State.assigned,
        (State.in_progress, Action.extend): State.in_progress,
        (State.assigned, Action.withdraw): State.withdrawn,
        (State.in_progress, Action.withdraw): State.withdrawn,
        # The liaison office may order re-handling without waiting for a 不满意 rating.
        (State.replied, Action.rehandle): State.rehandling,
        (State.replied, Action.close): State.closed,
    }
)

_REPLYABLE: Final[frozenset[State]] = frozenset({State.assigned, State.in_progress, State.rehandling, State.tracking})


def next_state(
    state: State,
    action: Action,
    *,
    result_class: str | None = None,
    rating: str | None = None,
) -> State:
    """The state after ``action``; raises ``IllegalTransition`` when the lifecycle forbids it.

    ``result_class`` matters for ``reply``: a B-class (planned / in progress) reply keeps the item in
    ``tracking`` until a final reply. ``rating`` is required for ``rate``: 不满意 sends the item to
    re-handling, 满意 and 基本满意 close it.
    """
    state, action = State(state), Action(action)  # accept the stored string values too
    if action is Action.reply and state in _REPLYABLE:
        return State.tracking if is_tracking(result_class) else State.replied
    if action is Action.rate and state is State.replied:
        if rating == Rating.unsatisfied:
            return State.rehandling
        if rating in (Rating.satisfied, Rating.basically_satisfied):
            return State.closed
        raise IllegalTransition(state, action, f"rating must be one of {', '.join(Rating)}, got {rating!r}")
    after = _TABLE.get((state, action))
    if after is None:
        raise IllegalTransition(state, action)
    return after


def legal_actions(state: State) -> frozenset[Action]:
    """The actions ``next_state`` accepts in ``state`` (given suitable arguments), e.g. to offer as buttons."""
    state = State(state)
    actions = {action for (before, action) in _TABLE if before is state}
    if state in _REPLYABLE:
        actions.add(Action.reply)
    if state is State.replied:
        actions.add(Action.rate)
    return frozenset(actions)


def _frozen_detail(detail: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(detail or {}))


@dataclass(frozen=True, slots=True)
class Transition:
    """One lifecycle event, ready to be stored: who did what, when, and the state before and after."""

    action: Action
    before: State
    after: State
    at: datetime
    actor: str | None = None
    detail: Mapping[str, str] = field(default_factory=lambda: _frozen_detail(None), hash=False)

    def __post_init__(self) -> None:
        if self.at.tzinfo is None or self.at.tzinfo.utcoffset(self.at) is None:
            raise ValueError(f"Transition.at must be timezone-aware, got naive {self.at.isoformat()}")
        if not isinstance(self.detail, MappingProxyType):
            object.__setattr__(self, "detail", _frozen_detail(self.detail))


def transition(
    state: State,
    action: Action,
    *,
    at: datetime,
    actor: str | None = None,
    detail: Mapping[str, str] | None = None,
    result_class: str | None = None,
    rating: str | None = None,
) -> Transition:
    """Apply ``action`` to ``state`` and return the event record; raises ``IllegalTransition``."""
    state, action = State(state), Action(action)
    after = next_state(state, action, result_class=result_class, rating=rating)
    return Transition(action=action, before=state, after=after, at=at, actor=actor, detail=_frozen_detail(detail))


def overdue_days(state: State, due: date | None, today: date) -> int:
    """Days past ``due`` while a reply is still owed; 0 when not overdue, closed, or without a due day."""
    if due is None or state not in OPEN_STATES:
        return 0
    return max((today - due).days, 0)
