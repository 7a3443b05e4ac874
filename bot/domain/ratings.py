"""How a reply is judged: the result class the unit gives it (A–D) and the deputy's rating (满意 / 基本满意 / 不满意).

One vocabulary for the lifecycle, the letter parser, the rating buttons and the registration checks (DESIGN §2).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "RATING_BY_CODE",
    "RESULT_CLASSES",
    "Rating",
    "ResultClass",
    "is_tracking",
    "result_class",
]

ResultClass = Literal["A", "B", "C", "D"]
#: A: solved or adopted; B: planned or in progress; C: cannot be solved now, or kept for reference; D: reference
#: only, where a scheme has four classes.
RESULT_CLASSES: Final[tuple[ResultClass, ...]] = ("A", "B", "C", "D")
#: A B-class reply keeps the item in ``tracking`` until a final reply.
_TRACKING: Final[ResultClass] = "B"


def result_class(text: str | None) -> ResultClass | None:
    """The class a bare letter names (``a``, `` B ``), or None for anything else."""
    letter = (text or "").strip().upper()
    for cls in RESULT_CLASSES:
        if letter == cls:
            return cls
    return None


def is_tracking(cls: str | None) -> bool:
    """Whether a reply of this class is an interim one (planned or in progress) that a final reply must follow."""
    return result_class(cls) == _TRACKING


class Rating(StrEnum):
    """A deputy's rating of a reply; the value is the printed word, stored as it is."""

    satisfied = "满意"
    basically_satisfied = "基本满意"
    unsatisfied = "不满意"

    @property
    def code(self) -> str:
        """The one-letter code a rating button's callback data carries (``rate:<reply id>:<code>``)."""
        return _CODES[self]


_CODES: Final[Mapping[Rating, str]] = MappingProxyType(
    {Rating.satisfied: "s", Rating.basically_satisfied: "b", Rating.unsatisfied: "u"}
)
#: The rating each button code stands for.
RATING_BY_CODE: Final[Mapping[str, Rating]] = MappingProxyType({code: rating for rating, code in _CODES.items()})
