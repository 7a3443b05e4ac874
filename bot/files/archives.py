"""ZIP packages (.docx and .xlsx) measured before any reader parses them: a zip bomb is refused before it inflates.

A 750 KB .docx can hold 200 MB of XML; python-docx and openpyxl would inflate and parse all of it (minutes and
gigabytes). The check reads the archive's directory first: the entry count in its end record (so a directory of a
million entries is never built), then the sum of the declared uncompressed sizes. Declared sizes alone are not a
bound: :mod:`zipfile` truncates an entry to its declared size, but only after inflating the whole compressed chunk
it read (``ZipFile.read`` of a 4 KB entry that really holds 200 MB takes 460 MB). So each entry is then inflated
in bounded steps, never holding more than one step, and refused the moment it gives more than it declared; the
work is bounded by the limit itself. After the check, every entry is known to hold at most what it declares.

The one home of this check; the letter readers (``bot.letters.documents``) and the sheet reader
(``bot.spreadsheets.read``) call it and turn a refusal into their own error.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from config.settings import Settings

__all__ = ["DEFAULT_LIMITS", "ArchiveLimits", "ArchiveRefusal", "ArchiveRefused", "check_archive"]

#: The end-of-central-directory record: signature, disk numbers, entries on this disk, entries in all, sizes.
_END_RECORD: Final = b"PK\x05\x06"
_END_RECORD_SIZE: Final = 22
_MAX_COMMENT: Final = 0xFFFF
_LOCAL_HEADER: Final = b"PK\x03\x04"
_LOCAL_HEADER_SIZE: Final = 30
_IN_STEP: Final = 64 * 1024  # compressed bytes fed at a time
_OUT_STEP: Final = 1024 * 1024  # the most one step inflates


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """How much a ZIP package may unpack to, in all, and how many entries it may have."""

    max_unpacked_bytes: int = 50 * 1024 * 1024
    max_entries: int = 10_000

    @classmethod
    def of(cls, settings: Settings) -> ArchiveLimits:
        """The limits configured (``PROPOSAL_BOT_ARCHIVE_MAX_BYTES``, ``PROPOSAL_BOT_ARCHIVE_MAX_ENTRIES``)."""
        return cls(max_unpacked_bytes=settings.archive_max_bytes, max_entries=settings.archive_max_entries)


DEFAULT_LIMITS: Final = ArchiveLimits()

ArchiveRefusal = Literal["too_many_entries", "too_large_unpacked", "corrupt"]


class ArchiveRefused(Exception):
    """A ZIP package refused before parsing: ``too_many_entries``, ``too_large_unpacked`` or ``corrupt``."""

    def __init__(self, reason: ArchiveRefusal, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: ArchiveRefusal = reason
        self.detail = detail


def check_archive(data: bytes, limits: ArchiveLimits = DEFAULT_LIMITS) -> frozenset[str]:
    """The entry names of the ZIP package ``data`` once it is within ``limits``; raises :class:`ArchiveRefused`.

    Nothing is held inflated: entries are inflated step by step only to count what they really hold.
    """
    declared = _declared_entries(data)
    if declared is not None and declared > limits.max_entries:
        raise ArchiveRefused("too_many_entries", f"{declared} entries (at most {limits.max_entries})")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise ArchiveRefused("corrupt", f"{type(exc).__name__}: {exc}") from exc
    if len(infos) > limits.max_entries:
        raise ArchiveRefused("too_many_entries", f"{len(infos)} entries (at most {limits.max_entries})")
    unpacked = sum(info.file_size for info in infos)
    if unpacked > limits.max_unpacked_bytes:
        raise ArchiveRefused("too_large_unpacked", f"{unpacked} bytes unpacked (at most {limits.max_unpacked_bytes})")
    view = memoryview(data)
    for info in infos:
        _check_entry(view, info)
    return frozenset(info.filename for info in infos)


def _check_entry(data: memoryview, info: zipfile.ZipInfo) -> None:
    """Refuse ``info`` when its compressed data inflates to more than it declares (or cannot be found)."""
    start = info.header_offset
    if bytes(data[start : start + 4]) != _LOCAL_HEADER or start + _LOCAL_HEADER_SIZE > len(data):
        raise ArchiveRefused("corrupt", f"{info.filename}: no local header")
    name_length, extra_length = struct.unpack_from("<HH", data, start + 26)
    begin = start + _LOCAL_HEADER_SIZE + name_length + extra_length
    raw = data[begin : begin + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        return  # stored bytes are what they are: zipfile reads at most compress_size of them
    if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
        raise ArchiveRefused("corrupt", f"{info.filename}: compression {info.compress_type} or encryption")
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    produced, fed, pending = 0, 0, b""
    while not inflater.eof:
        if not pending and fed < len(raw):
            pending = bytes(raw[fed : fed + _IN_STEP])
            fed += len(pending)
        try:
            piece = inflater.decompress(pending, min(_OUT_STEP, info.file_size - produced + 1))
        except zlib.error as exc:
            raise ArchiveRefused("corrupt", f"{info.filename}: {exc}") from exc
        pending = inflater.unconsumed_tail
        produced += len(piece)
        if produced > info.file_size:
            raise ArchiveRefused(
                "too_large_unpacked", f"{info.filename} unpacks beyond the {info.file_size} bytes it declares"
            )
        if not piece and not pending and fed >= len(raw):
            break


def _declared_entries(data: bytes) -> int | None:
    """The entry count the end record declares, or None when there is none to read (ZIP64 or no record):
    :mod:`zipfile` then judges the archive itself."""
    tail_start = max(0, len(data) - _END_RECORD_SIZE - _MAX_COMMENT)
    at = data.rfind(_END_RECORD, tail_start)
    if at < 0 or at + _END_RECORD_SIZE > len(data):
        return None
    total = int(struct.unpack_from("<H", data, at + 10)[0])
    return None if total == 0xFFFF else total
