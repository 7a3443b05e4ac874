"""Tests for bot.domain.ratings: the result classes and the deputy's ratings, one vocabulary for every caller."""

from __future__ import annotations

import pytest

from bot.domain.lifecycle import Action, State, next_state
from bot.domain.ratings import RATING_BY_CODE, RESULT_CLASSES, Rating, is_tracking, result_class
from bot.render.i18n import t
from bot.render.pushes import rating_buttons, render_push


@pytest.mark.parametrize(
    ("text", "expected"), [("A", "A"), (" b ", "B"), ("d", "D"), ("E", None), ("AB", None), ("", None)]
)
def test_result_class_bare_letter_gives_class(text: str, expected: str | None) -> None:
    assert result_class(text) == expected


def test_result_class_none_gives_none() -> None:
    assert result_class(None) is None


@pytest.mark.parametrize("cls", RESULT_CLASSES)
def test_is_tracking_only_b_class_tracks(cls: str) -> None:
    assert is_tracking(cls) is (cls == "B")
    assert is_tracking(cls.lower()) is (cls == "B")


def test_rating_codes_round_trip_and_are_distinct() -> None:
    assert {r.code: r for r in Rating} == dict(RATING_BY_CODE)
    assert len(RATING_BY_CODE) == len(Rating) == 3


def test_rating_values_are_the_printed_words() -> None:
    assert [r.value for r in Rating] == ["满意", "基本满意", "不满意"]


@pytest.mark.parametrize("rating", list(Rating))
def test_rating_every_rating_is_a_legal_rate_and_has_a_label(rating: Rating) -> None:
    assert next_state(State.replied, Action.rate, rating=rating.value) in {State.closed, State.rehandling}
    for lang in ("zh", "en"):
        assert t(lang, f"rating.{rating.value}") != f"rating.{rating.value}"


def test_rating_buttons_carry_every_code_in_order() -> None:
    buttons = rating_buttons(7, "zh")
    assert [b.data for b in buttons] == ["rate:7:s", "rate:7:b", "rate:7:u"]
    assert [b.label for b in buttons] == ["满意", "基本满意", "不满意"]


def test_feedback_request_push_has_the_rating_buttons() -> None:
    rendered = render_push("feedback_request", {"params": {"reply_id": 7}}, "en")
    assert rendered.buttons == (rating_buttons(7, "en"),)
