"""The status card: everything a look-up shows about one item, as one JSON document.

``storage/cards.py`` builds it on every write and stores it denormalized (one row per item), the look-up path
reads it back with ``json.loads``, and ``bot/render`` draws it. It is a ``TypedDict`` rather than a dataclass
because it *is* the stored JSON: the hot read path gets it with no conversion, and mypy still checks every key.
Dates are ISO strings (``"2024-04-22"``), as JSON keeps them.
"""

from __future__ import annotations

from typing import TypedDict

__all__ = ["Card", "CardDeputy", "CardHead", "CardReply", "CardSession", "CardUnit"]


class CardSession(TypedDict):
    """The sitting an item was raised at: 长宁区人大 第十七届 第五次会议 is ("长宁区", "congress", 17, 5)."""

    id: int
    region: str
    body: str  # congress | cppcc
    term: int
    sitting: int


class CardDeputy(TypedDict):
    id: int
    name: str
    role: str  # lead | co_signer


class CardUnit(TypedDict):
    """An active assignment: the unit, its role and its clock."""

    id: int
    name: str
    role: str  # lead | co | split
    received_on: str | None
    due_on: str | None
    original_due_on: str | None  # set when the due day was extended


class CardReply(TypedDict):
    """The current formal reply (the newest one that is not superseded) and the deputy's latest rating of it."""

    result: str | None  # as the letter prints it: 解决或采纳, B2类, ...
    result_class: str | None  # A | B | C | D
    replied_on: str | None
    signer: str | None
    unit: str | None
    public: bool | None
    summary: str | None
    has_text: bool
    rating: str | None


class Card(TypedDict):
    id: int
    session: CardSession
    number: str  # as printed, with its leading zeros: "018"
    kind: str
    title: str
    state: str
    key_supervised: bool
    public: bool
    deputies: list[CardDeputy]
    units: list[CardUnit]
    reply: CardReply | None


class CardHead(TypedDict):
    """A card cut to what a choice between sessions shows."""

    id: int
    number: str
    session: CardSession
