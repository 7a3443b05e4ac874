"""The reply letter's preview: every field the parser read, the disagreements with the item, and the buttons
确认 / 修改 / 取消 (or 确认替换 when the letter would replace a reply)."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.domain.card import Card
from bot.domain.drafts import EDITABLE, LetterDraft
from bot.render.cards import Button, Rendered, esc
from bot.render.i18n import t

__all__ = ["render_field_picker", "render_preview"]


def _value(lang: str, name: str, value: Any) -> str:
    if value is None or value == "":
        return t(lang, "value.none")
    if name == "public":
        return t(lang, "value.yes" if value else "value.no")
    if name == "letter_type":
        return t(lang, f"letter_type.{value}")
    if isinstance(value, date):
        return value.isoformat()
    return esc(value)


def render_preview(draft: LetterDraft, card: Card, lang: str) -> Rendered:
    """Every extracted field, the disagreements, and 确认 / 修改 / 取消."""
    f = draft.fields
    lines = [
        t(
            lang,
            "reply.preview",
            kind=t(lang, f"letter_type.{f.get('letter_type') or 'reply'}"),
            number=esc(card["number"]),
            title=esc(card["title"] or ""),
        )
    ]
    lines += [
        t(lang, "reply.field", label=t(lang, f"field.{name}"), value=_value(lang, name, f.get(name)))
        + (t(lang, "reply.ocr_mark") if name in draft.ocr_fields else "")
        for name in EDITABLE
    ]
    if draft.summary:
        lines.append(t(lang, "reply.field", label=t(lang, "field.summary"), value=esc(draft.summary)))
    if draft.flags:
        lines.append(t(lang, "reply.flags"))
        lines += [f"• {t(lang, key, **{k: esc(v) for k, v in values.items()})}" for key, values in draft.flags]
    lines.append(t(lang, "reply.confirm_hint"))
    replace = any(key == "reply.flag.replaced" for key, _ in draft.flags)
    rp = f"rp:{draft.key}"  # the draft's key: a button of an older preview has expired
    confirm = (
        Button(t(lang, "button.replace"), f"{rp}:replace") if replace else Button(t(lang, "button.confirm"), f"{rp}:ok")
    )
    return Rendered(
        "\n".join(lines),
        ((confirm, Button(t(lang, "button.edit"), f"{rp}:edit"), Button(t(lang, "button.cancel"), f"{rp}:cancel")),),
    )


def render_field_picker(draft: LetterDraft, lang: str) -> Rendered:
    buttons = [Button(t(lang, f"field.{name}"), f"rp:{draft.key}:f:{name}") for name in EDITABLE]
    rows = tuple(tuple(buttons[i : i + 3]) for i in range(0, len(buttons), 3))
    return Rendered(t(lang, "reply.edit_pick"), rows)
