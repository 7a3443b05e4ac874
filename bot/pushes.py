"""Push texts: an outbox row's `text_key` and `params` rendered in the recipient's language at send time.

The dispatcher calls `PushRenderer` for each claimed row; handlers never send pushes themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.i18n import t
from bot.render import Button, Rendered, esc

#: Rows that carry an item get these buttons: open the card, and stop following the item.
_ITEM_KINDS = frozenset(
    {"reply_registered", "due_in", "due_today", "overdue", "co_due", "co_overdue", "extension_ending"}
)


def render_push(kind: str, payload: Mapping[str, Any], lang: str) -> Rendered:
    """The push message for one outbox row; every database value is escaped."""
    text_key = str(payload.get("text_key") or f"push.{kind}")
    params = {k: esc(v) for k, v in dict(payload.get("params") or {}).items()}
    try:
        text = t(lang, text_key, **params)
    except (KeyError, IndexError):  # a parameter the template wants is missing: say what we have
        text = t(lang, text_key)
    buttons: list[tuple[Button, ...]] = []
    for row in payload.get("buttons") or ():
        buttons.append(tuple(Button(t(lang, str(label), **params), str(data)) for label, data in row))
    proposal_id = payload.get("params", {}).get("proposal_id")
    if not buttons and kind in _ITEM_KINDS and proposal_id is not None:
        buttons.append((Button(t(lang, "button.open_item", **params), f"card:{proposal_id}"),))
    return Rendered(text, tuple(buttons))


def render_digest(items: Sequence[tuple[str, Mapping[str, Any]]], lang: str) -> Rendered:
    """Several pending pushes of one user merged into one message (daily or weekly digest)."""
    parts = [t(lang, "push.digest", count=len(items))]
    parts += [f"• {render_push(kind, payload, lang).html}" for kind, payload in items]
    return Rendered("\n".join(parts))
