"""Document readers: turn an uploaded letter (.txt, .docx or .pdf) into text, or refuse it with a clear reason.

Every refusal is a :class:`DocumentError` whose ``code`` says why (empty, too large, a .docx that unpacks to too
much (a zip bomb), encrypted, a scan without a text layer, an unknown type, binary garbage, a damaged file) and
which carries a one-line message in Chinese and in English, ready to show to the user or to print from the CLI.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any, Final, Literal

from bot.files import MAX_BYTES, decoding
from bot.files.archives import DEFAULT_LIMITS, ArchiveLimits, ArchiveRefused, check_archive
from bot.files.magic import OLE_MAGIC, PDF_MAGIC, ZIP_MAGIC
from bot.letters import ocr
from bot.text import despace_cjk, is_page_number, reflow

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_BYTES",
    "ArchiveLimits",
    "DocumentError",
    "DocumentErrorCode",
    "DocumentText",
    "decode_text",
    "read_document",
    "read_docx",
    "read_pdf",
    "read_upload",
    "repair_pdf_text",
]

logger = logging.getLogger(__name__)


DocumentErrorCode = Literal[
    "empty", "too_large", "unpacks_too_large", "encrypted", "no_text_layer", "unknown_type", "binary", "corrupt"
]

_MESSAGES: Final[dict[DocumentErrorCode, tuple[str, str]]] = {
    "empty": ("文件是空的，没有可读取的文字。", "The file is empty: there is no text to read."),
    "too_large": ("文件超过 10 MB，无法处理。", "The file is larger than 10 MB."),
    "unpacks_too_large": (
        "文件解压后过大或部件过多（可能是“压缩炸弹”），为安全起见没有读取。",
        "The file unpacks to too much data or too many parts (possibly a zip bomb), so it was not read.",
    ),
    "encrypted": (
        "文件已加密，请去除密码后重新上传。",
        "The file is encrypted: remove the password and upload it again.",
    ),
    "no_text_layer": (
        "PDF 没有文字层（可能是扫描件），请上传 Word 文件或可复制文字的 PDF。",
        "The PDF has no text layer (probably a scan): upload a Word file or a PDF with selectable text.",
    ),
    "unknown_type": (
        "不支持的文件类型，请上传 .txt、.docx 或 .pdf 文件。",
        "Unsupported file type: upload a .txt, .docx or .pdf file.",
    ),
    "binary": (
        "文件不是文本：含有二进制数据或无法识别的编码。",
        "The file is not text: it holds binary data or an unknown encoding.",
    ),
    "corrupt": ("文件已损坏，无法读取。", "The file is damaged and cannot be read."),
}


class DocumentError(Exception):
    """A document that cannot be read. ``str()`` gives the English message."""

    def __init__(self, code: DocumentErrorCode, detail: str | None = None) -> None:
        self.code: DocumentErrorCode = code
        self.message_zh, self.message_en = _MESSAGES[code]
        self.detail = detail
        super().__init__(self.message_en)

    def message(self, language: str) -> str:
        """The message in ``language`` ("zh…" for Chinese, anything else for English)."""
        return self.message_zh if language.lower().startswith("zh") else self.message_en


_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


@dataclass(frozen=True, slots=True)
class DocumentText:
    """A document's text, and whether it came from OCR of page images (a scan without a text layer): every field
    read from such a text needs the admin's check."""

    text: str
    ocr: bool = False


def read_document(filename: str, data: bytes, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> str:
    """Read a .txt, .docx or .pdf file's text (see :func:`read_upload`)."""
    return read_upload(filename, data, limits=limits).text


def read_upload(filename: str, data: bytes, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> DocumentText:
    """Read a .txt, .docx or .pdf file's text. The content's magic bytes win over a misleading extension. A PDF
    page without a text layer is read by OCR when the ``ocr`` extra is installed (seconds a page: call this off
    the event loop).

    Raises :class:`DocumentError` for an empty, oversized, encrypted, textless, unknown, binary or damaged file,
    and for a .docx that would unpack beyond ``limits``.
    """
    if len(data) > MAX_BYTES:
        raise DocumentError("too_large")
    if not data.strip():
        raise DocumentError("empty")
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if data.startswith(PDF_MAGIC) or (suffix == "pdf" and PDF_MAGIC in data[:1024]):
        return _read_pdf(data)
    if data.startswith(ZIP_MAGIC):
        return DocumentText(read_docx(data, limits=limits))
    if data.startswith(OLE_MAGIC):
        # An OLE container is either an encrypted Office file or a legacy .doc, which we do not read.
        raise DocumentError("encrypted" if _ENCRYPTED_PACKAGE in data else "unknown_type")
    if suffix in ("docx", "pdf"):
        raise DocumentError("corrupt", f"not a .{suffix} file")
    if suffix in ("txt", "text", ""):
        if suffix == "" and not _looks_like_text(data):
            raise DocumentError("unknown_type")
        return DocumentText(decode_text(data))
    raise DocumentError("unknown_type")


def _looks_like_text(data: bytes) -> bool:
    try:
        decode_text(data)
    except DocumentError:
        return False
    return True


def decode_text(data: bytes) -> str:
    """A plain-text letter's text (:func:`bot.files.decoding.decode_text`), refused as ``binary`` or ``empty``."""
    try:
        return decoding.decode_text(data)
    except decoding.UndecodableText as exc:
        raise DocumentError("empty" if exc.reason == "empty" else "binary", exc.detail) from exc


def read_docx(data: bytes, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> str:
    """Paragraphs and tables of a .docx body in document order; a table row becomes its cells joined by tabs.

    The package is measured first (:func:`bot.files.archives.check_archive`): nothing is inflated beyond ``limits``.
    """
    try:
        names = check_archive(data, limits)
    except ArchiveRefused as exc:
        code: DocumentErrorCode = "corrupt" if exc.reason == "corrupt" else "unpacks_too_large"
        raise DocumentError(code, exc.detail) from exc
    if "word/document.xml" not in names:
        raise DocumentError("unknown_type", "a ZIP file that is not a Word document")
    try:
        import docx  # imported here: python-docx is heavy and only this reader needs it
        from docx.table import Table

        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.extend(_table_rows(block))
            else:
                lines.append(block.text)
    except DocumentError:
        raise
    except Exception as exc:  # python-docx raises anything from KeyError to lxml errors on a damaged file
        raise DocumentError("corrupt", f"{type(exc).__name__}: {exc}") from exc
    text = "\n".join(lines)
    if not text.strip():
        raise DocumentError("empty")
    return text


def _table_rows(table: Any) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # a merged cell repeats for every grid column it spans
                continue
            seen.add(id(cell._tc))
            text = " ".join(part.strip() for part in cell.text.splitlines() if part.strip())
            if text:
                cells.append(text)
        if cells:
            rows.append("\t".join(cells))
    return rows


def read_pdf(data: bytes) -> str:
    """The text of a PDF (see :func:`read_upload`)."""
    return _read_pdf(data).text


def _read_pdf(data: bytes) -> DocumentText:
    """The text layer of a PDF, repaired for CJK (see :func:`repair_pdf_text`); a page without one is read from
    its images by OCR when the extra is installed, and refused as ``no_text_layer`` when it is not."""
    from pypdf import PdfReader  # imported here: only this reader needs pypdf
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception as exc:  # unsupported algorithms raise instead of failing to open
                raise DocumentError("encrypted", f"{type(exc).__name__}: {exc}") from exc
            if not opened:
                raise DocumentError("encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except PdfReadError as exc:
        if "encrypt" in str(exc).lower() or "decrypt" in str(exc).lower():
            raise DocumentError("encrypted", str(exc)) from exc
        raise DocumentError("corrupt", str(exc)) from exc
    except Exception as exc:  # pypdf surfaces damage as many exception types
        raise DocumentError("corrupt", f"{type(exc).__name__}: {exc}") from exc
    scanned = [i for i, page in enumerate(pages) if not repair_pdf_text(page).strip()]
    read_by_ocr = False
    if scanned and ocr.available():
        for i in scanned:
            texts = [ocr.read_image(image) for image in _page_images(reader.pages[i])]
            if any(text.strip() for text in texts):
                pages[i], read_by_ocr = "\n".join(texts), True
    text = repair_pdf_text("\n".join(pages))
    if not text.strip():
        raise DocumentError("no_text_layer")
    return DocumentText(text, ocr=read_by_ocr)


def _page_images(page: Any) -> list[Any]:
    """The images a scanned page is made of (a scanner writes one per page), as PIL images; none when pypdf
    cannot decode them."""
    try:
        return [found.image for found in page.images if found.image is not None]
    except Exception as exc:  # an image in a filter pypdf or Pillow cannot decode
        logger.warning("cannot extract the images of a PDF page: %s: %s", type(exc).__name__, exc)
        return []


def repair_pdf_text(text: str) -> str:
    """Undo what PDF text extraction does to Chinese: spaces between characters, page-number lines
    ("- 2 -", "第 2 页 共 5 页") and lines broken mid-sentence, which are joined back into paragraphs."""
    lines = []
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = despace_cjk(raw)
        if line and not is_page_number(line):
            lines.append(line)
    return "\n".join(reflow(lines))
