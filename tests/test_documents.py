"""Tests for bot.letters.documents: .txt encodings, .docx order, .pdf text with CJK repairs, and every refusal code."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import docx
import pytest
from pypdf import PdfWriter

from bot.letters.cli import parse_letter_file
from bot.letters.documents import (
    MAX_BYTES,
    DocumentError,
    decode_text,
    read_document,
    read_docx,
    repair_pdf_text,
)
from bot.letters.parser import parse_letter

SEED = (Path(__file__).parent / "fixtures" / "000_22e5c766df40d68a.txt").read_text(encoding="utf-8")
SEED_LINES = [line.strip() for line in SEED.splitlines() if line.strip()]


def make_cjk_pdf(pages: list[list[str]]) -> bytes:
    """A minimal PDF whose text is drawn with a CID font (Identity-H) and mapped back by a ToUnicode CMap,
    the way Word and WPS export Chinese. No font is embedded: text extraction only needs the CMap."""
    chars = sorted({ch for page in pages for line in page for ch in line})
    cid = {ch: i + 1 for i, ch in enumerate(chars)}
    entries = [f"<{cid[ch]:04X}> <{ord(ch):04X}>" for ch in chars]
    blocks = [
        f"{len(entries[i : i + 100])} beginbfchar\n" + "\n".join(entries[i : i + 100]) + "\nendbfchar"
        for i in range(0, len(entries), 100)
    ]
    cmap = (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(blocks)
        + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
    ).encode()
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /Identity-H "
        b"/DescendantFonts [4 0 R] /ToUnicode 5 0 R >>",
        4: b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 6 0 R /DW 1000 >>",
        5: b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
        6: b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 4 /FontBBox [0 -200 1000 900] "
        b"/ItalicAngle 0 /Ascent 880 /Descent -120 /CapHeight 700 /StemV 80 >>",
    }
    kids = []
    for i, page in enumerate(pages):
        number = 7 + 2 * i
        kids.append(f"{number} 0 R")
        ops = ["BT", "/F1 12 Tf", "16 TL", "40 800 Td"]
        ops += ["<" + "".join(f"{cid[ch]:04X}" for ch in line) + "> Tj T*" for line in page]
        content = "\n".join([*ops, "ET"]).encode()
        objects[number] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            f"/Contents {number + 1} 0 R >>"
        ).encode()
        objects[number + 1] = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
    objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode()
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offsets[n]:010d} 00000 n \n".encode() for n in range(1, size))
    out += f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def blank_pdf(password: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if password is not None:
        writer.encrypt(password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def refusal(filename: str, data: bytes) -> str:
    with pytest.raises(DocumentError) as caught:
        read_document(filename, data)
    return caught.value.code


# --- text files ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        SEED.encode("utf-8"),
        b"\xef\xbb\xbf" + SEED.encode("utf-8"),
        SEED.encode("utf-16"),
        SEED.encode("utf-16-be").join([b"\xfe\xff", b""]),
        SEED.encode("gb18030"),
        SEED.encode("utf-32"),
    ],
    ids=["utf8", "utf8-bom", "utf16-le-bom", "utf16-be-bom", "gb18030", "utf32-bom"],
)
def test_read_document_txt_encoding_detected_gives_same_text(data: bytes) -> None:
    assert read_document("letter.txt", data) == SEED


def test_read_document_gbk_only_characters_decoded() -> None:
    text = "长宁区科学技术委员会：詹镭签发，此件公开发布。"
    assert read_document("letter.txt", text.encode("gbk")) == text


def test_read_document_crlf_line_endings_normalized() -> None:
    assert read_document("a.txt", "第一行\r\n第二行\r".encode()) == "第一行\n第二行\n"


# --- refusals ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \n\t  ", b"\xef\xbb\xbf", "\ufeff".encode("utf-16")])
def test_read_document_empty_file_refused_as_empty(data: bytes) -> None:
    assert refusal("letter.txt", data) == "empty"


def test_read_document_over_ten_megabytes_refused_as_too_large() -> None:
    assert refusal("letter.txt", b"a" * (MAX_BYTES + 1)) == "too_large"


def test_read_document_exactly_ten_megabytes_accepted() -> None:
    assert len(read_document("letter.txt", b"a" * MAX_BYTES)) == MAX_BYTES


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_read_document_random_bytes_refused_as_binary(seed: int) -> None:
    data = random.Random(seed).randbytes(4096)
    assert refusal("letter.txt", data) == "binary"


def test_read_document_random_bytes_without_nul_refused_as_binary() -> None:
    data = bytes(b for b in random.Random(7).randbytes(8192) if b)
    assert refusal("letter.txt", data) == "binary"


def test_read_document_text_with_nul_refused_as_binary() -> None:
    assert refusal("letter.txt", "答复\x00\x00".encode()) == "binary"


def test_read_document_random_high_bytes_refused_as_binary() -> None:
    """High bytes alone often decode as GB18030; they are still not plausible Chinese text."""
    data = bytes(random.Random(3).randrange(0x81, 0xFF) for _ in range(4000))
    assert refusal("letter.txt", data) == "binary"


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("sheet.xlsx", b"just,some,text"),
        ("letter.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512),
        ("image.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
        ("noext", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64),
    ],
)
def test_read_document_unsupported_type_refused_as_unknown_type(filename: str, data: bytes) -> None:
    assert refusal(filename, data) == "unknown_type"


def test_read_document_zip_that_is_not_word_refused_as_unknown_type() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert refusal("letter.docx", buffer.getvalue()) == "unknown_type"


def test_read_document_encrypted_pdf_refused_as_encrypted() -> None:
    assert refusal("letter.pdf", blank_pdf(password="secret")) == "encrypted"


def test_read_document_encrypted_office_file_refused_as_encrypted() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 256 + "EncryptedPackage".encode("utf-16-le")
    assert refusal("letter.docx", ole) == "encrypted"


def test_read_document_blank_pdf_refused_as_no_text_layer() -> None:
    assert refusal("scan.pdf", blank_pdf()) == "no_text_layer"


def test_read_document_pdf_with_page_numbers_only_refused_as_no_text_layer() -> None:
    assert refusal("scan.pdf", make_cjk_pdf([["- 1 -"], ["- 2 -"]])) == "no_text_layer"


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("letter.pdf", b"%PDF-1.7\nthis is not a pdf at all"),
        ("letter.docx", b"PK\x03\x04 not really a zip"),
        ("letter.docx", b"plain text pretending to be Word"),
    ],
)
def test_read_document_damaged_file_refused_as_corrupt(filename: str, data: bytes) -> None:
    assert refusal(filename, data) == "corrupt"


def test_read_document_docx_with_broken_xml_refused_as_corrupt() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document")
    assert refusal("letter.docx", buffer.getvalue()) == "corrupt"


@pytest.mark.parametrize(
    "code",
    ["empty", "too_large", "unpacks_too_large", "encrypted", "no_text_layer", "unknown_type", "binary", "corrupt"],
)
def test_document_error_every_code_has_one_line_messages(code: str) -> None:
    error = DocumentError(code)  # type: ignore[arg-type]
    assert error.code == code
    for message in (error.message_zh, error.message_en, error.message("zh-CN"), error.message("en")):
        assert message and "\n" not in message
    assert str(error) == error.message_en
    assert error.message("zh") == error.message_zh


def test_parse_letter_file_random_bytes_raises_document_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.txt"
    path.write_bytes(random.Random(0).randbytes(2048))
    with pytest.raises(DocumentError) as caught:
        parse_letter_file(path, tokenizer=None)
    assert caught.value.code == "binary"


def test_parse_letter_file_oversized_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    with path.open("wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    with pytest.raises(DocumentError) as caught:
        parse_letter_file(path, tokenizer=None)
    assert caught.value.code == "too_large"


# --- .docx ---------------------------------------------------------------------------------------------------


def test_read_docx_paragraphs_and_tables_in_document_order() -> None:
    document = docx.Document()
    document.add_paragraph("标题")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "办理结果", "解决或采纳"
    table.cell(1, 0).text, table.cell(1, 1).text = "签发人", "詹镭"
    document.add_paragraph("正文")
    merged = document.add_table(rows=1, cols=3)
    merged.cell(0, 0).merge(merged.cell(0, 1)).text = "合并单元格"
    merged.cell(0, 2).text = "右"
    buffer = io.BytesIO()
    document.save(buffer)
    assert read_docx(buffer.getvalue()) == "标题\n办理结果\t解决或采纳\n签发人\t詹镭\n正文\n合并单元格\t右"


def test_read_document_docx_without_text_refused_as_empty() -> None:
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    assert refusal("letter.docx", buffer.getvalue()) == "empty"


def test_read_document_docx_with_wrong_extension_sniffed() -> None:
    document = docx.Document()
    document.add_paragraph("第 018 号代表建议的答复")
    buffer = io.BytesIO()
    document.save(buffer)
    assert read_document("upload.bin", buffer.getvalue()) == "第 018 号代表建议的答复"


# --- .pdf ----------------------------------------------------------------------------------------------------


def test_read_document_cjk_pdf_gives_seed_fields() -> None:
    pdf = make_cjk_pdf([SEED_LINES[:40], SEED_LINES[40:]])
    assert parse_letter(read_document("letter.pdf", pdf)) == parse_letter(SEED)


def test_read_document_cjk_pdf_with_debris_gives_seed_fields() -> None:
    """Spaced-out characters, page numbers and a page break mid-sentence, as scanned-then-OCRed PDFs print."""
    first = [" ".join(line) if i < 3 else line for i, line in enumerate(SEED_LINES[:45])] + ["- 1 -"]
    second = ["第 2 页 共 2 页", *SEED_LINES[45:]]
    pdf = make_cjk_pdf([first, second])
    assert parse_letter(read_document("letter.pdf", pdf)) == parse_letter(SEED)


def test_read_document_pdf_with_wrong_extension_sniffed() -> None:
    pdf = make_cjk_pdf([["对长宁区第十七届人大五次会议"]])
    assert read_document("letter.txt", pdf) == "对长宁区第十七届人大五次会议"


def test_read_document_owner_password_only_pdf_opens() -> None:
    """A PDF with an empty user password (permissions only) opens without asking; this one has no text."""
    assert refusal("scan.pdf", blank_pdf(password="")) == "no_text_layer"


def test_repair_pdf_text_spaces_page_numbers_and_broken_lines() -> None:
    extracted = "\n".join(
        [
            "长 宁 区 科 学 技 术 委 员 会",
            "区科委认真研究区规资局、区建管委、区投促办、虹桥",
            "- 2 -",
            "办、华阳路街道办事处、区发改委等单位提供的会办意见，",
            "并与建议代表进行了多次沟通。",
            "一、对建议的办理概述",
            "第 3 页 共 4 页",
        ]
    )
    assert repair_pdf_text(extracted) == "\n".join(
        [
            "长宁区科学技术委员会",
            "区科委认真研究区规资局、区建管委、区投促办、虹桥办、华阳路街道办事处、区发改委等单位提供的会办意见，"
            "并与建议代表进行了多次沟通。",
            "一、对建议的办理概述",
        ]
    )


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_decode_text_utf16_without_bom_detected(encoding: str) -> None:
    text = "签发人：詹镭 Tel 52388345"
    assert decode_text(text.encode(encoding)) == text


def test_decode_text_nul_bytes_on_both_parities_refused_as_binary() -> None:
    with pytest.raises(DocumentError) as caught:
        decode_text(b"ab\x00\x00cd\x00e\x00f")
    assert caught.value.code == "binary"
