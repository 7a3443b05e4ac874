"""Chinese numerals as letters and import sheets print them, for terms, sittings and dates (届, 次, 年月日).

One parser for both: 十五, 一十五 and 一五 (digit by digit, as in 二〇二四年) are all 15. Callers normalize first:
full-width digits are not numerals here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["NUMERAL_CHARS", "parse_chinese_number"]

_ZEROS: Final = "零〇Oo0"  # O and o: a zero typed as a letter, as in 二O二四年
_DIGITS: Final[Mapping[str, int]] = MappingProxyType(
    {
        **dict.fromkeys(_ZEROS, 0),
        **{str(i): i for i in range(10)},
        **dict(zip("一二三四五六七八九", range(1, 10), strict=True)),
        "两": 2,
    }
)
#: The Chinese characters a numeral is written with, for building patterns (ASCII digits not included).
NUMERAL_CHARS: Final = "零〇一二两三四五六七八九十百"


def parse_chinese_number(text: str) -> int | None:
    """17, 十七, 一十七, 二十一, 一百零五, 一百五 (150) or 一七 (digit by digit) as an int; None when not a number."""
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return int(text) if text.isascii() else None
    if all(ch in _DIGITS for ch in text):
        return int("".join(str(_DIGITS[ch]) for ch in text))
    return _positional(text)


def _digit(text: str) -> int | None:
    """A single non-zero digit, or None."""
    value = _DIGITS.get(text) if len(text) == 1 else None
    return value or None


def _positional(text: str) -> int | None:
    """A numeral with 百 and 十 in their places: [d]百, then 零d, or [d]十[d], or a bare d (一百五 = 150)."""
    total = 0
    rest = text
    head, hundred, tail = rest.partition("百")
    if hundred:
        digit = _digit(head) if head else 1
        if digit is None:
            return None
        total, rest = digit * 100, tail
        if rest[:1] and rest[0] in _ZEROS:  # 一百零五: the zero stands for the missing tens
            units = _digit(rest[1:])
            return None if units is None else total + units
        if len(rest) == 1 and rest != "十":  # 一百五: the tens are understood
            units = _digit(rest)
            return None if units is None else total + units * 10
    head, ten, tail = rest.partition("十")
    if ten:
        digit = _digit(head) if head else 1
        if digit is None:
            return None
        total, rest = total + digit * 10, tail
    if not rest:
        return total if hundred or ten else None
    units = _digit(rest)
    return None if units is None else total + units
