"""A reply letter between upload and confirmation: the fields the parser read and the admin may correct."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = ["EDITABLE", "LetterDraft"]

#: The fields of a letter the preview shows and the admin may correct, in the preview's order.
EDITABLE: Final = (
    "number",
    "proposers",
    "result",
    "result_class",
    "signer",
    "unit",
    "date",
    "public",
    "contact_name",
    "contact_phone",
    "contact_address",
    "contact_postcode",
    "doc_number",
    "letter_type",
)


@dataclass(slots=True)
class LetterDraft:
    """A parsed letter waiting for the admin's confirmation (kept in the admin's chat data until then)."""

    proposal_id: int
    fields: dict[str, Any]
    summary: str
    keywords: list[str]
    body: str
    file_name: str
    file_data: bytes
    replace_confirmed: bool = False
    editing: str | None = None
    flags: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    #: the fields read by OCR from a scan and not corrected since: the preview marks them for the admin's check
    ocr_fields: list[str] = field(default_factory=list)
    #: carried by the preview's buttons: a button of an older preview names another draft and has expired
    key: str = field(default_factory=lambda: secrets.token_urlsafe(6))
