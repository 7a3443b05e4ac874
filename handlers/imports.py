"""Import and export in the chat: an admin sends an .xlsx or .csv, sees the diff preview, and confirms; `/export`.

The preview is planned by the same code as `proposal-bot import --dry-run` and nothing is stored until 确认导入;
confirming stores every row or none, and refuses (showing the new preview) if the stored items changed since.
The draft lives in the admin's user data under an id that its buttons carry (`imp:<id>:ok|clear|x`); a newer
upload replaces it, so the buttons of an older preview say they expired. Files of more than ``PROGRESS_EVERY``
rows show their progress by editing one message.
"""

from __future__ import annotations

import html
import itertools
import logging
from dataclasses import dataclass
from typing import Any

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import filters

from bot.context import Context
from bot.domain.access import Action
from bot.domain.lookup import parse_sitting
from bot.render.cards import Rendered
from bot.render.i18n import Lang, t
from bot.render.imports import render_import_preview, render_import_result, render_progress
from bot.services.imports import (
    MAX_BYTES,
    PROGRESS_EVERY,
    ArchiveLimits,
    ImportRefused,
    ImportReport,
    ParsedFile,
    PreviewOutdated,
    SpreadsheetError,
    export_sheet,
    import_rows,
    parse_file,
    preview_of,
    preview_rows,
)
from handlers.audience import admitted, lang_of
from handlers.buttons import pressed
from handlers.replying import send
from storage.audit import Actor
from storage.errors import StorageError
from storage.proposals import list_sessions_of

logger = logging.getLogger(__name__)

DRAFT = "import_draft"
SUFFIXES = (".xlsx", ".csv")
_ids = itertools.count(1)

#: the documents this module takes: spreadsheets by name (letters, .docx/.pdf/.txt, go to handlers.replies)
SHEETS = filters.Document.FileExtension("xlsx") | filters.Document.FileExtension("csv")


@dataclass(frozen=True, slots=True)
class ImportDraft:
    """A read and planned file awaiting 确认导入: the rows, how to apply them, and the plan the admin saw."""

    id: int
    name: str
    parsed: ParsedFile
    clear_empty: bool
    report: ImportReport


def _user_data(context: Context) -> dict[Any, Any]:
    data = context.user_data
    if data is None:
        raise RuntimeError("no user data for this update")
    return data


class _Progress:
    """One message edited as a long file is planned or stored (files of more than ``PROGRESS_EVERY`` rows)."""

    def __init__(self, update: Update, total: int, lang: Lang) -> None:
        self.update = update
        self.total = total
        self.lang = lang
        self.message: Message | None = None

    async def start(self) -> None:
        incoming = self.update.effective_message
        if incoming is not None and self.total > PROGRESS_EVERY:
            self.message = await incoming.reply_text(render_progress(0, self.total, lang=self.lang))

    async def __call__(self, done: int, total: int, *, storing: bool = False) -> None:
        if self.message is None:
            return
        try:
            await self.message.edit_text(render_progress(done, total, lang=self.lang, storing=storing))
        except TelegramError:  # a progress line that cannot be edited is not worth failing the import
            logger.info("import progress message not edited", exc_info=True)


async def _plan(update: Update, context: Context, name: str, parsed: ParsedFile, *, clear_empty: bool) -> None:
    """Plan the rows against the stored items and show the preview with a fresh draft id."""
    deps = context.bot_data
    lang = lang_of(update, context)
    progress = _Progress(update, len(parsed.rows), lang)
    await progress.start()
    report = await preview_rows(
        deps.sessionmaker,
        parsed.rows,
        now=deps.clock.now(),
        calendar=deps.calendar,
        profile=deps.settings.profile,
        options=parsed.options(clear_empty=clear_empty),
        progress=progress,
    )
    draft = ImportDraft(next(_ids), name, parsed, clear_empty, report)
    _user_data(context)[DRAFT] = draft
    preview = preview_of(name, parsed, report, lang=lang, clear_empty=clear_empty)
    await send(update, render_import_preview(preview, draft_id=draft.id, lang=lang))


async def sheet_upload(update: Update, context: Context) -> None:
    """An .xlsx or .csv document: read it, plan it, and show the preview (admins only)."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    lang = lang_of(update, context)
    if not await admitted(update, context, Action.import_, "/import"):
        return
    document = message.document
    name = document.file_name or "import.xlsx"
    if document.file_size is not None and document.file_size > MAX_BYTES:
        await send(update, Rendered(t(lang, "import.too_large", name=html.escape(name))))
        return
    data = bytes(await (await document.get_file()).download_as_bytearray())
    try:
        parsed = await parse_file(name, data, limits=ArchiveLimits.of(context.bot_data.settings))
    except SpreadsheetError as exc:
        reason = exc.message_zh if lang == "zh" else exc.message_en
        await send(update, Rendered(t(lang, "import.unreadable", name=html.escape(name), reason=html.escape(reason))))
        return
    await _plan(update, context, name, parsed, clear_empty=False)


async def import_command(update: Update, context: Context) -> None:
    """`/import`: how to import (the file itself is the command)."""
    if await admitted(update, context, Action.import_, "/import"):
        await send(update, Rendered(t(lang_of(update, context), "import.usage")))


async def import_button(update: Update, context: Context) -> None:
    """`imp:<draft id>:ok|clear|x` under a preview."""
    data = await pressed(update, context)
    if data is None:
        return
    lang = lang_of(update, context)
    draft = _user_data(context).get(DRAFT)
    if not isinstance(draft, ImportDraft) or draft.id != int(data[1]):
        await send(update, Rendered(t(lang, "import.expired")))
        return
    if not await admitted(update, context, Action.import_, "/import"):
        return
    if data[2] == "x":
        _user_data(context).pop(DRAFT, None)
        await send(update, Rendered(t(lang, "import.cancelled")))
        return
    if data[2] == "clear":
        await _plan(update, context, draft.name, draft.parsed, clear_empty=True)
        return
    await _confirm(update, context, draft)


async def _confirm(update: Update, context: Context, draft: ImportDraft) -> None:
    deps = context.bot_data
    lang = lang_of(update, context)
    user = update.effective_user
    progress = _Progress(update, len(draft.parsed.rows), lang)
    await progress.start()

    async def storing(done: int, total: int) -> None:
        await progress(done, total, storing=True)

    _user_data(context).pop(DRAFT, None)  # one confirmation per preview, whatever happens next
    try:
        report = await import_rows(
            deps.sessionmaker,
            draft.parsed.rows,
            now=deps.clock.now(),
            calendar=deps.calendar,
            profile=deps.settings.profile,
            actor=f"admin:{user.id if user else '?'}",
            options=draft.parsed.options(clear_empty=draft.clear_empty),
            progress=storing,
            expect=draft.report,
            audit=Actor(user.id if user else None, user.full_name if user else ""),
        )
    except PreviewOutdated as exc:
        fresh = ImportDraft(next(_ids), draft.name, draft.parsed, draft.clear_empty, exc.report)
        _user_data(context)[DRAFT] = fresh
        await send(update, Rendered(t(lang, "import.outdated")))
        preview = preview_of(draft.name, draft.parsed, exc.report, lang=lang, clear_empty=draft.clear_empty)
        await send(update, render_import_preview(preview, draft_id=fresh.id, lang=lang))
        return
    except ImportRefused as exc:
        preview = preview_of(draft.name, draft.parsed, exc.report, lang=lang, clear_empty=draft.clear_empty)
        await send(update, render_import_preview(preview, draft_id=0, lang=lang))
        return
    except StorageError:  # a database fault goes to the one error handler
        logger.exception("chat import of %s failed", draft.name)
        await send(update, Rendered(t(lang, "import.failed")))
        return
    await send(update, Rendered(render_import_result(report.created, report.updated, report.unchanged, lang=lang)))


async def export_command(update: Update, context: Context) -> None:
    """`/export [term-sitting]`: every item (of that sitting) as an .xlsx in the admin's language."""
    message = update.effective_message
    if message is None or not await admitted(update, context, Action.export, "/export"):
        return
    lang = lang_of(update, context)
    deps = context.bot_data
    text = " ".join(context.args or []).strip()
    today = deps.clock.now().astimezone(deps.settings.tz).date()
    async with deps.sessionmaker() as session:
        session_ids: list[int] | None = None
        if text:
            key = parse_sitting(text)
            if key is None:
                await send(update, Rendered(t(lang, "export.usage")))
                return
            session_ids = [s.id for s in await list_sessions_of(session, term=key[0], sitting=key[1])]
            if not session_ids:
                await send(update, Rendered(t(lang, "export.no_sitting", term=key[0], sitting=key[1])))
                return
        data, count = await export_sheet(session, today=today, lang=lang, session_ids=session_ids)
    suffix = f"-{text}" if text else ""
    name = f"{t(lang, 'export.file')}{suffix}-{today.isoformat()}.xlsx"
    await message.reply_document(document=data, filename=name, caption=t(lang, "export.caption", count=count))
