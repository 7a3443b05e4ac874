"""What an import row does to a stored item: the merge that keeps every field the row does not state, the field
changes a preview lists (old → new), and the padding of a numeric 编号 to its sitting's width.

A missing column never touches its field. An empty cell keeps the stored value unless the admin asks to clear empty
cells (``clear_empty``): then an empty cell in a present column sets the field to its empty value. Required columns
are always stated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any, Final

from bot.spreadsheets.columns import BY_KEY, ItemColumns, Notice
from bot.spreadsheets.validate import ImportRow

__all__ = ["MERGED_FIELDS", "FieldChange", "diff", "item_columns", "merge", "pad_numbers", "value_text"]

#: The fields an import can change on a stored item (the session and the number identify it).
MERGED_FIELDS: Final[tuple[str, ...]] = (
    "kind",
    "title",
    "content",
    "deputies",
    "co_signers",
    "lead_unit",
    "co_units",
    "assigned_on",
    "key_supervised",
)
_ITEM_FIELDS: Final[tuple[str, ...]] = tuple(f.name for f in fields(ItemColumns))


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field an import changes: its column key and the old and new values as a sheet shows them."""

    key: str
    old: str
    new: str

    def label(self, lang: str) -> str:
        column = BY_KEY[self.key]
        return column.zh if lang == "zh" else column.en


def value_text(value: Any) -> str:
    """A field's value as a sheet cell shows it: names joined by 、, dates as ISO, flags as 是/否."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, tuple | list):
        return "、".join(str(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def item_columns(item: ItemColumns) -> ItemColumns:
    """Any row type cut to the plain ``ItemColumns`` it carries (what a merge and a diff compare)."""
    return ItemColumns(**{name: getattr(item, name) for name in _ITEM_FIELDS})


def merge(stored: ItemColumns | None, row: ImportRow, *, columns: Iterable[str], clear_empty: bool) -> ItemColumns:
    """The item after the import: the row's stated fields over the stored ones (a new item takes the row whole)."""
    if stored is None:
        return item_columns(row)
    present = frozenset(columns)
    updates: dict[str, Any] = {}
    for key in MERGED_FIELDS:
        if key in row.given or (clear_empty and key in present):
            updates[key] = getattr(row, key)
    merged = replace(item_columns(stored), **updates)
    # a name kept from the stored item must not appear in both lists once the row moved it
    co_signers = tuple(n for n in merged.co_signers if n not in merged.deputies)
    co_units = tuple(u for u in merged.co_units if u != merged.lead_unit)
    if co_signers != merged.co_signers or co_units != merged.co_units:
        merged = replace(merged, co_signers=co_signers, co_units=co_units)
    return merged


def diff(stored: ItemColumns, merged: ItemColumns) -> tuple[FieldChange, ...]:
    """Every field whose value the merge changes, in column order."""
    changes: list[FieldChange] = []
    for key in MERGED_FIELDS:
        old, new = getattr(stored, key), getattr(merged, key)
        if old != new:
            changes.append(FieldChange(key, value_text(old), value_text(new)))
    return tuple(changes)


SittingKey = tuple[str, str, int, int]


def _sitting(row: ItemColumns) -> SittingKey:
    return (row.region, row.body, row.term, row.sitting)


def _padded_width(numbers: Iterable[str]) -> int | None:
    """The width zero-padded numbers have in a sitting (the most common one), or None if none is padded."""
    widths = Counter(len(n) for n in numbers if len(n) > 1 and n.startswith("0"))
    if not widths:
        return None
    return max(widths.items(), key=lambda kv: (kv[1], kv[0]))[0]


def pad_numbers(
    rows: Sequence[ImportRow], stored: Mapping[SittingKey, Sequence[str]]
) -> tuple[list[ImportRow], Notice | None]:
    """Pad each numeric 编号 (a number cell, not text) to the width of the padded numbers of its sitting.

    The width comes from the other numbers in the file and those stored for the sitting; a sitting whose numbers
    carry no leading zeros pads nothing. Returns the rows and one notice naming the padded lines, if any.
    """
    others: dict[SittingKey, list[str]] = {}
    for row in rows:
        if not row.numeric_number:
            others.setdefault(_sitting(row), []).append(row.number)
    out: list[ImportRow] = []
    padded: list[tuple[int, str, str]] = []
    widths: dict[SittingKey, int | None] = {}
    for row in rows:
        if row.numeric_number:
            key = _sitting(row)
            if key not in widths:
                widths[key] = _padded_width([*others.get(key, ()), *stored.get(key, ())])
            width = widths[key]
            if width is not None and len(row.number) < width:
                new = row.number.zfill(width)
                padded.append((row.line, row.number, new))
                row = replace(row, number=new)
        out.append(row)
    if not padded:
        return out, None
    shown = padded[:5]
    more = len(padded) - len(shown)
    zh = "、".join(f"第 {line} 行 {old} → {new}" for line, old, new in shown) + (
        f" 等 {len(padded)} 行" if more else ""
    )
    en = ", ".join(f"line {line} {old} → {new}" for line, old, new in shown) + (f" and {more} more" if more else "")
    return out, Notice(
        f"编号是数字单元格，已按本会次其他编号的位数补零：{zh}",
        f"numeric 编号 cells padded to the width of the sitting's other numbers: {en}",
    )
