"""Push texts: an outbox row's `text_key` and `params` rendered in the recipient's language at send time.

The dispatcher calls `PushRenderer` for each claimed row; handlers never send pushes themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain.ratings import Rating
from bot.render.cards import Button, Rendered, esc
from bot.render.i18n import t

#: Rows that carry an item get these buttons: open the card, and stop following the item.
_ITEM_KINDS = frozenset(
    {
        "reply_registered",
        "due_in",
        "due_today",
        "overdue",
        "co_due",
        "co_overdue",
        "extension_ending",
        "extended",
        "reassigned",
        "withdrawn",
    }
)


def rating_buttons(reply_id: int, lang: str) -> tuple[Button, ...]:
    """One button per rating, `rate:<reply id>:<code>`, as handlers.replies reads them."""
    return tuple(Button(t(lang, f"rating.{rating.value}"), f"rate:{reply_id}:{rating.code}") for rating in Rating)


def render_push(kind: str, payload: Mapping[str, Any], lang: str) -> Rendered:
    """The push message for one outbox row; every database value is escaped."""
    text_key = str(payload.get("text_key") or f"push.{kind}")
    params = {k: esc(v) for k, v in dict(payload.get("params") or {}).items()}
    try:
        text = t(lang, text_key, **params)
    except (KeyError, IndexError):  # a parameter the template wants is missing: say what we have
        text = t(lang, text_key)
    raw = dict(payload.get("params") or {})
    buttons = [
        tuple(Button(t(lang, str(label), **params), str(data)) for label, data in row)
        for row in payload.get("buttons") or ()
    ]
    if not buttons:
        buttons = _kind_buttons(kind, raw, params, lang)
    return Rendered(text, tuple(buttons))


def _kind_buttons(kind: str, raw: Mapping[str, Any], params: Mapping[str, str], lang: str) -> list[tuple[Button, ...]]:
    """The buttons a push of this kind carries: the full reply, the ratings, or the item's card."""
    proposal_id, reply_id = raw.get("proposal_id"), raw.get("reply_id")
    if kind == "reply_registered" and proposal_id is not None:
        return [(Button(t(lang, "button.full_reply"), f"full:{proposal_id}"),)]
    if kind == "feedback_request" and reply_id is not None:
        return [rating_buttons(reply_id, lang)]
    if kind in _ITEM_KINDS and proposal_id is not None:
        return [(Button(t(lang, "button.open_item", **params), f"card:{proposal_id}"),)]
    return []


def render_digest(items: Sequence[tuple[str, Mapping[str, Any]]], lang: str) -> Rendered:
    """Several pending pushes of one user merged into one message (daily or weekly digest)."""
    parts = [t(lang, "push.digest", count=len(items))]
    parts += [f"• {render_push(kind, payload, lang).html}" for kind, payload in items]
    return Rendered("\n".join(parts))
