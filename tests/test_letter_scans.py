"""Issue 14 class 10: a scan of the seed letter (200 dpi, turned about 1°, noise, a red seal), as a PDF with no text
layer, is read by OCR into the right fields and flagged as OCR; without the extra it is refused as before.

The scan is made here (bench/scans.py) and read by OCR once for the module: the engine takes seconds a page.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from bench.scans import ScanStyle, scan_pdf
from bot.letters import ocr
from bot.letters.documents import DocumentError, DocumentText, read_upload
from bot.letters.parser import parse_letter
from bot.sandbox.harness import Sandbox
from config.settings import load_settings

SEED = (Path(__file__).parent / "fixtures" / "000_22e5c766df40d68a.txt").read_text(encoding="utf-8")
needs_ocr = pytest.mark.skipif(not ocr.available(), reason="the ocr extra is not installed (make install installs it)")

#: OCR's text of every page image seen in this module, by the image's pixels: the e2e test reuses the reading
_READ: dict[str, str] = {}


def _key(image: Any) -> str:
    return hashlib.sha256(image.tobytes()).hexdigest()


def _remembering(read: Callable[[Any], str]) -> Callable[[Any], str]:
    def read_image(image: Any) -> str:
        key = _key(image)
        if key not in _READ:
            _READ[key] = read(image)
        return _READ[key]

    return read_image


@pytest.fixture(scope="module")
def scan() -> bytes:
    return scan_pdf(SEED, ScanStyle(dpi=200, angle=1.0, noise=10.0, seal=True))


@pytest.fixture(scope="module")
def scanned(scan: bytes) -> Iterator[DocumentText]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ocr, "read_image", _remembering(ocr.read_image))
        yield read_upload("scan.pdf", scan)


def test_the_scan_has_no_text_layer(scan: bytes) -> None:
    reader = PdfReader(io.BytesIO(scan))
    assert len(reader.pages) >= 2
    assert all(not (page.extract_text() or "").strip() for page in reader.pages)
    assert all(len(page.images) == 1 for page in reader.pages)


def test_without_the_ocr_extra_a_scan_is_refused_as_before(scan: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "available", lambda: False)
    with pytest.raises(DocumentError) as refused:
        read_upload("scan.pdf", scan)
    assert refused.value.code == "no_text_layer"


@needs_ocr
def test_seed_scan_read_by_ocr_gives_the_fields_flagged_as_ocr(scanned: DocumentText) -> None:
    assert scanned.ocr
    letter = parse_letter(scanned.text, ocr=scanned.ocr)
    assert letter.ocr
    assert letter.number == "018"
    assert letter.proposers == ("康红恩",)
    assert (letter.result, letter.result_class) == ("解决或采纳", "A")
    assert letter.unit == "长宁区科学技术委员会"
    assert letter.date == date(2024, 4, 29)
    assert letter.session is not None and (letter.session.term, letter.session.sitting) == (17, 5)
    assert not parse_letter(SEED).ocr


@needs_ocr
def test_a_blank_scan_page_is_still_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    blank = scan_pdf(" ", ScanStyle(seal=False, noise=0))
    monkeypatch.setattr(ocr, "read_image", lambda image: "")
    with pytest.raises(DocumentError) as refused:
        read_upload("blank.pdf", blank)
    assert refused.value.code == "no_text_layer"


@pytest.fixture
async def sandbox(sqlite_url: str) -> AsyncIterator[Sandbox]:
    async with Sandbox(load_settings(database_url=sqlite_url), at=datetime(2024, 4, 20, 1, 0, tzinfo=UTC)) as box:
        await box.load_demo()
        yield box
    assert box.emulator.violations == []


@needs_ocr
async def test_preview_of_a_scan_marks_the_ocr_fields_until_corrected(
    sandbox: Sandbox, scan: bytes, scanned: DocumentText, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "read_image", _remembering(ocr.read_image))  # the module's reading, not a second one
    path = tmp_path / "scan.pdf"
    path.write_bytes(scan)
    await sandbox.use("admin")
    [preview] = await sandbox.upload(path, "/reply 018")
    assert "此函是扫描件" in preview.text
    assert "编号：018  〔OCR〕" in preview.text
    assert "答复日期：2024-04-29  〔OCR〕" in preview.text
    assert "长宁区科学技术委员会  〔OCR〕" in preview.text
    await sandbox.press("✏️ 修改")
    await sandbox.press("答复日期")
    [edited] = await sandbox.say("2024-04-28")
    assert "答复日期：2024-04-28\n" in edited.text  # the admin's value: no longer marked
    assert "编号：018  〔OCR〕" in edited.text
