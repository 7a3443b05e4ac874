"""Validating import rows: raw cells into typed ``ImportRow`` values, every problem a ``RowError`` naming its line, so
that the caller can name every bad row at once and store nothing.

A row with a lead unit but no 交办日期, or the reverse, is valid: the item stays a draft without a due day
until both are known (``ImportRow.assignable`` tells which rows get a clock; ``bot.services.imports`` decides what to
store).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from openpyxl.utils.datetime import from_excel

from bot.domain.lookup import MAX_DIGITS, number_key
from bot.domain.numerals import NUMERAL_CHARS, parse_chinese_number
from bot.spreadsheets.columns import BY_KEY, REQUIRED, CellValue, ItemColumns, cell_text, is_blank
from bot.spreadsheets.read import RawRow

__all__ = ["ImportRow", "RowError", "validate"]

# Length limits of the database columns, checked here so PostgreSQL never rejects a row half-way.
_MAX_REGION: Final = 64
_MAX_NAME: Final = 64
_MAX_UNIT: Final = 128


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportRow(ItemColumns):
    """One valid item from an import file, with typed fields. Names and units are deduplicated.

    ``given`` names the fields whose cell is filled in: a merge keeps the stored value of every other field
    (``bot.spreadsheets.merge``). ``numeric_number`` says the 编号 cell was a number, not text (an .xlsx cell
    holding ``81`` where the sheet printed ``081``), so its leading zeros may be lost.
    """

    line: int
    given: frozenset[str] = frozenset()
    numeric_number: bool = False

    @property
    def number_key(self) -> str:
        return number_key(self.number)

    @property
    def assignable(self) -> bool:
        """Whether the item gets a clock: it needs both a lead unit and an assigned day."""
        return self.lead_unit is not None and self.assigned_on is not None


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
            column = BY_KEY[key]
            errors.append(RowError(raw.line, f"{column.zh}：{bad.zh}", f"{column.en}: {bad.en}"))
            return None

    for key in REQUIRED:
        if is_blank(values.get(key)):
            column = BY_KEY[key]
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
    raw_number = values.get("number")
    return (
        ImportRow(
            line=raw.line,
            given=frozenset(k for k, v in values.items() if not is_blank(v)),
            numeric_number=isinstance(raw_number, int | float) and not isinstance(raw_number, bool),
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


def _optional_text(value: CellValue) -> str | None:
    return cell_text(value) or None


def _limited(text: str | None, limit: int) -> str | None:
    if text is not None and len(text) > limit:
        raise _Bad(f"超过 {limit} 个字", f"longer than {limit} characters")
    return text


def _folded(value: CellValue) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", cell_text(value))).casefold()


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
    if is_blank(value):
        return None
    body = _BODY_NAMES.get(_folded(value))
    if body is None:
        raise _Bad(f"应为“人大”或“政协”，而不是“{cell_text(value)}”", f"must be 人大 or 政协, not {cell_text(value)!r}")
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
    if is_blank(value):
        return "政协提案" if body == "政协" else "代表建议"
    kind = _KIND_NAMES.get(_folded(value))
    if kind is None:
        raise _Bad(
            f"应为 代表建议、议案 或 政协提案，而不是“{cell_text(value)}”",
            f"must be 代表建议, 议案 or 政协提案, not {cell_text(value)!r}",
        )
    if body is not None and (body == "政协") != (kind == "政协提案"):
        raise _Bad(f"“{kind}”与机构“{body}”不符", f"{kind} does not match the body {body}")
    return kind


_ORDINAL = re.compile(rf"^第?(?P<n>[0-9]+|[{NUMERAL_CHARS}]+)(?:届|次)?(?:会议)?$")


def _positive_int(value: CellValue) -> int | None:
    if is_blank(value):
        return None
    bad = _Bad(
        f"应为正整数（如 17 或 十七），而不是“{cell_text(value)}”",
        f"must be a positive integer, not {cell_text(value)!r}",
    )
    if isinstance(value, bool):
        raise bad
    if isinstance(value, int | float):
        if not float(value).is_integer() or not 0 < value < 1000:
            raise bad
        return int(value)
    match = _ORDINAL.match(re.sub(r"\s+", "", unicodedata.normalize("NFKC", cell_text(value))))
    if match is None:
        raise bad
    number = parse_chinese_number(match.group("n"))
    if number is None or not 0 < number < 1000:
        raise bad
    return number


def _number(value: CellValue) -> str | None:
    if is_blank(value):
        return None
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", cell_text(value)))
    text = re.sub(r"^(?:第|no\.?|#)", "", text, flags=re.IGNORECASE).removesuffix("号")
    if not re.fullmatch(r"[0-9]+", text):
        raise _Bad(f"只能是数字，而不是“{cell_text(value)}”", f"must be digits only, not {cell_text(value)!r}")
    if len(text) > MAX_DIGITS:
        raise _Bad(f"超过 {MAX_DIGITS} 位", f"longer than {MAX_DIGITS} digits")
    return text


_NAME_SEPARATORS = re.compile(r"[、;,；，\r\n]+")


def _names(value: CellValue, limit: int) -> tuple[str, ...]:
    names: list[str] = []
    for part in _NAME_SEPARATORS.split(cell_text(value)):
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
    if is_blank(value):
        return None
    day: date
    if isinstance(value, datetime):
        day = value.date()
    elif isinstance(value, date):
        day = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not _SERIAL_RANGE[0] <= value <= _SERIAL_RANGE[1]:
            raise _Bad(f"不是日期：{cell_text(value)}", f"not a date: {cell_text(value)}")
        day = from_excel(value).date()
    else:
        text = unicodedata.normalize("NFKC", cell_text(value)).strip()
        match = _DATE.match(text) or _COMPACT_DATE.match(text)
        if match is None:
            raise _Bad(
                f"日期格式无法识别：“{cell_text(value)}”（请用 2024-01-29、2024/1/29 或 2024年1月29日）",
                f"unrecognised date {cell_text(value)!r} (use 2024-01-29, 2024/1/29 or 2024年1月29日)",
            )
        try:
            day = date(int(match["y"]), int(match["m"]), int(match["d"]))
        except ValueError as exc:
            raise _Bad(f"日期不存在：{cell_text(value)}", f"no such date: {cell_text(value)}") from exc
    if not _MIN_YEAR <= day.year <= _MAX_YEAR:
        raise _Bad(f"日期超出范围：{day.isoformat()}", f"date out of range: {day.isoformat()}")
    return day


_YES: Final = frozenset({"是", "y", "yes", "true", "1", "√", "✓", "重点", "重点督办"})
_NO: Final = frozenset({"否", "n", "no", "false", "0", "×", "✗", "-"})


def _flag(value: CellValue) -> bool:
    if is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    folded = _folded(value)
    if folded in _YES:
        return True
    if folded in _NO:
        return False
    raise _Bad(f"应为“是”或“否”，而不是“{cell_text(value)}”", f"must be yes or no (是/否), not {cell_text(value)!r}")
