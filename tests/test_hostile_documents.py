"""Hostile documents (issue 11 deliverable 6): a zip-bomb .docx or .xlsx is refused from its directory, before any
parser inflates it, in the letter reader, the sheet reader, the chat and the CLI."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import docx
import openpyxl
import pytest

from bot.files.archives import ArchiveLimits, ArchiveRefused, check_archive
from bot.letters.documents import DocumentError, read_document
from bot.sandbox.emulator import SentMessage
from bot.sandbox.harness import Sandbox
from bot.spreadsheets.columns import SpreadsheetError
from bot.spreadsheets.read import read_rows
from config.settings import load_settings

BOMB_UNPACKED = 200 * 1024 * 1024
_CHUNK = b"<w:p><w:r><w:t>" + b"\xe5\xbb\xba\xe8\xae\xae" * 20 + b"</w:t></w:r></w:p>"  # 建议 …


def _package(real: bytes, bomb_part: str, unpacked: int) -> bytes:
    """``real`` (a .docx or .xlsx) with ``bomb_part`` replaced by ``unpacked`` bytes of repetitive XML, written in
    chunks so that the test never holds them."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(real)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            if info.filename != bomb_part:
                bomb.writestr(info.filename, source.read(info.filename))
        with bomb.open(bomb_part, "w") as entry:
            block = _CHUNK * (1024 * 1024 // len(_CHUNK))
            written = 0
            while written < unpacked:
                entry.write(block)
                written += len(block)
    return out.getvalue()


def _docx() -> bytes:
    document = docx.Document()
    document.add_paragraph("关于第 018 号建议的答复")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _xlsx() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["地区", "机构", "届", "次", "编号", "标题"])
    sheet.append(["长宁区", "人大", 17, 5, "101", "关于增设社区食堂的建议"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def docx_bomb() -> bytes:
    """A real .docx whose word/document.xml is 200 MB of XML."""
    return _package(_docx(), "word/document.xml", BOMB_UNPACKED)


@pytest.fixture(scope="module")
def xlsx_bomb() -> bytes:
    return _package(_xlsx(), "xl/worksheets/sheet1.xml", BOMB_UNPACKED)


def _lie_about_size(data: bytes, name: str, declared: int) -> bytes:
    """``data`` with ``name``'s uncompressed size in both its headers replaced by ``declared``."""
    patched = bytearray(data)
    encoded = name.encode()
    local = 0
    while (local := patched.find(b"PK\x03\x04", local)) >= 0:
        length = struct.unpack_from("<H", patched, local + 26)[0]
        if patched[local + 30 : local + 30 + length] == encoded:
            struct.pack_into("<I", patched, local + 22, declared)
        local += 4
    central = 0
    while (central := patched.find(b"PK\x01\x02", central)) >= 0:
        length = struct.unpack_from("<H", patched, central + 28)[0]
        if patched[central + 46 : central + 46 + length] == encoded:
            struct.pack_into("<I", patched, central + 24, declared)
        central += 4
    return bytes(patched)


def _refusal(call: Callable[[], object]) -> tuple[float, int]:
    """Seconds and peak bytes (Python allocations) that ``call()`` took to raise."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    try:
        call()
    except (DocumentError, SpreadsheetError, ArchiveRefused):
        pass
    else:
        raise AssertionError("not refused")
    finally:
        seconds = time.perf_counter() - started
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return seconds, peak


# --- the check itself ---------------------------------------------------------------------------------------


def test_check_archive_within_limits_gives_entry_names() -> None:
    names = check_archive(_docx())
    assert "word/document.xml" in names and "[Content_Types].xml" in names


def test_check_archive_bomb_refused_as_too_large_unpacked(docx_bomb: bytes) -> None:
    assert len(docx_bomb) < 1024 * 1024  # a small upload …
    with pytest.raises(ArchiveRefused) as caught:
        check_archive(docx_bomb)
    assert caught.value.reason == "too_large_unpacked"  # … that would unpack to 200 MB


def test_check_archive_too_many_entries_refused_from_the_end_record() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for i in range(11):
            archive.writestr(f"part{i}.xml", "<x/>")
    with pytest.raises(ArchiveRefused) as caught:
        check_archive(out.getvalue(), ArchiveLimits(max_entries=10))
    assert caught.value.reason == "too_many_entries"
    assert check_archive(out.getvalue(), ArchiveLimits(max_entries=11))


def test_check_archive_not_a_zip_refused_as_corrupt() -> None:
    with pytest.raises(ArchiveRefused) as caught:
        check_archive(b"PK\x03\x04 but nothing after")
    assert caught.value.reason == "corrupt"


def test_archive_limits_come_from_the_settings() -> None:
    settings = load_settings(archive_max_bytes=2 * 1024 * 1024, archive_max_entries=100)
    assert ArchiveLimits.of(settings) == ArchiveLimits(max_unpacked_bytes=2 * 1024 * 1024, max_entries=100)
    assert ArchiveLimits.of(load_settings()) == ArchiveLimits(50 * 1024 * 1024, 10_000)


def test_check_archive_entry_lying_about_its_size_refused_without_inflating_it(docx_bomb: bytes) -> None:
    """The directory of this one looks harmless (4 KB); zipfile alone would inflate all 200 MB to find out."""
    liar = _lie_about_size(docx_bomb, "word/document.xml", 4096)
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveRefused) as caught:
            check_archive(liar)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert caught.value.reason == "too_large_unpacked" and "4096" in caught.value.detail
    assert peak < 4 * 1024 * 1024


def test_check_archive_damaged_deflate_stream_refused_as_corrupt() -> None:
    data = bytearray(_docx())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("word/document.xml")
    begin = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[begin : begin + 8] = b"\xff" * 8
    with pytest.raises(ArchiveRefused) as caught:
        check_archive(bytes(data))
    assert caught.value.reason == "corrupt"


# --- the readers ----------------------------------------------------------------------------------------------


def test_read_document_docx_bomb_refused_fast_and_small(docx_bomb: bytes) -> None:
    """The acceptance figure: the 200 MB bomb is refused in under 2 s and under 200 MB of memory."""
    seconds, peak = _refusal(lambda: read_document("letter.docx", docx_bomb))
    assert seconds < 2.0
    assert peak < 200 * 1024 * 1024
    with pytest.raises(DocumentError) as caught:
        read_document("letter.docx", docx_bomb)
    assert caught.value.code == "unpacks_too_large"
    assert "压缩炸弹" in caught.value.message("zh") and "zip bomb" in caught.value.message("en")


def test_read_document_docx_bomb_lying_about_its_size_refused_fast_and_small(docx_bomb: bytes) -> None:
    liar = _lie_about_size(docx_bomb, "word/document.xml", 4096)
    seconds, peak = _refusal(lambda: read_document("letter.docx", liar))
    assert seconds < 2.0 and peak < 200 * 1024 * 1024
    with pytest.raises(DocumentError) as caught:
        read_document("letter.docx", liar)
    assert caught.value.code == "unpacks_too_large"


def test_read_document_docx_within_configured_limits_still_read() -> None:
    assert "第 018 号" in read_document("letter.docx", _docx(), limits=ArchiveLimits(max_unpacked_bytes=1024 * 1024))


def test_read_document_docx_over_configured_limit_refused() -> None:
    with pytest.raises(DocumentError) as caught:
        read_document("letter.docx", _docx(), limits=ArchiveLimits(max_unpacked_bytes=1000))
    assert caught.value.code == "unpacks_too_large"


def test_read_rows_xlsx_bomb_refused_fast_and_small(xlsx_bomb: bytes) -> None:
    seconds, peak = _refusal(lambda: read_rows("items.xlsx", xlsx_bomb))
    assert seconds < 2.0 and peak < 200 * 1024 * 1024
    with pytest.raises(SpreadsheetError) as caught:
        read_rows("items.xlsx", xlsx_bomb)
    assert "压缩炸弹" in caught.value.message_zh and "zip bomb" in caught.value.message_en


def test_read_rows_xlsx_with_too_many_entries_refused() -> None:
    with pytest.raises(SpreadsheetError) as caught:
        read_rows("items.xlsx", _xlsx(), limits=ArchiveLimits(max_entries=3))
    assert "zip bomb" in caught.value.message_en
    assert read_rows("items.xlsx", _xlsx())[0].values["number"] == "101"


# --- the chat -------------------------------------------------------------------------------------------------

AT = datetime(2024, 4, 20, 1, 0, tzinfo=UTC)


@pytest.fixture
async def admin(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=AT) as box:
        await box.load_demo()
        await box.use("admin")
        yield box
    assert box.emulator.violations == []


async def _send(box: Sandbox, name: str, data: bytes) -> list[SentMessage]:
    user = box.emulator.find_user(box.role.label)
    assert user is not None
    return await box.feed(box.emulator.document_update(user, name, data, None))


async def test_chat_docx_bomb_from_admin_refused_politely(admin: Sandbox, docx_bomb: bytes) -> None:
    [answer] = await _send(admin, "答复函.docx", docx_bomb)
    assert "压缩炸弹" in answer.text and "没有读取" in answer.text


async def test_chat_xlsx_bomb_from_admin_refused_politely(admin: Sandbox, xlsx_bomb: bytes) -> None:
    [answer] = await _send(admin, "items.xlsx", xlsx_bomb)
    assert "items.xlsx" in answer.text and "压缩炸弹" in answer.text
    [menu] = await admin.say("/settings")
    assert menu.text  # the bot goes on answering
