"""Telegram-flavoured HTML: the parser that turns a message's text into plain text and MessageEntity dicts.

It follows Telegram's own parser (the supported tags, their attributes, the character references decoded, the
wording and byte offsets of "can't parse entities"), so a text the sandbox accepts is one Telegram accepts.
Offsets and lengths are in UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Any, TypeAlias

__all__ = ["EntityParseError", "parse_html", "utf16_len"]

JSONDict: TypeAlias = dict[str, Any]


class EntityParseError(ValueError):
    """Telegram's "can't parse entities" error for malformed HTML."""


_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "tg-spoiler",
        "span",
        "blockquote",
        "tg-emoji",
    }
)
_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "a": "text_link",
}
_HTML_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8})|(lt|gt|amp|quot));")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# Looked up once: str.encode finds a codec other than UTF-8 by name on every call, which costs more than
# encoding a short chunk.
_ENCODE_UTF16 = codecs.getencoder("utf-16-le")
# The parser jumps from one "<" or "&" to the next; the text between is copied as it is. In str patterns
# ``\s`` is exactly ``str.isspace`` and ``\w`` is ``str.isalnum`` plus "_", the tests Telegram's parser uses.
_MARKUP_RE = re.compile(r"[<&]")
_SPACES_RE = re.compile(r"\s*")
_START_TAG_RE = re.compile(r"<([^\s>]*)(\s*>)?")
_END_TAG_RE = re.compile(r"</([^\s>]*)\s*")
_ATTR_NAME_RE = re.compile(r"[\w-]*")
_BARE_VALUE_RE = re.compile(r"(?:[^\W_]|[.-])*")


@dataclass(slots=True)
class _OpenTag:
    name: str
    attrs: dict[str, str]
    start: int
    language: str | None = None


def utf16_len(text: str) -> int:
    """The length of ``text`` in UTF-16 code units, the unit of the Bot API's entity offsets."""
    # CPython knows whether a string is ASCII without looking at it; only other text needs encoding to count.
    # A lone surrogate raises UnicodeEncodeError, as str.encode does.
    return len(text) if text.isascii() else len(_ENCODE_UTF16(text)[0]) // 2


def _decode_entity_at(source: str, i: int) -> tuple[str, int] | None:
    match = _HTML_ENTITY_RE.match(source, i)
    if match is None:
        return None
    return _decode_entity(match)


def _decode_entity(match: re.Match[str]) -> tuple[str, int] | None:
    decimal, hexadecimal, named = match.groups()
    if named is not None:
        return _NAMED_ENTITIES[named], match.end()
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def _replace_entity(match: re.Match[str]) -> str:
    decoded = _decode_entity(match)
    return match[0] if decoded is None else decoded[0]


def _unescape(value: str) -> str:
    """Decode the character references in an attribute value; an invalid one (``&#0;``) stays as written.

    A reference holds a single "&", so a match that is left alone can hide no other reference.
    """
    if "&" not in value:
        return value
    return _HTML_ENTITY_RE.sub(_replace_entity, value)


def _span_end(pattern: re.Pattern[str], source: str, pos: int) -> int:
    """Where the run of ``pattern`` starting at ``pos`` ends (``pattern`` matches the empty string too)."""
    match = pattern.match(source, pos)
    return pos if match is None else match.end()


def _byte_offset(source: str, pos: int) -> int:
    """Telegram reports positions in UTF-8 bytes; only error messages need them."""
    return len(source[:pos].encode("utf-8"))


def parse_html(source: str) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-flavoured HTML into plain text and MessageEntity dicts (UTF-16 offsets).

    Follows Telegram's parser: only the supported tags are accepted, every tag must be closed in order, a bare
    ``<`` is an error, and only ``&lt; &gt; &amp; &quot;`` and numeric character references are decoded (any
    other ``&`` is literal). Raises EntityParseError with Telegram's wording on malformed input.
    """
    out: list[str] = []
    length = 0
    stack: list[_OpenTag] = []
    entities: list[JSONDict] = []
    n = len(source)
    i = 0
    while i < n:
        # The text up to the next "<" or "&" goes out in one piece.
        found = _MARKUP_RE.search(source, i)
        j = n if found is None else found.start()
        if j > i:
            text = source[i:j]
            out.append(text)
            length += utf16_len(text)
            i = j
            if i == n:
                break
        if source[i] == "&":
            decoded = _decode_entity_at(source, i)
            text, i = ("&", i + 1) if decoded is None else decoded
            out.append(text)
            length += utf16_len(text)
            continue

        begin = i
        end_tag = _END_TAG_RE.match(source, i)
        if end_tag is not None:
            name = end_tag[1].lower()
            j = end_tag.end()
            if j >= n or source[j] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(source, begin)}")
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(source, begin)}")
            top = stack.pop()
            if name != top.name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {_byte_offset(source, begin)}, expected "</{top.name}>", '
                    f'found "</{name}>"'
                )
            _close_tag(top, length, stack, entities)
            i = j + 1
            continue

        start_tag = _START_TAG_RE.match(source, i)
        assert start_tag is not None  # the pattern matches any "<"
        name = start_tag[1].lower()
        if name not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, begin)}')
        attrs: dict[str, str] = {}
        if start_tag[2] is not None:
            i = start_tag.end()  # no attributes: what _parse_attributes would find, without the call
        else:
            attrs, i = _parse_attributes(source, start_tag.end(1), name, begin)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(source, begin)}'
            )
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise EntityParseError(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {_byte_offset(source, begin)}'
            )
        stack.append(_OpenTag(name, attrs, length))

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _unclosed_start_tag(source: str, begin: int) -> EntityParseError:
    return EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")


def _parse_attributes(source: str, j: int, tag: str, begin: int) -> tuple[dict[str, str], int]:
    """Parse ``attr="value" ...>`` starting at ``j``; return the attributes and the index after ``>``.

    ``begin`` is where the tag starts, for the error messages.
    """
    n = len(source)
    attrs: dict[str, str] = {}
    while True:
        j = _span_end(_SPACES_RE, source, j)
        if j >= n:
            raise _unclosed_start_tag(source, begin)
        if source[j] == ">":
            return attrs, j + 1
        k = _span_end(_ATTR_NAME_RE, source, j)
        attr = source[j:k].lower()
        if not attr:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {_byte_offset(source, begin)}'
            )
        j = _span_end(_SPACES_RE, source, k)
        if j >= n:
            raise _unclosed_start_tag(source, begin)
        if source[j] != "=":
            if tag == "blockquote" and attr == "expandable":
                attrs[attr] = ""
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" at byte offset '
                f"{_byte_offset(source, begin)}"
            )
        j = _span_end(_SPACES_RE, source, j + 1)
        if j >= n:
            raise _unclosed_start_tag(source, begin)
        if source[j] in "\"'":
            end = source.find(source[j], j + 1)
            if end < 0:
                raise _unclosed_start_tag(source, begin)
            attrs[attr] = _unescape(source[j + 1 : end])
            j = end + 1
        else:
            k = _span_end(_BARE_VALUE_RE, source, j)
            if k == j:
                raise _unclosed_start_tag(source, begin)
            attrs[attr] = source[j:k]
            j = k


def _close_tag(tag: _OpenTag, end: int, stack: list[_OpenTag], entities: list[JSONDict]) -> None:
    size = end - tag.start
    if tag.name == "code" and stack and stack[-1].name == "pre":
        language = tag.attrs.get("class", "")
        if language.startswith("language-"):
            # <pre><code class="language-x"> is one pre entity with a language, as in Telegram.
            stack[-1].language = language.removeprefix("language-")
            return
    if size <= 0:
        return
    entity: JSONDict = {"type": _ENTITY_TYPES[tag.name], "offset": tag.start, "length": size}
    if tag.name == "a":
        href = tag.attrs.get("href")
        if not href:
            return
        entity["url"] = href
    elif tag.name == "pre" and tag.language:
        entity["language"] = tag.language
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs["emoji-id"]
    entities.append(entity)
