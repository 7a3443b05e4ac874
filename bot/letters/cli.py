"""The core of ``proposal-bot parse-letter FILE [--json]``: read a letter file, parse it, and render the result.

The command itself (argument parsing, exit codes) lives in ``bot/__main__.py``; this module only turns a path
into a :class:`~bot.letters.parser.ParsedLetter` or a :class:`~bot.letters.documents.DocumentError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from bot.letters.documents import DEFAULT_LIMITS, MAX_BYTES, ArchiveLimits, DocumentError, read_upload
from bot.letters.parser import ParsedLetter, parse_letter
from bot.text import Tokenizer, default_userdict

__all__ = ["describe_letter", "parse_letter_command", "parse_letter_file"]


def parse_letter_command(
    path: Path, *, as_json: bool, out: TextIO, err: TextIO, limits: ArchiveLimits = DEFAULT_LIMITS
) -> int:
    """Run ``parse-letter``: print the fields (one JSON object with ``as_json``) and return the exit code.

    Every refusal prints one line to ``err`` (Chinese, then English) and returns 1: a file that cannot be opened,
    one over 10 MB (refused before it is read), a zip bomb, an unknown type, an unreadable file, and a readable
    text in which no field of a letter is found.
    """
    try:
        if path.stat().st_size > MAX_BYTES:
            return _refuse(err, path, DocumentError("too_large").message_zh, DocumentError("too_large").message_en)
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return _refuse(err, path, f"无法打开文件（{reason}）", f"cannot open the file ({reason})")
    try:
        document = read_upload(path.name, data, limits=limits)
    except DocumentError as exc:
        return _refuse(err, path, exc.message_zh, exc.message_en)
    if document.ocr:  # stdout keeps its contract; the warning goes beside it
        print(
            f"parse-letter: {path}: 扫描件，字段由文字识别读出，请核对 / a scan: fields read by OCR, check them",
            file=err,
        )
    tokenizer = Tokenizer(default_userdict())
    tokenizer.initialize()
    letter = parse_letter(document.text, tokenizer=tokenizer, ocr=document.ocr)
    if not _is_letter(letter):
        return _refuse(
            err,
            path,
            "这不像答复函：没有找到编号、标题、办理结果、答复单位或文号",
            "this is not a reply letter: no number, title, result, replying unit or document number was found",
        )
    if as_json:
        print(json.dumps(letter.to_json(), ensure_ascii=False), file=out)
    else:
        print(describe_letter(letter), file=out)
    return 0


def _refuse(err: TextIO, path: Path, zh: str, en: str) -> int:
    """One line, never a traceback: the file and why it was refused, in Chinese and English."""
    print(f"parse-letter: {path}: {zh} / {en}", file=err)
    return 1


def _is_letter(letter: ParsedLetter) -> bool:
    """Whether anything that names a letter was found (every letter of the corpus has five of these or more)."""
    named = (
        letter.letter_type,
        letter.kind,
        letter.number,
        letter.title,
        letter.result,
        letter.unit,
        letter.signer,
        letter.doc_number,
    )
    return any(value is not None for value in named)


def parse_letter_file(path: Path, *, tokenizer: Tokenizer | None) -> ParsedLetter:
    """Read and parse a .txt (UTF-8, UTF-16 or GB18030), .docx or .pdf letter.

    Raises :class:`DocumentError` when the file cannot be read as a letter, and ``OSError`` when it cannot be
    opened at all. The size is checked before the file is read, so a huge file is never loaded.
    """
    if path.stat().st_size > MAX_BYTES:
        raise DocumentError("too_large")
    document = read_upload(path.name, path.read_bytes())
    return parse_letter(document.text, tokenizer=tokenizer, ocr=document.ocr)


def describe_letter(letter: ParsedLetter) -> str:
    """A human-readable, one-field-per-line rendering for ``parse-letter`` without ``--json``."""
    session = letter.session
    sitting = (
        "—"
        if session is None
        else f"{session.region or ''}{session.body or ''} 第{session.term or '?'}届 第{session.sitting or '?'}次会议"
    )
    contact = letter.contact
    rows = [
        *([("来源 source", "扫描件 OCR，请核对 a scan read by OCR, check it")] if letter.ocr else []),
        ("类型 letter type", letter.letter_type),
        ("类别 kind", letter.kind),
        ("会议 session", sitting),
        ("编号 number", letter.number),
        ("提出人 proposers", "、".join(letter.proposers) or None),
        ("标题 title", letter.title),
        ("办理结果 result", _result(letter)),
        ("签发人 signer", letter.signer),
        ("单位 unit", letter.unit),
        ("日期 date", letter.date.isoformat() if letter.date else None),
        ("公开 public", None if letter.public is None else ("是 yes" if letter.public else "否 no")),
        ("联系人 contact", contact.name),
        ("联系电话 phone", contact.phone),
        ("联系地址 address", contact.address),
        ("邮政编码 postcode", contact.postcode),
        ("文号 document number", letter.doc_number),
        ("摘要 summary", letter.summary or None),
        ("关键词 keywords", "、".join(letter.keywords) or None),
    ]
    return "\n".join(f"{label}: {'—' if value is None else value}" for label, value in rows)


def _result(letter: ParsedLetter) -> str | None:
    if letter.result is None:
        return None
    if letter.result_class is None or letter.result.startswith(letter.result_class):
        return letter.result
    return f"{letter.result}（{letter.result_class}）"
