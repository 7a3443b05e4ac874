"""Search as a viewer asks it: the words and filters of a query, what the viewer may search, a page of hits.

The access policy (bot/domain/access.py) decides whose non-public text a viewer may search: an admin's reach is
every item, a deputy's or unit's their own items whose hidden parts the policy lets them read, anyone else's
none. The index (storage/search.py) then never lets text outside that reach match or rank. Snippets are cut from
what the viewer may read only: the title and content of an item they may see, and its reply's text only when the
policy lets them read it and the hit came from a document that holds it.

A query is split at spaces. A part that reads as a filter a liaison office would type narrows the search: a
sitting (`17-5`), a state (`逾期`, `已答复`, `未答复`), a year (`2024`, `2024年`) or a unit's name (`民政局`);
the rest is segmented by jieba into the words to find, every one of them (the index's AND). Words no item the
viewer may read holds are left out when the others find something, so a plain sentence (`硅巷的建议办得怎么样了`)
still finds its subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.access import Viewer, may_read_reply_text, may_see_item
from bot.domain.card import Card
from bot.domain.search import SearchHit, SearchPage, highlight, snippet
from bot.text import Tokenizer, index_words_of
from storage.cards import build_cards
from storage.listings import list_cards
from storage.proposals import list_units_matching
from storage.search import NO_FILTERS, NO_REACH, Filters, Reach, count_matches, known_words, search, text_sources_of

__all__ = ["PAGE_SIZE", "Query", "parse_query", "reach_of", "search_page"]

PAGE_SIZE = 5
#: a query is cut to this many characters: enough for a sentence, too short to make the segmenter work hard
MAX_QUERY = 200
#: at most this many words are searched for (each is one more index term to intersect)
MAX_WORDS = 8
#: a deputy's or unit's own items read to decide their reach (past it, the rest are searched as public)
MAX_OWN = 5000
STATE_WORDS = {
    "逾期": "overdue",
    "已逾期": "overdue",
    "超期": "overdue",
    "overdue": "overdue",
    "已答复": "replied",
    "已办复": "replied",
    "replied": "replied",
    "未答复": "unreplied",
    "未办复": "unreplied",
    "unreplied": "unreplied",
}
_SITTING = re.compile(r"^(\d{1,2})[-－—–](\d{1,2})$")
_YEAR = re.compile(r"^((?:19|20)\d{2})年?$")
#: how unit names end: a part ending so, and naming a known unit, is a unit filter
_UNIT_ENDINGS = ("局", "委", "办", "委员会", "街道", "镇", "办事处", "政府", "中心", "院", "所", "公司", "处", "厅")
#: words of a question about an item's progress, not about its subject
_CHATTER_TEXT = """
怎么 怎么样 怎样 如何 进展 进度 情况 办得 办理 办理得 什么 哪些 有没有 现在 目前 请问 查询 查查 一下 看看
知道 想 问 问问 了解 结果 吗 呢 吧 了 啊 呀 么
"""
CHATTER = frozenset(_CHATTER_TEXT.split())


@dataclass(frozen=True, slots=True)
class Query:
    """A query as read: the words to find (index words, in order), the filters, and the filter parts as typed."""

    text: str
    words: tuple[str, ...]
    filters: Filters = NO_FILTERS
    filter_parts: tuple[str, ...] = ()


def _finest(words: list[str]) -> list[str]:
    """jieba's search mode gives a compound word and its parts (科创, 企业, 科创企业); the parts alone match
    wherever the compound does, and also where a text writes it apart (科创型企业), so the compound goes."""
    return [w for w in words if not any(o != w and o in w for o in words)]


def _words(text: str, tokenizer: Tokenizer) -> list[str]:
    terms = index_words_of(tokenizer.search_terms(text))
    content = [w for w in terms if w not in CHATTER]
    return _finest(list(dict.fromkeys(content or terms)))[:MAX_WORDS]


async def _unit_of(session: AsyncSession, part: str) -> str | None:
    if len(part) < 2 or not part.endswith(_UNIT_ENDINGS):
        return None
    units = await list_units_matching(session, text=part, limit=2)
    return part if units else None


async def parse_query(session: AsyncSession, text: str, *, tokenizer: Tokenizer) -> Query:
    """The words and filters of what the user typed; any text is safe (it only ever becomes quoted words)."""
    text = " ".join(text.split())[:MAX_QUERY]
    found: dict[str, object] = {}
    parts: list[str] = []
    rest: list[str] = []
    for part in text.split(" "):
        sitting = _SITTING.match(part)
        year = _YEAR.match(part)
        state = STATE_WORDS.get(part.lower())
        if sitting and "term" not in found:
            found["term"], found["sitting"] = int(sitting[1]), int(sitting[2])
        elif year and "year" not in found:
            found["year"] = int(year[1])
        elif state and "state" not in found:
            found["state"] = state
        elif "unit" not in found and (unit := await _unit_of(session, part)) is not None:
            found["unit"] = unit
        else:
            rest.append(part)
            continue
        parts.append(part)
    words = _words(" ".join(rest), tokenizer) if rest else []
    if not words and "unit" in found:
        unit = str(found.pop("unit"))  # only a unit: find it among the index's unit names instead
        words = _words(unit, tokenizer)
        parts.remove(unit)
    filters = Filters(**found)  # type: ignore[arg-type]
    return Query(text=text, words=tuple(words), filters=filters, filter_parts=tuple(parts))


def _hides_something(card: Card) -> bool:
    reply = card["reply"]
    return not card["public"] or (reply is not None and reply["public"] is False)


async def reach_of(session: AsyncSession, viewer: Viewer) -> Reach:
    """Whose non-public text this viewer may search, as the access policy says item by item."""
    if viewer.admin:
        return Reach(every=True)
    if viewer.role == "deputy" and viewer.deputy_id is not None:
        own = await list_cards(session, deputy_id=viewer.deputy_id, limit=MAX_OWN)
    elif viewer.role == "unit" and viewer.unit_id is not None:
        own = await list_cards(session, unit_id=viewer.unit_id, limit=MAX_OWN)
    else:
        return NO_REACH
    ids = frozenset(
        c["id"]
        for c in own
        if _hides_something(c) and may_see_item(c, viewer) and (c["reply"] is None or may_read_reply_text(c, viewer))
    )
    return Reach(ids=ids) if ids else NO_REACH


async def _count(session: AsyncSession, words: list[str], reach: Reach, filters: Filters, today: date) -> int:
    return await count_matches(session, tokens=words, reach=reach, filters=filters, today=today)


async def search_page(
    session: AsyncSession, *, viewer: Viewer, query: Query, page: int, today: date, size: int = PAGE_SIZE
) -> SearchPage:
    """The page `page` (from 0; past the end, the last) of the items the query finds for this viewer."""
    reach = await reach_of(session, viewer)
    words = list(query.words)
    base = SearchPage(text=query.text, words=tuple(words), filters=query.filter_parts)
    if not words:
        return base
    total = await _count(session, words, reach, query.filters, today)
    dropped: list[str] = []
    counts: dict[str, int] = {}
    if total == 0 and len(words) > 1:
        for word in words:
            counts[word] = await _count(session, [word], reach, query.filters, today)
        kept = [w for w in words if counts[w]]
        if kept and len(kept) < len(words):
            dropped = [w for w in words if not counts[w]]
            words = kept
            total = await _count(session, words, reach, query.filters, today)
    if total == 0:
        fewer = tuple((w, n) for w, n in counts.items() if n)
        near: list[str] = []
        for word in [w for w in words if not counts.get(w)] or words:
            near += [n for n in await known_words(session, near=word, limit=5) if n not in near and n not in words]
        return SearchPage(
            text=query.text, words=tuple(words), fewer=fewer, near=tuple(near[:8]), filters=query.filter_parts
        )
    pages = (total + size - 1) // size
    page = max(0, min(page, pages - 1))
    found = await search(
        session, tokens=words, reach=reach, filters=query.filters, today=today, limit=size, offset=page * size
    )
    ids = [h.proposal_id for h in found.hits]
    cards = await build_cards(session, proposal_ids=ids)
    texts = await text_sources_of(session, proposal_ids=ids)
    hits: list[SearchHit] = []
    for hit in found.hits:
        card, source = cards.get(hit.proposal_id), texts.get(hit.proposal_id)
        if card is None or source is None or not may_see_item(card, viewer):
            continue
        readable = [source.content]
        if card["reply"] is not None and may_read_reply_text(card, viewer) and (hit.full or source.reply_public):
            readable.append(source.reply)
        hits.append(SearchHit(card=card, title=highlight(source.title, words), snippet=snippet(readable, words)))
    return SearchPage(
        text=query.text,
        words=tuple(words),
        hits=tuple(hits),
        total=found.total or total,
        page=page,
        pages=pages,
        size=size,
        dropped=tuple(dropped),
        filters=query.filter_parts,
    )
