"""What /stats counts: per lead unit, the items, how they were answered, the result classes and the ratings.

Pure values: storage/stats.py fills them with SQL aggregates and bot/render/stats.py draws and prints them.
An item counts under its lead unit (主办单位). It is *replied* when its current reply is registered and no reply
is owed any more, *on time* when that reply is dated on or before the due day, *overdue* while a reply is owed and
the due day has passed (derived, as everywhere: never stored), and *pending* otherwise. Withdrawn items are left
out of the unit rows; the state counts show them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from bot.domain.ratings import RESULT_CLASSES, Rating

__all__ = ["RATINGS", "StatsReport", "UnitTally"]

#: the ratings in the order the chart and the table show them
RATINGS: tuple[str, ...] = tuple(r.value for r in Rating)


def _empty() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class UnitTally:
    """One lead unit's items in the chosen sittings."""

    unit: str
    items: int
    on_time: int = 0
    late: int = 0
    overdue: int = 0
    classes: Mapping[str, int] = field(default_factory=_empty)  # "A".."D" → count of current replies
    ratings: Mapping[str, int] = field(default_factory=_empty)  # 满意 / 基本满意 / 不满意 → latest rating counts

    @property
    def replied(self) -> int:
        return self.on_time + self.late

    @property
    def pending(self) -> int:
        """Items still awaiting a reply whose due day has not passed (or that have none)."""
        return max(self.items - self.replied - self.overdue, 0)

    @property
    def on_time_rate(self) -> float | None:
        """Replied on time among the items whose answer was due or given: on time / (replied + overdue now).

        None when nothing was due or replied yet (a rate of 0 % would accuse a unit whose clock is still running).
        """
        judged = self.replied + self.overdue
        return self.on_time / judged if judged else None

    def class_count(self, cls: str) -> int:
        return self.classes.get(cls, 0)

    def rating_count(self, rating: str) -> int:
        return self.ratings.get(rating, 0)


@dataclass(frozen=True, slots=True)
class StatsReport:
    """/stats for some sittings: a row per lead unit (most items first), the whole, and the items per state."""

    units: Sequence[UnitTally]
    states: Mapping[str, int]

    @property
    def total(self) -> UnitTally:
        """Every unit's row added up (the sitting as a whole)."""
        return UnitTally(
            unit="",
            items=sum(u.items for u in self.units),
            on_time=sum(u.on_time for u in self.units),
            late=sum(u.late for u in self.units),
            overdue=sum(u.overdue for u in self.units),
            classes=MappingProxyType({c: sum(u.class_count(c) for u in self.units) for c in RESULT_CLASSES}),
            ratings=MappingProxyType({r: sum(u.rating_count(r) for u in self.units) for r in RATINGS}),
        )
