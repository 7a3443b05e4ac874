"""The chat import's messages: the diff preview with its buttons, the progress line and the result.

The preview says what the file would do before anything is stored: counts of new, changed, unchanged and bad
rows, every field a changed item changes (old → new), every bad row with its line and reason, and the warnings.
Its buttons carry the draft's id (`imp:<draft>:ok|clear|x`), so a button under an older preview says it expired.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.render.cards import Button, Rendered, esc
from bot.render.i18n import t

__all__ = [
    "SHOWN_BAD",
    "SHOWN_CHANGED",
    "ChangedItem",
    "ImportPreview",
    "render_import_preview",
    "render_import_result",
    "render_progress",
]

#: How many changed items and bad rows a preview lists one by one (the counts always cover them all).
SHOWN_CHANGED = 30
SHOWN_BAD = 30


@dataclass(frozen=True, slots=True)
class ChangedItem:
    """A stored item the file changes: its line, sitting, number and (field label, old, new) per field."""

    line: int
    session: str
    number: str
    fields: tuple[tuple[str, str, str], ...]


@dataclass(frozen=True, slots=True)
class ImportPreview:
    """What an import would do, in the reader's language."""

    file_name: str
    created: int
    updated: int
    unchanged: int
    bad: tuple[tuple[int, str], ...]  # (line, reason)
    changed: tuple[ChangedItem, ...]
    warnings: tuple[str, ...]
    clear_empty: bool = False

    @property
    def bad_lines(self) -> int:
        return len({line for line, _ in self.bad})


def render_import_preview(preview: ImportPreview, *, draft_id: int, lang: str) -> Rendered:
    """The preview; 确认导入 only when no row is bad (an import stores every row or none)."""
    p = preview
    lines = [
        t(lang, "import.preview", name=esc(p.file_name)),
        t(lang, "import.counts", created=p.created, updated=p.updated, unchanged=p.unchanged, bad=p.bad_lines),
    ]
    if p.clear_empty:
        lines.append(t(lang, "import.clearing"))
    lines += [f"⚠️ {esc(w)}" for w in p.warnings]
    if p.changed:
        lines.append("")
        lines.append(t(lang, "import.changes"))
    for item in p.changed[:SHOWN_CHANGED]:
        lines.append(t(lang, "import.changed_item", line=item.line, number=esc(item.number), session=esc(item.session)))
        empty = t(lang, "import.empty_value")
        lines += [f"  {esc(label)}：{esc(old) or empty} → {esc(new) or empty}" for label, old, new in item.fields]
    if len(p.changed) > SHOWN_CHANGED:
        lines.append(t(lang, "import.more_changes", count=len(p.changed) - SHOWN_CHANGED))
    if p.bad:
        lines.append("")
        lines.append(t(lang, "import.bad_rows"))
        lines += [t(lang, "import.bad_row", line=line, reason=esc(reason)) for line, reason in p.bad[:SHOWN_BAD]]
        if len(p.bad) > SHOWN_BAD:
            lines.append(t(lang, "import.more_bad", count=len(p.bad) - SHOWN_BAD))
        lines.append(t(lang, "import.fix_and_resend"))
    cancel = Button(t(lang, "button.cancel"), f"imp:{draft_id}:x")
    rows: list[tuple[Button, ...]] = []
    if p.bad:
        rows.append((cancel,))
    else:
        if p.created or p.updated:
            rows.append((Button(t(lang, "button.import"), f"imp:{draft_id}:ok"), cancel))
        else:
            lines.append(t(lang, "import.nothing"))
            rows.append((cancel,))
        if not p.clear_empty:
            rows.append((Button(t(lang, "button.clear_empty"), f"imp:{draft_id}:clear"),))
    return Rendered("\n".join(lines), tuple(rows))


def render_progress(done: int, total: int, *, lang: str, storing: bool = False) -> str:
    return t(lang, "import.storing" if storing else "import.progress", done=done, total=total)


def render_import_result(created: int, updated: int, unchanged: int, *, lang: str) -> str:
    return t(lang, "import.done", created=created, updated=updated, unchanged=unchanged)
