"""Import and export files (.csv, .xlsx): read rows, validate them into typed items, write exports. No database.

Reading is tolerant: CSV in UTF-8, UTF-16 or GB18030, as government systems export it (``bot.files.decoding``, the
decoder reply letters use too); headers
in Chinese or English, in any case and with stray spaces; a title row above the header; unknown columns
ignored with a warning. Whole-file problems raise ``SpreadsheetError``; problems in single rows become
``RowError`` values so that the caller can name every bad row at once and store nothing.

Line numbers are row numbers as a spreadsheet program shows them (the header is line 1 in the usual layout;
blank rows count, a quoted multi-line CSV cell is one row).

A row with a lead unit but no 交办日期, or the reverse, is valid: the item stays a draft without a due day
until both are known (``ImportRow.assignable`` tells which rows get a clock; ``bot.services.imports`` decides what to
store).
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Final

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils.datetime import from_excel

from bot.domain.lookup import MAX_DIGITS, number_key
from bot.domain.numerals import NUMERAL_CHARS, parse_chinese_number
from bot.files.decoding import UndecodableText, decode_text
from bot.files.magic import OLE_MAGIC, ZIP_MAGIC

__all__ = [
    "BODIES",
    "COLUMNS",
    "EXPORT_ONLY_COLUMNS",
    "KINDS",
    "MAX_BYTES",
    "MAX_ROWS",
    "REQUIRED",
    "Column",
    "ExportRow",
    "ImportRow",
    "ItemColumns",
    "Notice",
    "RawRow",
    "RowError",
    "Sheet",
    "SpreadsheetError",
    "read_rows",
    "read_sheet",
    "validate",
    "write_export",
]

MAX_BYTES: Final = 10 * 1024 * 1024
MAX_ROWS: Final = 100_000
_MAX_COLUMNS: Final = 256
_HEADER_SEARCH_ROWS: Final = 10  # a title row or two above the header is common in government exports

CellValue = str | int | float | bool | date | datetime | time | None


class SpreadsheetError(Exception):
    """The whole file cannot be used (empty, binary, no header, required columns missing, corrupt, too big)."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} / {message_en}")
        self.message_zh = message_zh
        self.message_en = message_en


@dataclass(frozen=True, slots=True)
class Notice:
    """A warning for the person importing, in Chinese and English."""

    zh: str
    en: str

    def __str__(self) -> str:
        return f"{self.zh} / {self.en}"


@dataclass(frozen=True, slots=True)
class Column:
    """One import column: its field name, Chinese and English headers, and accepted aliases."""

    key: str
    zh: str
    en: str
    aliases: tuple[str, ...] = ()


COLUMNS: Final[tuple[Column, ...]] = (
    Column("region", "地区", "region"),
    Column("body", "机构", "body"),
    Column("term", "届", "term", ("届次",)),
    Column("sitting", "次", "sitting", ("会次",)),
    Column("number", "编号", "number", ("建议编号", "提案编号", "议案编号")),
    Column("kind", "类别", "kind", ("类型",)),
    Column("title", "标题", "title", ("案由", "题目")),
    Column("content", "内容", "content", ("正文",)),
    Column("deputies", "领衔代表", "deputies", ("领衔人", "领衔委员", "提出人")),
    Column("co_signers", "联名代表", "co_signers", ("附议代表", "联名人", "附议人", "联名委员")),
    Column("lead_unit", "主办单位", "lead_unit", ("承办单位",)),
    Column("co_units", "会办单位", "co_units", ("协办单位",)),
    Column("assigned_on", "交办日期", "assigned_on", ("交办日", "交办时间")),
    Column("key_supervised", "重点督办", "key_supervised", ("是否重点督办",)),
)
#: Written by exports after the import columns, recognised and ignored on import.
EXPORT_ONLY_COLUMNS: Final[tuple[Column, ...]] = (
    Column("due_on", "答复期限", "due_on"),
    Column("state", "状态", "state"),
)
REQUIRED: Final[tuple[str, ...]] = ("region", "body", "term", "sitting", "number", "title")
BODIES: Final[tuple[str, ...]] = ("人大", "政协")
KINDS: Final[tuple[str, ...]] = ("代表建议", "议案", "政协提案")
_BY_KEY: Final[Mapping[str, Column]] = {c.key: c for c in COLUMNS + EXPORT_ONLY_COLUMNS}

# Length limits of the database columns, checked here so PostgreSQL never rejects a row half-way.
_MAX_REGION: Final = 64
_MAX_NAME: Final = 64
_MAX_UNIT: Final = 128


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


# ------------------------------------------------------------------------------------------------ reading


@dataclass(frozen=True, slots=True)
class RawRow:
    """One data row as read: its line number in the file and the cell of each recognised column."""

    line: int
    values: Mapping[str, CellValue]


@dataclass(frozen=True, slots=True)
class Sheet:
    """What ``read_sheet`` found: the data rows, the recognised columns and warnings (unknown columns)."""

    rows: tuple[RawRow, ...]
    columns: tuple[str, ...]
    warnings: tuple[Notice, ...] = ()


def read_rows(filename: str, data: bytes) -> list[RawRow]:
    """The data rows of a .csv or .xlsx file; raises ``SpreadsheetError`` for a whole-file problem."""
    return list(read_sheet(filename, data).rows)


def read_sheet(filename: str, data: bytes) -> Sheet:
    """Read a .csv or .xlsx file (the first sheet), find its header row and map the columns to fields."""
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


def _csv_grid(data: bytes) -> Iterator[tuple[int, list[CellValue]]]:
    text = _decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        for line, record in enumerate(reader, start=1):
            yield line, list(record[:_MAX_COLUMNS])
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


def _is_blank(value: CellValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _sheet_from_grid(grid: Iterator[tuple[int, list[CellValue]]]) -> Sheet:
    header: dict[int, str] | None = None
    unknown: list[str] = []
    seen_lines = 0
    for _line, cells in grid:
        if all(_is_blank(c) for c in cells):
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
    missing = [_BY_KEY[k] for k in REQUIRED if k not in present]
    if missing:
        raise SpreadsheetError(
            "缺少必需的列：" + "、".join(c.zh for c in missing),
            "required columns missing: " + ", ".join(c.en for c in missing),
        )
    rows: list[RawRow] = []
    for line, cells in grid:
        values = {key: cells[i] for i, key in header.items() if i < len(cells) and key in _IMPORT_KEYS}
        if all(_is_blank(v) for v in values.values()):
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
    return Sheet(rows=tuple(rows), columns=columns, warnings=tuple(notices))


_IMPORT_KEYS: Final[frozenset[str]] = frozenset(c.key for c in COLUMNS)


def _read_header(cells: Sequence[CellValue]) -> tuple[dict[int, str], list[str]]:
    """Map column positions to fields; a row naming no known column is not a header (maybe a title row)."""
    mapping: dict[int, str] = {}
    unknown: list[str] = []
    for i, cell in enumerate(cells):
        if _is_blank(cell):
            continue
        text = _text(cell)
        key = _match_header(text)
        if key is None:
            unknown.append(text)
        elif key in mapping.values():
            column = _BY_KEY[key]
            raise SpreadsheetError(
                f"列“{column.zh}”出现了两次",
                f"the column {column.en!r} appears twice",
            )
        else:
            mapping[i] = key
    return mapping, unknown


# --------------------------------------------------------------------------------------------- validating


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemColumns:
    """The import columns as typed fields, one per ``COLUMNS`` entry and in its order (a test holds them together)."""

    region: str
    body: str
    term: int
    sitting: int
    number: str
    kind: str = "代表建议"
    title: str
    content: str = ""
    deputies: tuple[str, ...] = ()
    co_signers: tuple[str, ...] = ()
    lead_unit: str | None = None
    co_units: tuple[str, ...] = ()
    assigned_on: date | None = None
    key_supervised: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportRow(ItemColumns):
    """One valid item from an import file, with typed fields. Names and units are deduplicated."""

    line: int

    @property
    def number_key(self) -> str:
        return number_key(self.number)

    @property
    def assignable(self) -> bool:
        """Whether the item gets a clock: it needs both a lead unit and an assigned day."""
        return self.lead_unit is not None and self.assigned_on is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportRow(ItemColumns):
    """One stored item for an export: the import columns, then the ``EXPORT_ONLY_COLUMNS``."""

    due_on: date | None = None
    state: str


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one row, in Chinese and English."""

    line: int
    reason_zh: str
    reason_en: str

    def __str__(self) -> str:
        return f"第 {self.line} 行 / line {self.line}: {self.reason_zh} / {self.reason_en}"


class _Bad(Exception):
    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en


def validate(rows: Iterable[RawRow]) -> tuple[list[ImportRow], list[RowError]]:
    """Turn raw rows into typed items; every problem becomes a ``RowError`` naming its line."""
    good: list[ImportRow] = []
    errors: list[RowError] = []
    first_line: dict[tuple[str, str, int, int, str], int] = {}
    for raw in rows:
        row, row_errors = _validate_row(raw)
        if row is not None:
            key = (row.region, row.body, row.term, row.sitting, row.number_key)
            earlier = first_line.get(key)
            if earlier is not None:
                row_errors.append(
                    RowError(
                        raw.line,
                        f"与第 {earlier} 行重复（同一会次的编号 {row.number}）",
                        f"duplicates line {earlier} (number {row.number} in the same session)",
                    )
                )
            else:
                first_line[key] = raw.line
        if row_errors:
            errors.extend(row_errors)
        elif row is not None:
            good.append(row)
    return good, errors


def _validate_row(raw: RawRow) -> tuple[ImportRow | None, list[RowError]]:
    errors: list[RowError] = []
    values = raw.values

    def field(key: str, parse: Callable[[CellValue], Any]) -> Any:
        try:
            return parse(values.get(key))
        except _Bad as bad:
            column = _BY_KEY[key]
            errors.append(RowError(raw.line, f"{column.zh}：{bad.zh}", f"{column.en}: {bad.en}"))
            return None

    for key in REQUIRED:
        if _is_blank(values.get(key)):
            column = _BY_KEY[key]
            errors.append(RowError(raw.line, f"缺少{column.zh}", f"{column.en} is missing"))
    region: str | None = field("region", lambda v: _limited(_optional_text(v), _MAX_REGION))
    body: str | None = field("body", _body)
    term: int | None = field("term", _positive_int)
    sitting: int | None = field("sitting", _positive_int)
    number: str | None = field("number", _number)
    title: str | None = field("title", _optional_text)
    kind: str | None = field("kind", lambda v: _kind(v, body))
    content = _optional_text(values.get("content")) or ""
    deputies: tuple[str, ...] = field("deputies", lambda v: _names(v, _MAX_NAME)) or ()
    co_signers: tuple[str, ...] = field("co_signers", lambda v: _names(v, _MAX_NAME)) or ()
    lead_unit: str | None = field("lead_unit", _lead_unit)
    co_units: tuple[str, ...] = field("co_units", lambda v: _names(v, _MAX_UNIT)) or ()
    assigned_on: date | None = field("assigned_on", _date)
    key_supervised: bool | None = field("key_supervised", _flag)
    if errors or not (region and body and term and sitting and number and title and kind):
        return None, errors
    return (
        ImportRow(
            line=raw.line,
            region=region,
            body=body,
            term=term,
            sitting=sitting,
            number=number,
            title=title,
            kind=kind,
            content=content,
            deputies=deputies,
            co_signers=tuple(n for n in co_signers if n not in deputies),
            lead_unit=lead_unit,
            co_units=tuple(u for u in co_units if u != lead_unit),
            assigned_on=assigned_on,
            key_supervised=bool(key_supervised),
        ),
        errors,
    )


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: CellValue) -> str:
    """A cell as trimmed text; numbers without a spurious `.0`, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return _CONTROL.sub("", str(value)).strip()


def _optional_text(value: CellValue) -> str | None:
    return _text(value) or None


def _limited(text: str | None, limit: int) -> str | None:
    if text is not None and len(text) > limit:
        raise _Bad(f"超过 {limit} 个字", f"longer than {limit} characters")
    return text


def _folded(value: CellValue) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", _text(value))).casefold()


_BODY_NAMES: Final[Mapping[str, str]] = {
    "人大": "人大",
    "人民代表大会": "人大",
    "npc": "人大",
    "congress": "人大",
    "people'scongress": "人大",
    "政协": "政协",
    "政治协商会议": "政协",
    "人民政治协商会议": "政协",
    "cppcc": "政协",
}


def _body(value: CellValue) -> str | None:
    if _is_blank(value):
        return None
    body = _BODY_NAMES.get(_folded(value))
    if body is None:
        raise _Bad(f"应为“人大”或“政协”，而不是“{_text(value)}”", f"must be 人大 or 政协, not {_text(value)!r}")
    return body


_KIND_NAMES: Final[Mapping[str, str]] = {
    "代表建议": "代表建议",
    "建议": "代表建议",
    "suggestion": "代表建议",
    "议案": "议案",
    "代表议案": "议案",
    "bill": "议案",
    "政协提案": "政协提案",
    "提案": "政协提案",
    "proposal": "政协提案",
}


def _kind(value: CellValue, body: str | None) -> str | None:
    if _is_blank(value):
        return "政协提案" if body == "政协" else "代表建议"
    kind = _KIND_NAMES.get(_folded(value))
    if kind is None:
        raise _Bad(
            f"应为 代表建议、议案 或 政协提案，而不是“{_text(value)}”",
            f"must be 代表建议, 议案 or 政协提案, not {_text(value)!r}",
        )
    if body is not None and (body == "政协") != (kind == "政协提案"):
        raise _Bad(f"“{kind}”与机构“{body}”不符", f"{kind} does not match the body {body}")
    return kind


_ORDINAL = re.compile(rf"^第?(?P<n>[0-9]+|[{NUMERAL_CHARS}]+)(?:届|次)?(?:会议)?$")


def _positive_int(value: CellValue) -> int | None:
    if _is_blank(value):
        return None
    bad = _Bad(
        f"应为正整数（如 17 或 十七），而不是“{_text(value)}”", f"must be a positive integer, not {_text(value)!r}"
    )
    if isinstance(value, bool):
        raise bad
    if isinstance(value, int | float):
        if not float(value).is_integer() or not 0 < value < 1000:
            raise bad
        return int(value)
    match = _ORDINAL.match(re.sub(r"\s+", "", unicodedata.normalize("NFKC", _text(value))))
    if match is None:
        raise bad
    number = parse_chinese_number(match.group("n"))
    if number is None or not 0 < number < 1000:
        raise bad
    return number


def _number(value: CellValue) -> str | None:
    if _is_blank(value):
        return None
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", _text(value)))
    text = re.sub(r"^(?:第|no\.?|#)", "", text, flags=re.IGNORECASE).removesuffix("号")
    if not re.fullmatch(r"[0-9]+", text):
        raise _Bad(f"只能是数字，而不是“{_text(value)}”", f"must be digits only, not {_text(value)!r}")
    if len(text) > MAX_DIGITS:
        raise _Bad(f"超过 {MAX_DIGITS} 位", f"longer than {MAX_DIGITS} digits")
    return text


_NAME_SEPARATORS = re.compile(r"[、;,；，\r\n]+")


def _names(value: CellValue, limit: int) -> tuple[str, ...]:
    names: list[str] = []
    for part in _NAME_SEPARATORS.split(_text(value)):
        name = part.strip()
        if name and name not in names:
            _limited(name, limit)
            names.append(name)
    return tuple(names)


def _lead_unit(value: CellValue) -> str | None:
    names = _names(value, _MAX_UNIT)
    if len(names) > 1:
        raise _Bad(
            "只能有一个主办单位；其他单位请填在会办单位",
            "only one lead unit is allowed; put the others under co_units",
        )
    return names[0] if names else None


_DATE = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_COMPACT_DATE = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$")
_MIN_YEAR: Final = 1949
_MAX_YEAR: Final = 2100
# Excel serial day numbers for 1990-01-01 and 2100-12-31: a date column formatted as a plain number.
_SERIAL_RANGE: Final = (32874, 73415)


def _date(value: CellValue) -> date | None:
    if _is_blank(value):
        return None
    day: date
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not _SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1]:
            raise _Bad(f"不是日期：{_text(value)}", f"not a date: {_text(value)}")
        day = from_excel(value).date()
    else:
        text = unicodedata.normalize("NFKC", _text(value)).strip()
        match = _DATE.match(text) or _COMPACT_DATE.match(text)
        if match is None:
            raise _Bad(
                f"日期格式无法识别：“{_text(value)}”（请用 2024-01-29、2024/1/29 或 2024年1月29日）",
                f"unrecognised date {_text(value)!r} (use 2024-01-29, 2024/1/29 or 2024年1月29日)",
            )
        try:
            day = date(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError as exc:
            raise _Bad(f"日期不存在：{_text(value)}", f"no such date: {_text(value)}") from exc
    if not _MIN_YEAR <= day.year <= _MAX_YEAR:
        raise _Bad(f"日期超出范围：{day.isoformat()}", f"date out of range: {day.isoformat()}")
    return day


_YES: Final = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "重点", "重点督办"})
_NO: Final = frozenset({"否", "n", "no", "false", "0", "×", "✗", "-"})


def _flag(value: CellValue) -> bool:
    if _is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    folded = _folded(value)
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    raise _Bad(f"应为“是”或“否”，而不是“{_text(value)}”", f"must be yes or no (是/否), not {_text(value)!r}")


# ----------------------------------------------------------------------------------------------- writing

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


def write_export(path: Path, rows: Sequence[ExportRow]) -> None:
    """Write rows to .csv or .xlsx, each column from the row's field of the same name.

    The headers are the Chinese import headers, so an export re-imports cleanly; 答复期限 and 状态 come last
    and are ignored on import. CSV is UTF-8 with a BOM so that Excel opens it. The file appears whole or
    not at all (written beside the target, then renamed).
    """
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise SpreadsheetError(
            f"不支持的导出格式 {suffix or '(无扩展名)'}，请使用 .xlsx 或 .csv",
            f"unsupported export format {suffix or '(no extension)'}; use .xlsx or .csv",
        )
    table = [[_export_cell(c.key, getattr(row, c.key)) for c in _EXPORT_COLUMNS] for row in rows]
    partial = path.with_name(f".{path.name}.partial")
    try:
        if suffix == ".csv":
            _write_csv(partial, table)
        else:
            _write_xlsx(partial, table)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _write_csv(path: Path, table: list[list[CellValue]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([c.zh for c in _EXPORT_COLUMNS])
        for row in table:
            writer.writerow([_export_text(v) for v in row])


def _write_xlsx(path: Path, table: list[list[CellValue]]) -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("proposals")
    sheet.freeze_panes = "A2"
    sheet.append([c.zh for c in _EXPORT_COLUMNS])
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
