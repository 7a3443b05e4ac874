"""The event log: a lifecycle transition as the event record that storage writes (the timeline's rows)."""

from __future__ import annotations

from bot.domain.lifecycle import Transition
from storage.proposals import EventRecord


def event_record(step: Transition, **detail: str) -> EventRecord:
    """The stored form of `step`, with extra detail merged into the transition's own."""
    return EventRecord(
        action=step.action.value,
        before=step.before.value,
        after=step.after.value,
        at=step.at,
        actor=step.actor,
        detail=dict(step.detail) | detail,
    )
