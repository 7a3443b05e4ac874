"""One unit's clock on one item: what the deadline sweep reads from storage and the planner plans from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

__all__ = ["LEAD_ROLES", "DueAssignment"]

#: Roles whose unit owes the formal reply (a co-unit owes only its opinion, 会办意见).
LEAD_ROLES: Final = frozenset({"lead", "split"})


@dataclass(frozen=True, slots=True)
class DueAssignment:
    """An active assignment of an open item, with the due day its clock runs to."""

    assignment_id: int
    proposal_id: int
    unit_id: int
    number: str
    title: str
    role: str  # lead | co | split
    due_on: date | None
    original_due_on: date | None
    state: str
    answered: bool = False  # a co-unit has already sent its opinion (会办意见): its clock has stopped

    @property
    def extended(self) -> bool:
        return self.due_on is not None and self.original_due_on is not None and self.due_on != self.original_due_on

    @property
    def is_lead(self) -> bool:
        return self.role in LEAD_ROLES
