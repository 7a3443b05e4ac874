"""Tests for bot.files: the one text decoder and the format signatures, through both of their callers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.files.decoding import UndecodableText, decode_text
from bot.files.magic import OLE_MAGIC
from bot.letters.documents import DocumentError, read_document
from bot.spreadsheets.columns import SpreadsheetError
from bot.spreadsheets.read import read_rows

TEXT = "地区,机构,届,次,编号,标题\n长宁区,人大,17,5,018,关于高标准打造“上海硅巷”科创街区的建议\n"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode(),
        b"\xef\xbb\xbf" + TEXT.encode(),
        TEXT.encode("utf-16"),
        TEXT.encode("utf-16-le"),
        TEXT.encode("utf-16-be"),
        TEXT.encode("utf-32"),
        TEXT.encode("gb18030"),
        TEXT.replace("\n", "\r\n").encode("gb18030"),
    ],
    ids=["utf8", "utf8-bom", "utf16", "utf16-le", "utf16-be", "utf32", "gb18030", "gb18030-crlf"],
)
def test_decode_text_supported_encoding_gives_same_text(data: bytes) -> None:
    assert decode_text(data) == TEXT


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"ab\x00\x00cd\x00e\x00f", "binary"),
        ("答复\x00\x00".encode(), "binary"),
        (b"\x01\x02\x03\x04" * 40, "binary"),
        (bytes(range(0x80, 0x100)) * 4, "undecodable"),
        (b"\xef\xbb\xbf\xff\xfe", "undecodable"),
        ("  \n\t".encode("utf-16"), "empty"),
    ],
    ids=["nul-both-parities", "nul-in-utf8", "controls", "high-bytes", "bad-after-bom", "whitespace"],
)
def test_decode_text_not_text_refused_with_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UndecodableText) as caught:
        decode_text(data)
    assert caught.value.reason == reason


def test_decode_text_gb18030_of_rare_characters_refused_as_undecodable() -> None:
    """Random bytes decode as GB18030 too, but into characters outside GB2312."""
    with pytest.raises(UndecodableText) as caught:
        decode_text("䶮䶯䶰䶱䶲䶳䶴䶵龦龧".encode("gb18030"))
    assert caught.value.reason == "undecodable"


@pytest.mark.parametrize("data", [TEXT.encode("utf-16"), TEXT.encode("gb18030")], ids=["utf16", "gb18030"])
def test_decode_text_letters_and_sheets_both_accept(data: bytes) -> None:
    assert read_document("letter.txt", data) == TEXT
    assert read_rows("items.csv", data)[0].values["number"] == "018"


@pytest.mark.parametrize(
    "data",
    [b"ab\x00\x00cd\x00e\x00f" * 4, bytes(range(0x80, 0x100)) * 4, "䶮䶯䶰䶱䶲䶳䶴䶵龦龧".encode("gb18030")],
    ids=["nul", "high-bytes", "implausible-gb18030"],
)
def test_decode_text_letters_and_sheets_both_refuse(data: bytes) -> None:
    with pytest.raises(DocumentError) as letter:
        read_document("letter.txt", data)
    assert letter.value.code == "binary"
    with pytest.raises(SpreadsheetError, match=r"not a text CSV|cannot decode"):
        read_rows("items.csv", data)


def test_ole_container_refused_by_letters_and_sheets() -> None:
    data = OLE_MAGIC + b"\x00" * 100
    with pytest.raises(DocumentError) as letter:
        read_document("letter.doc", data)
    assert letter.value.code == "unknown_type"
    with pytest.raises(SpreadsheetError, match=r"legacy \.xls"):
        read_rows("items.xls", data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_decode_text_arbitrary_bytes_give_text_or_undecodable(data: bytes) -> None:
    try:
        text = decode_text(data)
    except UndecodableText:
        return
    assert "\r" not in text
    assert text.strip()
