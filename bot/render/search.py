"""/search answers: a page of hits (number, sitting, title, state or result class, snippet), the usage help and
the advice when nothing is found. Every piece of text is escaped; only the hit words get the <b> around them."""

from __future__ import annotations

from bot.domain.access import Viewer, may_see_reply
from bot.domain.card import Card
from bot.domain.search import SearchHit, SearchPage, Snippet
from bot.render.cards import Button, Rendered, esc, session_label
from bot.render.i18n import t

__all__ = ["SEARCH_PAGE_DATA", "render_search", "render_search_usage", "render_snippet"]

#: callback data of a page button: the query's id in this chat, then the page (handlers/buttons.SEARCH_PAGE)
SEARCH_PAGE_DATA = "sr:{query}:{page}"


def render_snippet(pieces: Snippet) -> str:
    """A snippet as HTML: every piece escaped, the hit words in bold."""
    return "".join(f"<b>{esc(text)}</b>" if hit else esc(text) for text, hit in pieces)


def render_search_usage(lang: str) -> Rendered:
    return Rendered(t(lang, "search.usage"))


def _standing(card: Card, viewer: Viewer, lang: str) -> str:
    """The result class when the viewer may see the reply, else the state."""
    state = t(lang, "state." + str(card["state"]))
    reply = card["reply"]
    if reply is not None and may_see_reply(card, viewer) and (reply["result"] or reply["result_class"]):
        return t(
            lang,
            "search.result",
            state=state,
            result=esc(reply["result"] or "—"),
            cls=esc(reply["result_class"] or "?"),
        )
    return state


def _hit(index: int, hit: SearchHit, viewer: Viewer, lang: str) -> str:
    card = hit.card
    head = t(
        lang,
        "search.hit",
        index=index,
        number=esc(card["number"]),
        session=esc(session_label(card["session"], lang)),
        standing=_standing(card, viewer, lang),
    )
    lines = [head, render_snippet(hit.title) or esc(card["title"])]
    body = render_snippet(hit.snippet)
    if body:
        lines.append(f"<i>{body}</i>")
    return "\n".join(lines)


def _quoted(words: tuple[str, ...], lang: str) -> str:
    return t(lang, "search.sep").join(esc(w) for w in words)


def render_search(result: SearchPage, *, query_id: int, viewer: Viewer, lang: str, sentence: bool = False) -> Rendered:
    """The page, with a button per hit that opens its card and ‹ › buttons for the other pages.

    A `sentence` (words sent without /search) that finds nothing may have been no search at all (a greeting),
    so its tip also says how to look an item up by number.
    """
    text = esc(result.text)
    if not result.hits:
        lines = [t(lang, "search.none", text=text)]
        if result.fewer:
            tips = t(lang, "search.sep").join(t(lang, "search.count", word=esc(w), count=n) for w, n in result.fewer)
            lines.append(t(lang, "search.fewer", words=tips))
        if result.near:
            lines.append(t(lang, "search.near", words=_quoted(result.near, lang)))
        if result.filters:
            lines.append(t(lang, "search.fewer_filters", filters=_quoted(result.filters, lang)))
        lines.append(t(lang, "search.sentence_tip" if sentence else "search.tip"))
        return Rendered("\n".join(lines))
    lines = [t(lang, "search.title", text=text, total=result.total, page=result.page + 1, pages=result.pages)]
    if result.filters:
        lines.append(t(lang, "search.filters", filters=_quoted(result.filters, lang)))
    if result.dropped:
        lines.append(t(lang, "search.dropped", words=_quoted(result.dropped, lang)))
    first = result.page * result.size + 1
    lines += ["", "\n\n".join(_hit(first + i, h, viewer, lang) for i, h in enumerate(result.hits))]
    open_row = tuple(
        Button(t(lang, "search.open", number=h.card["number"]), f"card:{h.card['id']}") for h in result.hits
    )
    nav: list[Button] = []
    if result.page > 0:
        nav.append(Button("‹", SEARCH_PAGE_DATA.format(query=query_id, page=result.page - 1)))
    if result.page + 1 < result.pages:
        nav.append(Button("›", SEARCH_PAGE_DATA.format(query=query_id, page=result.page + 1)))
    rows = (open_row, tuple(nav)) if nav else (open_row,)
    return Rendered("\n".join(lines), rows)
