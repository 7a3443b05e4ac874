"""What a search answers, as values: a page of hits, each with its card and the snippets to show. Pure.

`bot/services/search.py` builds a `SearchPage`; `bot/render/search.py` draws it. A snippet is a run of plain
segments, each marked as a hit word or not, so the renderer escapes every piece and adds the bold itself: no text
from the database is ever trusted as HTML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.domain.card import Card

__all__ = ["SNIPPET_WIDTH", "SearchHit", "SearchPage", "Snippet", "highlight", "snippet"]

#: A snippet's length in characters, "…" aside: two lines on a phone.
SNIPPET_WIDTH = 72
#: Characters of context kept before the first hit word.
_LEAD = 18
_SPACE = re.compile(r"\s+")

#: (text, is a hit word) pieces, in order
Snippet = tuple[tuple[str, bool], ...]


@dataclass(frozen=True, slots=True)
class SearchHit:
    card: Card
    title: Snippet
    snippet: Snippet


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of a search as the viewer may see it, and the advice to give when it finds nothing."""

    text: str  # what the user typed, for the heading
    words: tuple[str, ...]  # the words searched for (after any were left out)
    hits: tuple[SearchHit, ...] = ()
    total: int = 0
    page: int = 0
    pages: int = 0
    size: int = 5
    #: words no item the viewer may read holds, left out so the others could find something
    dropped: tuple[str, ...] = ()
    #: when nothing was found: each word alone and how many items it finds
    fewer: tuple[tuple[str, int], ...] = ()
    #: when nothing was found: words the index knows that begin like the user's
    near: tuple[str, ...] = ()
    #: the filters that were read from the query, as typed (a unit, 17-5, 逾期, 2024)
    filters: tuple[str, ...] = field(default_factory=tuple)


def _pattern(words: Sequence[str]) -> re.Pattern[str] | None:
    alternatives = sorted({w for w in words if w}, key=len, reverse=True)
    if not alternatives:
        return None
    return re.compile("|".join(re.escape(w) for w in alternatives), re.IGNORECASE)


def highlight(text: str, words: Sequence[str]) -> Snippet:
    """`text` cut into pieces, the occurrences of `words` (any case) marked as hits."""
    pattern = _pattern(words)
    if pattern is None or not text:
        return ((text, False),) if text else ()
    pieces: list[tuple[str, bool]] = []
    at = 0
    for match in pattern.finditer(text):
        if match.start() > at:
            pieces.append((text[at : match.start()], False))
        pieces.append((match.group(0), True))
        at = match.end()
    if at < len(text):
        pieces.append((text[at:], False))
    return tuple(pieces)


def snippet(texts: Sequence[str], words: Sequence[str], *, width: int = SNIPPET_WIDTH) -> Snippet:
    """A window of the first text that holds a hit word, around its first hit; else the start of the first text.

    Only the texts the caller passes are read, so a caller passes only what the viewer may read.
    """
    pattern = _pattern(words)
    flat = [_SPACE.sub(" ", t).strip() for t in texts if t and t.strip()]
    for text in flat:
        match = pattern.search(text) if pattern is not None else None
        if match is None:
            continue
        start = max(0, match.start() - _LEAD)
        end = min(len(text), start + width)
        start = max(0, min(start, end - width))
        return _framed(text, start, end, words)
    if not flat:
        return ()
    return _framed(flat[0], 0, min(len(flat[0]), width), words)


def _framed(text: str, start: int, end: int, words: Sequence[str]) -> Snippet:
    pieces = list(highlight(text[start:end], words))
    if start > 0:
        pieces.insert(0, ("…", False))
    if end < len(text):
        pieces.append(("…", False))
    return tuple(pieces)
