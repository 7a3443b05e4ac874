"""The import sheet's vocabulary: its columns, the typed fields they fill, what a cell holds, the errors.

One list of columns for reading, validating and writing (``read``, ``validate``, ``write``); storage never names them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Final

from bot.files import MAX_BYTES

__all__ = [
    "BODIES",
    "BY_KEY",
    "COLUMNS",
    "EXPORT_ONLY_COLUMNS",
    "KINDS",
    "MAX_BYTES",
    "MAX_ROWS",
    "REQUIRED",
    "CellValue",
    "Column",
    "ItemColumns",
    "Notice",
    "SpreadsheetError",
    "cell_text",
    "is_blank",
]

MAX_ROWS: Final = 100_000
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
#: Written by exports after the import columns; read-only: recognised on import, never stored, reported as ignored.
EXPORT_ONLY_COLUMNS: Final[tuple[Column, ...]] = (
    Column("due_on", "答复期限", "due_on"),
    Column("state", "状态", "state"),
    Column("days_overdue", "逾期天数", "days_overdue"),
    Column("result_class", "办理结果类别", "result_class", ("办理结果", "答复类别")),
    Column("replied_on", "答复日期", "replied_on"),
    Column("rating", "满意度", "rating", ("代表评价",)),
)
REQUIRED: Final[tuple[str, ...]] = ("region", "body", "term", "sitting", "number", "title")
BODIES: Final[tuple[str, ...]] = ("人大", "政协")
KINDS: Final[tuple[str, ...]] = ("代表建议", "议案", "政协提案")
#: Each column by its field name.
BY_KEY: Final[Mapping[str, Column]] = {c.key: c for c in COLUMNS + EXPORT_ONLY_COLUMNS}


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


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def cell_text(value: CellValue) -> str:
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


def is_blank(value: CellValue) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())
