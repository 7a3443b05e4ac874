"""The first bytes that name a file's format, whatever its name says."""

from __future__ import annotations

from typing import Final

__all__ = ["OLE_MAGIC", "PDF_MAGIC", "ZIP_MAGIC"]

#: A ZIP archive: .docx and .xlsx are ZIP packages.
ZIP_MAGIC: Final = b"PK\x03\x04"
#: An OLE compound file: a legacy .doc or .xls, or a password-protected Office file of any age.
OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PDF_MAGIC: Final = b"%PDF"
