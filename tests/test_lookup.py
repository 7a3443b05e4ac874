"""Item numbers as people type them (table), and a fuzz: the parser never raises and agrees with storage."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.lookup import Lookup, number_key, parse_lookup, parse_sitting


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("018", Lookup("018", "18")),
        ("18", Lookup("18", "18")),
        ("第018号", Lookup("018", "18")),
        ("第 018 号", Lookup("018", "18")),
        ("17-5-018", Lookup("018", "18", 17, 5)),
        ("17/5/18", Lookup("18", "18", 17, 5)),
        ("０１８", Lookup("018", "18")),
        ("No. 18", Lookup("18", "18")),
        ("#18", Lookup("18", "18")),
        ("第18号建议", Lookup("18", "18")),
        ("000", Lookup("000", "0")),
    ],
)
def test_lookup_accepted_forms(text: str, expected: Lookup) -> None:
    assert parse_lookup(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "18 19", "1234567890123", "第号", "17-5", "<b>1</b>", "18' OR 1=1"])
def test_lookup_rejected_forms(text: str) -> None:
    assert parse_lookup(text) is None


@given(st.text(max_size=60))
def test_lookup_never_raises_and_keys_are_digits(text: str) -> None:
    result = parse_lookup(text)
    if result is not None:
        assert result.number_key.isdigit()
        assert result.number_key == number_key(result.number)


@given(st.integers(min_value=0, max_value=10**7), st.integers(min_value=0, max_value=4))  # at most 12 digits
def test_lookup_padding_does_not_change_the_key(n: int, zeros: int) -> None:
    padded = "0" * zeros + str(n)
    result = parse_lookup(padded)
    assert result is not None
    assert result.number_key == str(n)
    # storage computes the same key when it writes a card (storage/cards.py)
    assert result.number_key == (padded.lstrip("0") or "0")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17-5", (17, 5)),
        (" 17 - 5 ", (17, 5)),
        ("１７－５", (17, 5)),
        ("17/4", (17, 4)),
        ("17", None),
        ("17-5-018", None),
    ],
)
def test_lookup_parse_sitting_reads_term_and_sitting(text: str, expected: tuple[int, int] | None) -> None:
    assert parse_sitting(text) == expected
