"""Tests for bot.domain.numerals: the one Chinese-numeral parser that letters and import sheets share."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.numerals import parse_chinese_number

_D = "〇一二三四五六七八九"


def writings(n: int) -> set[str]:
    """Every usual way to write 1 ≤ n ≤ 999: positional (with the 一十 and 两 variants) and digit by digit."""
    h, t, u = n // 100, n // 10 % 10, n % 10
    tens = ""
    if t:
        tens = _D[t] + "十" + (_D[u] if u else "")
    out = set()
    if h == 0:
        if t == 0:
            out.add(_D[u])
        else:
            out.add(tens)
            if t == 1:
                out.add(tens.removeprefix("一"))  # 十五
    else:
        for lead in {_D[h], "两"} if h == 2 else {_D[h]}:
            head = lead + "百"
            if t == 0 and u == 0:
                out.add(head)
            elif t == 0:
                out.update({head + "零" + _D[u], head + "〇" + _D[u]})
            else:
                out.add(head + tens)
                if t == 1:
                    out.add(head + tens.removeprefix("一"))  # 一百十五
                if u == 0:
                    out.add(head + _D[t])  # 一百五: the tens are understood
    digits = str(n)
    out.add("".join(_D[int(d)] for d in digits))
    out.add("".join("零" if d == "0" else _D[int(d)] for d in digits))
    return out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17", 17),
        ("十七", 17),
        ("十", 10),
        ("二十一", 21),
        ("五", 5),
        ("一百零五", 105),
        ("一百五", 150),
        ("一百十", 110),
        ("一五", 15),
        ("十五", 15),
        ("一十五", 15),
        ("两百", 200),
        ("二〇二四", 2024),
        ("二O二四", 2024),
        (" 十七 ", 17),
    ],
)
def test_parse_chinese_number_numeral_gives_int(text: str, expected: int) -> None:
    assert parse_chinese_number(text) == expected


@pytest.mark.parametrize(
    "text", ["", "十十", "十十x", "abc", "１７", "十百", "零十五", "二十零", "一百零五十", "五十五十"]
)
def test_parse_chinese_number_garbage_gives_none(text: str) -> None:
    assert parse_chinese_number(text) is None


def test_writings_cover_the_usual_forms() -> None:
    assert writings(15) == {"十五", "一十五", "一五"}
    assert writings(105) == {"一百零五", "一百〇五", "一〇五", "一零五"}


@given(st.integers(min_value=1, max_value=999))
def test_parse_chinese_number_every_writing_of_n_gives_n(n: int) -> None:
    assert {w: parse_chinese_number(w) for w in writings(n)} == dict.fromkeys(writings(n), n)
