"""Item numbers as people type them: `018`, `18`, `第018号`, `第 018 号`, `17-5-018`, full-width digits."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_DIGITS = 12
_PATTERNS = (
    # 17-5-018, 17/5/018, 17.5.018
    re.compile(r"^(?P<term>\d{1,3})\s*[-/.]\s*(?P<sitting>\d{1,2})\s*[-/.]\s*(?P<number>\d+)$"),
    # 第018号, 第 018 号, 第018号建议, No. 18, #18, 18号
    re.compile(r"^(?:第|no\.?|#|编号)?\s*(?P<number>\d+)\s*(?:号)?(?:代表建议|建议|提案|议案)?$", re.IGNORECASE),
)


@dataclass(frozen=True, slots=True)
class Lookup:
    """A parsed look-up: the number as typed, its key without leading zeros, and an optional session."""

    number: str
    number_key: str
    term: int | None = None
    sitting: int | None = None


def number_key(number: str) -> str:
    """The look-up key of a printed number: digits without leading zeros (`018` → `18`)."""
    return number.lstrip("0") or "0"


def parse_lookup(text: str) -> Lookup | None:
    """Parse what a user typed as an item number, or None when it is not one."""
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if not cleaned or len(cleaned) > 40:
        return None
    for pattern in _PATTERNS:
        match = pattern.match(cleaned)
        if match is None:
            continue
        number = match.group("number")
        if len(number) > MAX_DIGITS:
            return None
        groups = match.groupdict()
        term = int(groups["term"]) if groups.get("term") else None
        sitting = int(groups["sitting"]) if groups.get("sitting") else None
        return Lookup(number=number, number_key=number_key(number), term=term, sitting=sitting)
    return None


def looks_like_number(text: str) -> bool:
    """True for a bare message that should be treated as a status look-up."""
    return parse_lookup(text) is not None


_SITTING = re.compile(r"^(?P<term>\d{1,3})\s*[-/.]\s*(?P<sitting>\d{1,2})$")


def parse_sitting(text: str) -> tuple[int, int] | None:
    """A sitting as /export and /stats take it, `17-5` (full-width `１７－５` too), as (term, sitting); else None."""
    match = _SITTING.match(unicodedata.normalize("NFKC", text).strip())
    if match is None:
        return None
    return int(match.group("term")), int(match.group("sitting"))
