"""Reading import files: a .csv or .xlsx file's rows, with the header found and its columns mapped to fields.

Reading is tolerant: CSV in UTF-8, UTF-16 or GB18030, as government systems export it (``bot.files.decoding``, the
decoder reply letters use too); headers in Chinese or English, in any case and with stray spaces; a title row above
the header; unknown columns ignored with a warning. Whole-file problems raise ``SpreadsheetError``.

Line numbers are row numbers as a spreadsheet program shows them (the header is line 1 in the usual layout;
blank rows count, a quoted multi-line CSV cell is one row).
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any, Final

import openpyxl

from bot.files.archives import DEFAULT_LIMITS, ArchiveLimits, ArchiveRefused, check_archive
from bot.files.decoding import UndecodableText, decode_text
from bot.files.magic import OLE_MAGIC, ZIP_MAGIC
from bot.spreadsheets.columns import (
    BY_KEY,
    COLUMNS,
    EXPORT_ONLY_COLUMNS,
    MAX_BYTES,
    MAX_ROWS,
    REQUIRED,
    CellValue,
    Notice,
    SpreadsheetError,
    cell_text,
    is_blank,
)

__all__ = ["DEFAULT_LIMITS", "ArchiveLimits", "RawRow", "Sheet", "read_rows", "read_sheet"]

_MAX_COLUMNS: Final = 256
_HEADER_SEARCH_ROWS: Final = 10  # a title row or two above the header is common in government exports


def _header_key(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s_\-*＊:：]+", "", folded)


def _header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for column in COLUMNS + EXPORT_ONLY_COLUMNS:
        for name in (column.zh, column.en, column.key, *column.aliases):
            index[_header_key(name)] = column.key
    return index


_HEADERS: Final[Mapping[str, str]] = _header_index()
_HEADER_PARTS = re.compile(r"[/|()（）\[\]【】]")


def _match_header(cell: str) -> str | None:
    """The field a header cell names: `地区`, `Region`, ` co signers `, `地区/region`, `编号（必填）`."""
    whole = _header_key(cell)
    if not whole:
        return None
    if whole in _HEADERS:
        return _HEADERS[whole]
    for part in _HEADER_PARTS.split(cell):
        key = _HEADERS.get(_header_key(part))
        if key is not None:
            return key
    return None


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row as read: its line number in the file and the cell of each recognised column."""

    line: int
    values: Mapping[str, CellValue]


@dataclass(frozen=True, slots=True)
class Sheet:
    """What ``read_sheet`` found: the data rows, the recognised import columns, the read-only (export) columns
    present and ignored, and warnings (unknown columns)."""

    rows: tuple[RawRow, ...]
    columns: tuple[str, ...]
    warnings: tuple[Notice, ...] = ()
    read_only: tuple[str, ...] = ()


def read_rows(filename: str, data: bytes, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> list[RawRow]:
    """The data rows of a .csv or .xlsx file; raises ``SpreadsheetError`` for a whole-file problem."""
    return list(read_sheet(filename, data, limits=limits).rows)


def read_sheet(filename: str, data: bytes, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> Sheet:
    """Read a .csv or .xlsx file (the first sheet), find its header row and map the columns to fields.

    A workbook is measured before openpyxl opens it: one that would unpack beyond ``limits`` is refused.
    """
    if len(data) > MAX_BYTES:
        raise SpreadsheetError(
            f"文件超过 {MAX_BYTES // (1024 * 1024)} MB，请拆分后再导入",
            f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it and import the parts",
        )
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise _empty_file()
    suffix = os.path.splitext(filename)[1].lower()
    if data.startswith(OLE_MAGIC):
        raise SpreadsheetError(
            "这是旧版 .xls 或加密的工作簿，请去掉密码并另存为 .xlsx 或 .csv",
            "this is a legacy .xls or a password-protected workbook; remove the password and save it as .xlsx or .csv",
        )
    # Trust the content over the name: an .xlsx renamed to .csv is still a workbook, and a CSV named .xlsx is
    # still a CSV.
    grid: Iterable[tuple[int, list[CellValue]]]
    if data.startswith(ZIP_MAGIC):
        _check_workbook(data, limits)
        grid = _xlsx_grid(data)
    elif suffix == ".xlsx" and b"\x00" in data[:4096]:
        raise _corrupt_xlsx()
    elif suffix in (".csv", ".txt", ".xlsx"):
        grid = _csv_grid(data)
    else:
        raise SpreadsheetError(
            f"不支持的文件类型 {suffix or '(无扩展名)'}，请使用 .xlsx 或 .csv",
            f"unsupported file type {suffix or '(no extension)'}; use .xlsx or .csv",
        )
    return _sheet_from_grid(iter(grid))


def _empty_file() -> SpreadsheetError:
    return SpreadsheetError("文件是空的", "the file is empty")


def _decode(data: bytes) -> str:
    try:
        return decode_text(data)
    except UndecodableText as exc:
        if exc.reason == "empty":
            raise _empty_file() from exc
        if exc.reason == "binary":
            raise SpreadsheetError(
                "文件不是文本 CSV（可能是二进制文件），请另存为 CSV UTF-8 或 .xlsx",
                "the file is not a text CSV (binary data); save it as CSV UTF-8 or .xlsx",
            ) from exc
        raise SpreadsheetError(
            "无法识别文件编码（支持 UTF-8、UTF-16 和 GB18030），或这不是 CSV 文件",
            "cannot decode the file (UTF-8, UTF-16 and GB18030 are supported), or it is not a CSV file",
        ) from exc


def _delimiter(text: str) -> str:
    first = next((line for line in io.StringIO(text, newline="") if line.strip()), "")
    counts = {d: first.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


#: A CSV cell as an export neutralised it (``bot.spreadsheets.write.neutralise``): ``'`` before a formula trigger.
_NEUTRALISED: Final = re.compile(r"'(?='*[=+\-@\t\r\n])")  # \n: the decoder reads \r as \n


def _csv_cell(text: str) -> str:
    """The cell as it was before the export neutralised it: ``'=1+2`` reads as ``=1+2``."""
    return text[1:] if _NEUTRALISED.match(text) else text


def _csv_grid(data: bytes) -> Iterator[tuple[int, list[CellValue]]]:
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        for line, record in enumerate(reader, start=1):
            yield line, [_csv_cell(cell) for cell in record[:_MAX_COLUMNS]]
    except csv.Error as exc:
        raise SpreadsheetError(
            f"CSV 格式错误（第 {reader.line_num} 行附近）：{exc}",
            f"malformed CSV near line {reader.line_num}: {exc}",
        ) from exc


def _corrupt_xlsx() -> SpreadsheetError:
    return SpreadsheetError(
        "工作簿已损坏或不是有效的 .xlsx 文件",
        "the workbook is damaged or not a valid .xlsx file",
    )


def _check_workbook(data: bytes, limits: ArchiveLimits) -> None:
    try:
        check_archive(data, limits)
    except ArchiveRefused as exc:
        if exc.reason == "corrupt":
            raise _corrupt_xlsx() from exc
        raise SpreadsheetError(
            "工作簿解压后过大或部件过多（可能是“压缩炸弹”），为安全起见没有读取",
            "the workbook unpacks to too much data or too many parts (possibly a zip bomb), so it was not read",
        ) from exc


def _xlsx_grid(data: bytes) -> Iterator[tuple[int, list[CellValue]]]:
    # openpyxl raises a zoo of exceptions (zipfile, KeyError, XML parse errors, ValueError, TypeError...) for
    # damaged input; every one of them means the same thing to the person importing.
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style" and similar noise from generated files
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:
        raise _corrupt_xlsx() from exc
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # generated files often declare a wrong size; read what is there
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rows = list(
                    _xlsx_rows(sheet.iter_rows(max_col=_MAX_COLUMNS, max_row=MAX_ROWS + _HEADER_SEARCH_ROWS + 1))
                )
        except Exception as exc:
            raise _corrupt_xlsx() from exc
    finally:
        workbook.close()
    yield from rows


def _xlsx_rows(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[int, list[CellValue]]]:
    line = 0
    for cells in rows:
        row_number = next((c.row for c in cells if getattr(c, "row", None)), None)
        line = row_number if isinstance(row_number, int) else line + 1
        yield line, [_xlsx_cell(c) for c in cells]


def _xlsx_cell(cell: Any) -> CellValue:
    value = cell.value
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A number formatted as 000 shows 018 in Excel; keep what people see.
        fmt = getattr(cell, "number_format", None)
        if isinstance(fmt, str) and re.fullmatch(r"0{2,}", fmt) and float(value).is_integer():
            return str(int(value)).zfill(len(fmt))
    if isinstance(value, str | int | float | bool | date | time) or value is None:
        return value
    return str(value)


def _sheet_from_grid(grid: Iterator[tuple[int, list[CellValue]]]) -> Sheet:
    header: dict[int, str] | None = None
    unknown: list[str] = []
    seen_lines = 0
    for _line, cells in grid:
        if all(is_blank(c) for c in cells):
            continue
        seen_lines += 1
        header, unknown = _read_header(cells)
        if header:
            break
        if seen_lines >= _HEADER_SEARCH_ROWS:
            break
    if not header:
        names = "、".join(c.zh for c in COLUMNS)
        raise SpreadsheetError(
            f"找不到表头行；第一行应为列名，例如：{names}",
            "no header row found; the first row must name the columns, such as " + ", ".join(c.en for c in COLUMNS),
        )
    present = set(header.values())
    missing = [BY_KEY[k] for k in REQUIRED if k not in present]
    if missing:
        raise SpreadsheetError(
            "缺少必需的列：" + "、".join(c.zh for c in missing),
            "required columns missing: " + ", ".join(c.en for c in missing),
        )
    rows: list[RawRow] = []
    for line, cells in grid:
        values = {key: cells[i] for i, key in header.items() if i < len(cells) and key in _IMPORT_KEYS}
        if all(is_blank(v) for v in values.values()):
            continue
        if len(rows) >= MAX_ROWS:
            raise SpreadsheetError(
                f"数据行超过 {MAX_ROWS} 行，请拆分后再导入",
                f"more than {MAX_ROWS} data rows; split the file and import the parts",
            )
        rows.append(RawRow(line=line, values=values))
    if not rows:
        raise SpreadsheetError("表头下面没有数据行", "there are no data rows below the header")
    notices: list[Notice] = []
    if unknown:
        notices.append(
            Notice(
                "已忽略不认识的列：" + "、".join(unknown),
                "ignored unknown columns: " + ", ".join(unknown),
            )
        )
    columns = tuple(c.key for c in COLUMNS if c.key in present)
    read_only = tuple(c.key for c in EXPORT_ONLY_COLUMNS if c.key in present)
    return Sheet(rows=tuple(rows), columns=columns, warnings=tuple(notices), read_only=read_only)


_IMPORT_KEYS: Final[frozenset[str]] = frozenset(c.key for c in COLUMNS)


def _read_header(cells: Sequence[CellValue]) -> tuple[dict[int, str], list[str]]:
    """Map column positions to fields; a row naming no known column is not a header (maybe a title row)."""
    mapping: dict[int, str] = {}
    unknown: list[str] = []
    for i, cell in enumerate(cells):
        if is_blank(cell):
            continue
        text = cell_text(cell)
        key = _match_header(text)
        if key is None:
            unknown.append(text)
        elif key in mapping.values():
            column = BY_KEY[key]
            raise SpreadsheetError(
                f"列“{column.zh}”出现了两次",
                f"the column {column.en!r} appears twice",
            )
        else:
            mapping[i] = key
    return mapping, unknown
