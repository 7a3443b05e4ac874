"""Rendering shared by handlers and the dispatcher: status cards, timelines, session choices (HTML, escaped).

Every value that comes from the database goes through `html.escape`. Texts are split at Telegram's 4096
characters by `split_message`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from functools import lru_cache
from typing import Any

from bot.domain.access import PUBLIC, Viewer, may_see_item, may_see_reply
from bot.domain.card import Card, CardHead, CardSession, CardUnit
from bot.domain.clock import WorkCalendar, days_left
from bot.domain.lifecycle import OPEN_STATES, State
from bot.render.i18n import t

MAX_MESSAGE = 4096


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message ready to send: HTML text and rows of callback buttons."""

    html: str
    buttons: tuple[tuple[Button, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    action: str
    before: str | None
    after: str | None
    detail: Mapping[str, Any] = field(default_factory=dict)


def esc(value: object) -> str:
    return html.escape(str(value), quote=False)


def needs_viewer(card: Card) -> bool:
    """True when what the card shows depends on who is looking (saves a database read otherwise)."""
    reply = card["reply"]
    return not card["public"] or (reply is not None and reply["public"] is False)


def session_label(session: CardSession, lang: str) -> str:
    """长宁区人大第十七届第五次会议, or its English, for a card's session."""
    return sitting_label(session["region"], session["body"], session["term"], session["sitting"], lang)


@lru_cache(maxsize=4096)
def sitting_label(region: str, body: str, term: int, sitting: int, lang: str) -> str:
    """A sitting's label from its parts (a stored session row, not only a card's)."""
    # a choice list names five sessions per look-up, from a few hundred at most: format each once
    return t(lang, "card.session", region=region, body=t(lang, f"body.{body}"), term=term, sitting=sitting)


def _lead(card: Card) -> CardUnit | None:
    return next((u for u in card["units"] if u["role"] == "lead"), None)


def _countdown(card: Card, due: date, today: date, lang: str) -> str:
    state = card["state"]
    reply = card["reply"]
    if state in {s.value for s in OPEN_STATES}:
        left = days_left(due, today)
        if left > 0:
            return t(lang, "card.days_left", days=left)
        if left == 0:
            return t(lang, "card.due_today")
        return t(lang, "card.overdue", days=-left)
    if reply and reply["replied_on"]:
        late = (date.fromisoformat(reply["replied_on"]) - due).days
        return t(lang, "card.late", days=late) if late > 0 else t(lang, "card.on_time")
    return ""


def render_card(
    card: Card,
    *,
    today: date,
    lang: str,
    viewer: Viewer = PUBLIC,
    calendar: WorkCalendar | None = None,
) -> Rendered:
    """The status card of one item as the viewer may see it (bot/domain/access decides)."""
    lines: list[str] = []
    kind_number = t(lang, "card.kind_number", kind=esc(card.get("kind") or ""), number=esc(card["number"]))
    supervised = t(lang, "card.key_supervised") if card.get("key_supervised") else ""
    lines.append(f"<b>{kind_number}</b>{supervised}")
    lines.append(esc(session_label(card["session"], lang)))
    if not may_see_item(card, viewer):
        lines.append(t(lang, "card.item_withheld"))
        return Rendered("\n".join(lines))
    lines.append(f"{t(lang, 'card.title')}：{esc(card.get('title') or '')}")
    leads = [d["name"] for d in card.get("deputies", []) if d.get("role") == "lead"]
    cosigners = [d["name"] for d in card.get("deputies", []) if d.get("role") == "co_signer"]
    if leads:
        lines.append(f"{t(lang, 'card.deputies')}：{esc('、'.join(leads))}")
    if cosigners:
        lines.append(f"{t(lang, 'card.co_signers')}：{esc('、'.join(cosigners))}")
    lead = _lead(card)
    co_units = [u["name"] for u in card.get("units", []) if u.get("role") != "lead"]
    if lead:
        lines.append(f"{t(lang, 'card.lead_unit')}：{esc(lead['name'])}")
    if co_units:
        lines.append(f"{t(lang, 'card.co_units')}：{esc('、'.join(co_units))}")
    warning = ""
    if lead and lead.get("received_on"):
        lines.append(f"{t(lang, 'card.assigned_on')}：{esc(lead['received_on'])}")
    if lead and lead["due_on"]:
        due = date.fromisoformat(lead["due_on"])
        countdown = _countdown(card, due, today, lang)
        extended = ""
        if lead.get("original_due_on") and lead["original_due_on"] != lead["due_on"]:
            extended = t(lang, "card.extended", original=esc(lead["original_due_on"]))
        suffix = f"（{countdown}）" if countdown and lang == "zh" else (f" ({countdown})" if countdown else "")
        lines.append(f"{t(lang, 'card.due_on')}：{esc(due.isoformat())}{suffix}{extended}")
        if calendar is not None and not calendar.covers(due.year):
            warning = t(lang, "card.calendar_missing", year=due.year)
    else:
        lines.append(f"{t(lang, 'card.due_on')}：{t(lang, 'card.no_due')}")
    lines.append(f"{t(lang, 'card.state')}：{t(lang, 'state.' + str(card.get('state')))}")
    reply = card.get("reply")
    show_full = False
    if reply:
        if not may_see_reply(card, viewer):
            lines.append(f"{t(lang, 'card.reply')}：{t(lang, 'card.reply_withheld')}")
        else:
            cls = reply.get("result_class") or "?"
            line = t(
                lang,
                "card.reply_line",
                result=esc(reply.get("result") or "—"),
                cls=esc(cls),
                date=esc(reply.get("replied_on") or "—"),
            )
            lines.append(f"{t(lang, 'card.reply')}：{line}")
            if reply.get("signer"):
                lines.append(t(lang, "card.reply_signer", signer=esc(reply["signer"])))
            if reply.get("unit") and (not lead or reply["unit"] != lead["name"]):
                lines.append(t(lang, "card.reply_unit", unit=esc(reply["unit"])))
            if reply.get("summary"):
                lines.append(f"{t(lang, 'card.summary')}：{esc(reply['summary'])}")
            if reply.get("rating"):
                lines.append(t(lang, "card.rating", rating=t(lang, "rating." + str(reply["rating"]))))
            show_full = bool(reply.get("has_text"))
    if warning:
        lines.append(warning)
    row = [Button(t(lang, "button.follow"), f"fo:{card['id']}"), Button(t(lang, "button.timeline"), f"tl:{card['id']}")]
    if show_full:
        row.append(Button(t(lang, "button.full_reply"), f"full:{card['id']}"))
    return Rendered("\n".join(lines), (tuple(row),))


def render_choices(cards: Sequence[CardHead], *, number: str, lang: str, more: bool = False) -> Rendered:
    """Buttons to choose one session when a number exists in several (`more`: older sessions not shown)."""
    rows = tuple((_choice(c, lang),) for c in cards)
    text = t(lang, "status.choose_session", number=esc(number))
    if more:
        text += "\n" + t(lang, "status.more_sessions", number=esc(number))
    return Rendered(text, rows)


def _choice(head: CardHead, lang: str) -> Button:
    label = session_label(head["session"], lang)
    return Button(t(lang, "button.choose", label=label, number=head["number"]), f"card:{head['id']}")


def render_timeline(
    number: str, entries: Sequence[TimelineEntry], *, lang: str, tz: tzinfo, notes: bool = False
) -> Rendered:
    """The event log; `notes` (a 不满意 reason is free text) only where `access.may_see_rating_reason` allows."""
    lines = [t(lang, "timeline.title", number=esc(number))]
    if not entries:
        lines.append(t(lang, "timeline.empty"))
    for e in entries:
        change = ""
        if e.before and e.after and e.before != e.after:
            change = f"（{t(lang, 'state.' + e.before)} → {t(lang, 'state.' + e.after)}）"
        elif e.after and not e.before:
            change = f"（{t(lang, 'state.' + e.after)}）"
        detail = e.detail.get("note") if notes else None
        note = f" — {esc(detail)}" if detail else ""
        at = e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        lines.append(t(lang, "timeline.line", at=at, action=t(lang, "action." + e.action), change=change) + note)
    return Rendered("\n".join(lines))


_HTML_TOKEN = re.compile(r"<[^>]*>|&#?\w+;|\n|[^<&\n]+|[<&]")
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][\w-]*)")


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split a long HTML text into chunks of at most `limit` characters, at line breaks where it can.

    A line longer than `limit` is cut hard, but never inside a tag or an entity (`&amp;`): tags open at a cut
    are closed at the end of the chunk and opened again at the start of the next, so every chunk is valid HTML
    on its own, even inside one very long line.
    """
    if len(text) <= limit:
        return [text]
    return _HtmlSplitter(limit).split(text)


@dataclass(slots=True)
class _HtmlSplitter:
    """`split_message`'s state: the chunk being filled, the tags open in it, and its last line break."""

    limit: int
    chunks: list[str] = field(default_factory=list)
    pieces: list[str] = field(default_factory=list)
    size: int = 0
    open_tags: list[tuple[str, str]] = field(default_factory=list)  # (name, opening tag), outermost first
    #: where the chunk may be cut at a line break: (pieces before it, their size, the tags open there)
    line_break: tuple[int, int, list[tuple[str, str]]] | None = None
    #: the size of the tags reopened at the start of the chunk, which alone make no chunk
    prefix_size: int = 0

    def split(self, text: str) -> list[str]:
        for token in _HTML_TOKEN.findall(text):
            self._add(token)
        if self.size > self.prefix_size:
            self.chunks.append("".join(self.pieces) + _closing(self.open_tags))
        return self.chunks

    def _add(self, token: str) -> None:
        while self.size + len(token) + _closing_size(self._tags_after(token)) > self.limit:
            if token[0] not in "<&\n" and self.limit - self.size - _closing_size(self.open_tags) > 0:
                # plain text may be cut anywhere: fill this chunk, carry on with the rest
                room = self.limit - self.size - _closing_size(self.open_tags)
                self._append(token[:room])
                token = token[room:]
            self._cut()
        self._append(token)
        if token == "\n":
            self.line_break = (len(self.pieces), self.size, list(self.open_tags))

    def _tags_after(self, token: str) -> list[tuple[str, str]]:
        if token.startswith("<") and not token.startswith("</"):
            match = _TAG_NAME.match(token)
            if match:
                return [*self.open_tags, (match[1].lower(), token)]
        return self.open_tags

    def _append(self, token: str) -> None:
        self.pieces.append(token)
        self.size += len(token)
        match = _TAG_NAME.match(token) if token.startswith("<") else None
        if match is None:
            return
        name = match[1].lower()
        if token.startswith("</"):
            for i in range(len(self.open_tags) - 1, -1, -1):
                if self.open_tags[i][0] == name:
                    del self.open_tags[i]
                    break
        else:
            self.open_tags.append((name, token))

    def _cut(self) -> None:
        """End the chunk at its last line break, or here when it has none; start the next one."""
        start = self.prefix_size
        if self.line_break is not None and self.line_break[1] > start:
            count, size, tags = self.line_break
            head, rest = self.pieces[:count], self.pieces[count:]
            rest_size = self.size - size
        else:
            head, rest, rest_size, tags = self.pieces, [], 0, list(self.open_tags)
        if sum(len(p) for p in head) <= start:
            raise ValueError(f"a tag or entity does not fit in {self.limit} characters")
        self.chunks.append("".join(head) + _closing(tags))
        prefix = "".join(tag for _, tag in tags)
        self.pieces = [prefix, *rest] if prefix else list(rest)
        self.size = len(prefix) + rest_size
        self.prefix_size = len(prefix)
        self.line_break = None


def _closing(tags: Sequence[tuple[str, str]]) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(tags))


def _closing_size(tags: Sequence[tuple[str, str]]) -> int:
    return sum(len(name) + 3 for name, _ in tags)


def is_open(state: str) -> bool:
    return state in {s.value for s in OPEN_STATES}


__all__ = [
    "Button",
    "Rendered",
    "State",
    "TimelineEntry",
    "esc",
    "is_open",
    "needs_viewer",
    "render_card",
    "render_choices",
    "render_timeline",
    "session_label",
    "sitting_label",
    "split_message",
]


def render_list(
    title: str,
    cards: Sequence[Card],
    *,
    today: date,
    lang: str,
    unit_id: int | None = None,
    shown: int = 15,
) -> Rendered:
    """A list of items with their due day and countdown; each item gets a button that opens its card."""
    lines = [title]
    if not cards:
        lines.append(t(lang, "list.empty"))
    buttons: list[tuple[Button, ...]] = []
    for card in cards[:shown]:
        mine = next((u for u in card["units"] if unit_id is not None and u["id"] == unit_id), None)
        clock = mine or _lead(card)
        due = ""
        if clock and clock["due_on"]:
            due_on = clock["due_on"]
            countdown = _countdown(card, date.fromisoformat(due_on), today, lang)
            due = f"，{due_on}" + (f"（{countdown}）" if countdown else "")
            if lang != "zh":
                due = f", {due_on}" + (f" ({countdown})" if countdown else "")
        title_text = str(card.get("title") or "")
        short = title_text if len(title_text) <= 24 else title_text[:23] + "…"
        lines.append(
            t(
                lang,
                "list.line",
                number=esc(card["number"]),
                title=esc(short),
                state=t(lang, "state." + str(card.get("state"))),
                due=esc(due),
            )
        )
        buttons.append((Button(t(lang, "button.open_item", number=card["number"]), f"card:{card['id']}"),))
    if len(cards) > shown:
        lines.append(t(lang, "list.more", count=len(cards) - shown))
    return Rendered("\n".join(lines), tuple(buttons))
