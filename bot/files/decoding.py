"""Text files as government systems write them: UTF-8 (with or without BOM), UTF-16 (with or without BOM), UTF-32
(with BOM) or GB18030 (a superset of GBK), refused with a reason when they are none of these.

One decoder for reply letters (.txt) and import sheets (.csv). Line ends come back as ``\\n``.
"""

from __future__ import annotations

import unicodedata
from typing import Final, Literal

__all__ = ["UndecodableReason", "UndecodableText", "decode_text"]

UndecodableReason = Literal["binary", "undecodable", "empty"]

_SAMPLE_CHARS: Final = 200_000  # enough to judge an encoding; a 10 MB file need not be scanned to the end


class UndecodableText(Exception):
    """Bytes that are not text: ``binary`` (NUL bytes, control or unassigned characters), ``undecodable`` (no
    supported encoding fits) or ``empty`` (nothing but whitespace). ``detail`` says what was found."""

    def __init__(self, reason: UndecodableReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: UndecodableReason = reason
        self.detail = detail


def decode_text(data: bytes) -> str:
    """The text of ``data``; raises :class:`UndecodableText`.

    A BOM decides the encoding; without one, NUL bytes on one parity mean UTF-16, else UTF-8, else GB18030 when the
    result looks like Chinese. Text with more than 1% control or unassigned characters is refused as binary.
    """
    text: str | None = None
    try:
        if data.startswith(b"\xef\xbb\xbf"):
            text = data[3:].decode("utf-8")
        elif data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
            text = data.decode("utf-32")
        elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16")
    except UnicodeDecodeError as exc:
        raise UndecodableText("undecodable", str(exc)) from exc
    if text is None and b"\x00" in data:
        text = _utf16_without_bom(data)
        if text is None:
            raise UndecodableText("binary", "NUL bytes")
    if text is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_gb18030(data)
    if _garbage_ratio(text[:_SAMPLE_CHARS]) > 0.01:
        raise UndecodableText("binary", "control or unassigned characters")
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    if not text.strip():
        raise UndecodableText("empty", "only whitespace")
    return text


def _decode_gb18030(data: bytes) -> str:
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise UndecodableText("undecodable", str(exc)) from exc
    if not _plausible_chinese(text):
        raise UndecodableText("undecodable", "not plausible GB18030 text")
    return text


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without a BOM: its NUL bytes (the high byte of ASCII characters) all sit on one parity."""
    if len(data) % 2:
        return None
    odd = data[1::2].count(0)
    even = data[0::2].count(0)
    if odd and not even:
        encoding = "utf-16-le"
    elif even and not odd:
        encoding = "utf-16-be"
    else:
        return None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def _garbage_ratio(text: str) -> float:
    if not text:
        return 0.0
    bad = sum(1 for ch in text if ch not in "\t\n\r\f\v" and unicodedata.category(ch) in ("Cc", "Co", "Cn", "Cs"))
    return bad / len(text)


def _plausible_chinese(text: str) -> bool:
    """Random bytes often decode as GB18030 too, but mostly into rare characters outside GB2312."""
    wide = [ch for ch in text[:_SAMPLE_CHARS] if ord(ch) > 0x7F]
    if len(wide) < 8:
        return True
    common = 0
    for ch in wide:
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            continue
        common += 1
    return common >= 0.9 * len(wide)
