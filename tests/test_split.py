"""split_message: long HTML texts cut under Telegram's limit, never inside a tag or an entity."""

from __future__ import annotations

import html

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render.cards import split_message
from bot.sandbox.markup import parse_html

_WORDS = st.sampled_from(["第018号", "长宁区", "A&B", "<x>", "科学技术委员会", " ", "\n", "答复", "🌟", "1 < 2"])
_TAGS = st.sampled_from(["b", "i", "u", "code", "s"])


@st.composite
def _html(draw: st.DrawFn) -> str:
    """HTML as the bot writes it: escaped values, some in tags, some links, lines of any length."""
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 40))):
        text = html.escape("".join(draw(st.lists(_WORDS, min_size=1, max_size=30))))
        kind = draw(st.integers(0, 3))
        if kind == 1:
            tag = draw(_TAGS)
            text = f"<{tag}>{text}</{tag}>"
        elif kind == 2:
            text = f'<a href="https://example.org/?a=1&amp;b=2">{text}</a>'
        elif kind == 3:
            text = f"<b>{text}<i>{text}</i></b>"
        parts.append(text)
    return "".join(parts)


@settings(max_examples=200, deadline=None)
@given(text=_html(), limit=st.integers(80, 400))
def test_split_message_any_html_gives_valid_chunks_under_the_limit_with_the_same_text(text: str, limit: int) -> None:
    chunks = split_message(text, limit)
    assert all(len(chunk) <= limit for chunk in chunks)
    plain = "".join(parse_html(chunk)[0] for chunk in chunks)  # each chunk parses on its own
    assert plain == parse_html(text)[0]


def test_split_message_one_very_long_line_never_cuts_an_entity() -> None:
    line = "<b>" + "甲&amp;乙&#39;" * 2000 + "</b>"
    chunks = split_message(line)
    assert len(chunks) > 1
    for chunk in chunks:
        assert len(chunk) <= 4096
        assert chunk.startswith("<b>") and chunk.endswith("</b>")
        parse_html(chunk)


def test_split_message_prefers_line_breaks() -> None:
    text = "\n".join(f"第{i:03d}号 " + "长" * 30 for i in range(300))
    chunks = split_message(text, 1000)
    assert all(chunk.endswith("\n") for chunk in chunks[:-1])
    assert "".join(chunks) == text


def test_split_message_short_text_is_one_chunk() -> None:
    assert split_message("<b>018</b>") == ["<b>018</b>"]
