"""/audit: the audit log as pages of text, each entry with who, when, what, and every value old → new."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from bot.render.cards import Button, Rendered, esc
from bot.render.i18n import t

__all__ = ["PAGE", "AuditLine", "render_audit"]

PAGE = 10


@dataclass(frozen=True, slots=True)
class AuditLine:
    """One audit entry as /audit shows it."""

    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    subject: str
    old: Mapping[str, Any]
    new: Mapping[str, Any]


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    keys = list(dict.fromkeys([*old, *new]))
    parts = [f"{esc(k)}: {esc(old.get(k, '') or '—')} → {esc(new.get(k, '') or '—')}" for k in keys]
    return "；".join(parts)


def render_audit(
    lines: Sequence[AuditLine], *, total: int, page: int, scope: int, title: str, lang: str, tz: tzinfo
) -> Rendered:
    """One page of entries, newest first, with ◀/▶ buttons `au:<scope>:<page>` (scope: an item id, or 0 for all)."""
    pages = max(1, -(-total // PAGE))
    text = [t(lang, "audit.title", subject=esc(title), page=page + 1, pages=pages, total=total)]
    if not lines:
        text.append(t(lang, "audit.empty"))
    for line in lines:
        who = esc(line.actor_name or "—") + (f" ({line.actor_id})" if line.actor_id is not None else "")
        head = t(
            lang,
            "audit.line",
            at=line.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            who=who,
            action=t(lang, f"audit.action.{line.action}"),
            subject=esc(line.subject),
        )
        text.append(f"{head}\n  {_changes(line.old, line.new)}")
    row: list[Button] = []
    if page > 0:
        row.append(Button(t(lang, "button.prev"), f"au:{scope}:{page - 1}"))
    if page + 1 < pages:
        row.append(Button(t(lang, "button.next"), f"au:{scope}:{page + 1}"))
    return Rendered("\n\n".join(text), (tuple(row),) if row else ())
