"""Writing exports: stored items as .csv or .xlsx under the Chinese import headers, so an export re-imports cleanly."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from bot.spreadsheets.columns import COLUMNS, EXPORT_ONLY_COLUMNS, CellValue, Column, ItemColumns, SpreadsheetError

__all__ = ["FORMULA_TRIGGERS", "ExportRow", "neutralise", "write_export"]

#: The first characters that make a spreadsheet program read a CSV cell as a formula (OWASP, "CSV Injection"):
#: ``=HYPERLINK(…)``, ``+cmd|…``, ``-2+3``, ``@SUM(…)``, and a tab or carriage return before one of them.
FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
#: A cell that needs the leading ``'``: a trigger first, or after quotes (so ``'=x`` stays ``'=x`` in a round trip).
_NEEDS_QUOTE: Final = re.compile(r"'*[=+\-@\t\r]")


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportRow(ItemColumns):
    """One stored item for an export: the import columns, then the ``EXPORT_ONLY_COLUMNS``."""

    due_on: date | None = None
    state: str
    days_overdue: int | None = None
    result_class: str | None = None
    replied_on: date | None = None
    rating: str | None = None


_EXPORT_COLUMNS: Final[tuple[Column, ...]] = COLUMNS + EXPORT_ONLY_COLUMNS


def _export_cell(key: str, value: Any) -> CellValue:
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    if key == "key_supervised":
        return "是" if value else "否"
    if isinstance(value, str | int | float | date):
        return value
    return str(value)


def _export_text(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def neutralise(text: str) -> str:
    """A CSV cell that no spreadsheet program runs: one starting with a formula trigger gets a leading ``'``.

    The CSV reader drops that ``'`` again (``bot.spreadsheets.read``), so an export re-imports unchanged; a text
    that itself starts with quotes before a trigger (``'=x``) gets one more, so it comes back as it was.
    """
    return "'" + text if _NEEDS_QUOTE.match(text) else text


def write_export(
    path: Path,
    rows: Sequence[ExportRow],
    *,
    headers: Mapping[str, str] | None = None,
    labels: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Write rows to .csv or .xlsx, each column from the row's field of the same name.

    The headers are the Chinese import headers unless `headers` names them (by column key: the English ones are
    import headers too), so an export re-imports cleanly; the read-only columns (答复期限, 状态, …) come last and are
    ignored on import. `labels` maps a read-only column's values to what the reader reads (state labels in the
    admin's language). CSV is UTF-8 with a BOM so that Excel opens it, and a cell that would start a formula is
    neutralised (:func:`neutralise`); an .xlsx stores every text as text, never as a formula. The file appears
    whole or not at all (written beside the target, then renamed).
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise SpreadsheetError(
            f"不支持的导出格式 {suffix or '(无扩展名)'}，请使用 .xlsx 或 .csv",
            f"unsupported export format {suffix or '(no extension)'}; use .xlsx or .csv",
        )
    names = [(headers or {}).get(c.key, c.zh) for c in _EXPORT_COLUMNS]
    shown = labels or {}
    table = [
        [
            _export_cell(c.key, shown[c.key].get(value, value) if c.key in shown and isinstance(value, str) else value)
            for c in _EXPORT_COLUMNS
            for value in (getattr(row, c.key),)
        ]
        for row in rows
    ]
    partial = path.with_name(f".{path.name}.partial")
    try:
        if suffix == ".csv":
            _write_csv(partial, names, table)
        else:
            _write_xlsx(partial, names, table)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _write_csv(path: Path, names: list[str], table: list[list[CellValue]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in table:
            writer.writerow([neutralise(_export_text(v)) for v in row])


def _write_xlsx(path: Path, names: list[str], table: list[list[CellValue]]) -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("proposals")
    sheet.freeze_panes = "A2"
    sheet.append(names)
    for row in table:
        cells: list[Any] = []
        for value in row:
            cell = openpyxl.cell.WriteOnlyCell(sheet)
            if isinstance(value, str):
                cell.value = ILLEGAL_CHARACTERS_RE.sub("", value)
                cell.data_type = "s"  # a title starting with "=" is text, not a formula
            else:
                cell.value = value
                if isinstance(value, date):
                    cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    workbook.save(path)
