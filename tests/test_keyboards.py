"""The cached inline keyboards serialise exactly as PTB's own, and never leak a change between sends."""

from __future__ import annotations

import json

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.render.cards import Button, Rendered
from bot.telegram.keyboards import Keyboard, keyboard

ROWS = (
    (Button("长宁区人大第17届第5次会议 · 第018号", "card:98175"),),
    (Button("时间线", "tl:1"), Button("答复全文", "full:1")),
)


def _plain(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows])


def test_keyboard_serialises_like_ptb_and_compares_equal() -> None:
    cached, plain = Keyboard(ROWS), _plain(ROWS)
    assert cached.to_dict() == plain.to_dict()
    assert cached == plain
    assert cached.inline_keyboard == plain.inline_keyboard


def test_keyboard_goes_on_the_wire_as_ptb_would_send_it() -> None:
    def wire(markup: InlineKeyboardMarkup) -> str:
        return RequestData([RequestParameter.from_input("reply_markup", markup)]).json_parameters["reply_markup"]

    assert json.loads(wire(Keyboard(ROWS))) == json.loads(wire(_plain(ROWS)))


def test_keyboard_is_built_once_per_button_set_and_none_without_buttons() -> None:
    first = keyboard(Rendered("a", ROWS))
    assert first is keyboard(Rendered("b", ROWS))
    assert first is not keyboard(Rendered("a", ROWS[:1]))
    assert keyboard(Rendered("no buttons")) is None


def test_a_changed_dict_does_not_change_the_next_send() -> None:
    markup = Keyboard(ROWS)
    changed = markup.to_dict()
    changed["inline_keyboard"] = []
    changed["extra"] = 1
    assert markup.to_dict() == _plain(ROWS).to_dict()
