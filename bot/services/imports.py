"""Bulk import and export: apply validated rows to the database in one transaction, and the CLI entry points.

``import_rows`` stores all rows or none: it runs in one transaction and computes each due day with the legal
clock. Re-importing the same rows changes nothing; a changed row updates its item and logs an ``update``
event. Only a row with both a lead unit and a 交办日期 starts a clock (state ``assigned``); any other row is a
draft without due days, and a 交办日期 without a lead unit is not stored.

``run_import`` and ``run_export`` are ``proposal-bot import`` / ``export``: they print every bad row as
``第 N 行 / line N: reason`` and return the process exit code.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.clock import Clock, SystemClock, WorkCalendar, due_day
from bot.domain.lifecycle import Action, State, transition
from bot.services.events import event_record
from bot.spreadsheets.columns import MAX_BYTES, Notice, SpreadsheetError
from bot.spreadsheets.read import read_sheet
from bot.spreadsheets.validate import ImportRow, validate
from bot.spreadsheets.write import ExportRow, write_export
from config.settings import Jurisdiction, Settings
from storage.calendar import load_overrides
from storage.cards import rebuild_cards
from storage.engine import create_engine, create_sessionmaker
from storage.errors import StorageError
from storage.migrate import upgrade
from storage.proposals import (
    EventRecord,
    ProposalRecord,
    SessionKey,
    StoredItem,
    UpsertOutcome,
    add_event,
    list_items,
    set_state,
    upsert_proposal,
)

__all__ = ["PROGRESS_EVERY", "ImportReport", "import_rows", "preview_rows", "run_export", "run_import"]

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 1000
SUPPORTED_SUFFIXES = (".csv", ".xlsx")

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did (or, for a preview, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: tuple[Notice, ...] = ()

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged


async def import_rows(
    sessionmaker: async_sessionmaker[AsyncSession],
    rows: Sequence[ImportRow],
    *,
    now: datetime,
    calendar: WorkCalendar,
    profile: Jurisdiction,
    actor: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Store every row in one transaction: create new items, update changed ones, leave the rest alone."""
    async with sessionmaker.begin() as session:
        return await _apply_rows(
            session, rows, now=now, calendar=calendar, profile=profile, actor=actor, progress=progress
        )


async def preview_rows(
    sessionmaker: async_sessionmaker[AsyncSession],
    rows: Sequence[ImportRow],
    *,
    now: datetime,
    calendar: WorkCalendar,
    profile: Jurisdiction,
    progress: Progress | None = None,
) -> ImportReport:
    """What ``import_rows`` would do, found by doing it and rolling back: the dry run shares the real path."""
    async with sessionmaker() as session:
        try:
            return await _apply_rows(
                session, rows, now=now, calendar=calendar, profile=profile, actor=None, progress=progress
            )
        finally:
            await session.rollback()


def _record(row: ImportRow, *, due_on: date | None, co_due_on: date | None) -> ProposalRecord:
    # 交办 means handing the item to a lead unit: without one the date has nothing to belong to, and storing it
    # on co-units alone would not survive an export (which reads the date from the lead assignment).
    return ProposalRecord(
        session=SessionKey(region=row.region, body=row.body, term=row.term, sitting=row.sitting),
        number=row.number,
        number_key=row.number_key,
        title=row.title,
        kind=row.kind,
        content=row.content,
        deputies=row.deputies,
        co_signers=row.co_signers,
        lead_unit=row.lead_unit,
        co_units=row.co_units,
        assigned_on=row.assigned_on if row.lead_unit else None,
        due_on=due_on,
        co_due_on=co_due_on,
        key_supervised=row.key_supervised,
    )


def _export_row(item: StoredItem) -> ExportRow:
    """The way back: a stored item as the sheet's columns (``_record`` goes the other way)."""
    r = item.record
    return ExportRow(
        region=r.session.region,
        body=r.session.body,
        term=r.session.term,
        sitting=r.session.sitting,
        number=r.number,
        kind=r.kind,
        title=r.title,
        content=r.content,
        deputies=r.deputies,
        co_signers=r.co_signers,
        lead_unit=r.lead_unit,
        co_units=r.co_units,
        assigned_on=r.assigned_on,
        key_supervised=r.key_supervised,
        due_on=r.due_on,
        state=item.state,
    )


def _assign_event(row: ImportRow, *, due_on: date | None, now: datetime, actor: str | None) -> EventRecord:
    detail = {"unit": row.lead_unit or ""}
    if due_on is not None:
        detail["due_on"] = due_on.isoformat()
    return event_record(transition(State.draft, Action.assign, at=now, actor=actor, detail=detail))


async def _apply_rows(
    session: AsyncSession,
    rows: Sequence[ImportRow],
    *,
    now: datetime,
    calendar: WorkCalendar,
    profile: Jurisdiction,
    actor: str | None,
    progress: Progress | None,
) -> ImportReport:
    counts = dict.fromkeys(UpsertOutcome, 0)
    warnings: dict[str, Notice] = {}
    touched: list[int] = []  # their status cards are rebuilt together at the end, in the same transaction
    for done, row in enumerate(rows, start=1):
        due_on = co_due_on = None
        if row.assignable and row.assigned_on is not None:
            due = due_day(
                row.assigned_on, months=profile.reply_months, calendar=calendar, roll_to_workday=profile.roll_to_workday
            )
            co_due = due_day(
                row.assigned_on,
                months=profile.co_opinion_months,
                calendar=calendar,
                roll_to_workday=profile.roll_to_workday,
            )
            due_on, co_due_on = due.day, co_due.day
            for clock in (due, co_due):
                for en, zh in zip(clock.warnings, clock.warnings_zh, strict=True):
                    warnings.setdefault(en, Notice(zh, en))
        wanted = State.assigned if row.assignable else State.draft
        result = await upsert_proposal(
            session,
            _record(row, due_on=due_on, co_due_on=co_due_on),
            now=now,
            initial_state=wanted.value,
            refresh=False,
        )
        counts[result.outcome] += 1
        if result.outcome is not UpsertOutcome.UNCHANGED:
            touched.append(result.proposal_id)
        if result.outcome is UpsertOutcome.CREATED:
            if wanted is State.assigned:
                event = _assign_event(row, due_on=due_on, now=now, actor=actor)
            else:
                event = EventRecord(action="import", before=None, after=State.draft.value, at=now, actor=actor)
            await add_event(session, proposal_id=result.proposal_id, event=event)
        elif result.outcome is UpsertOutcome.UPDATED:
            update = EventRecord(action="update", before=result.state, after=result.state, at=now, actor=actor)
            await add_event(session, proposal_id=result.proposal_id, event=update)
            if result.state == State.draft.value and wanted is State.assigned:
                # A draft that now has its lead unit and 交办日 starts its clock, as a new item would.
                assign = _assign_event(row, due_on=due_on, now=now, actor=actor)
                await set_state(session, proposal_id=result.proposal_id, state=State.assigned.value, event=assign)
        if progress is not None and (done % PROGRESS_EVERY == 0 or done == len(rows)):
            progress(done, len(rows))
    await session.flush()
    if touched:
        await rebuild_cards(session, proposal_ids=touched)
    return ImportReport(
        created=counts[UpsertOutcome.CREATED],
        updated=counts[UpsertOutcome.UPDATED],
        unchanged=counts[UpsertOutcome.UNCHANGED],
        warnings=tuple(warnings.values()),
    )


# ------------------------------------------------------------------------------------------------- the CLI


def _rows(count: int, adjective: str = "") -> str:
    """`1 bad row`, `3 bad rows`: English counts read right."""
    word = "row" if count == 1 else "rows"
    return f"{count} {adjective} {word}" if adjective else f"{count} {word}"


def _say(stream: TextIO, zh: str, en: str) -> None:
    print(f"{zh} / {en}", file=stream)


def _read_head(path: Path) -> bytes:
    """The file, or its first ``MAX_BYTES + 1`` bytes: enough for ``read_sheet`` to reject an oversized file."""
    with path.open("rb") as handle:
        return handle.read(MAX_BYTES + 1)


def _note_drafts(rows: Sequence[ImportRow], out: TextIO) -> None:
    """Say which rows stay drafts because the lead unit or the 交办日期 is missing (both are allowed)."""
    no_date = sum(1 for r in rows if r.lead_unit and r.assigned_on is None)
    no_unit = sum(1 for r in rows if r.lead_unit is None and r.assigned_on is not None)
    if no_date:
        _say(
            out,
            f"注意：{no_date} 行有主办单位但没有交办日期，这些条目保持草稿状态，没有答复期限",
            f"note: {_rows(no_date)} with a lead unit but no assigned date; such items stay drafts without a due day",
        )
    if no_unit:
        _say(
            out,
            f"注意：{no_unit} 行有交办日期但没有主办单位，交办日期不会保存，这些条目保持草稿状态",
            f"note: {_rows(no_unit)} with an assigned date but no lead unit; the date is not stored and such items "
            "stay drafts",
        )


def _check_suffix(path: Path, err: TextIO, *, verb_zh: str, verb_en: str) -> bool:
    if path.suffix.lower() in SUPPORTED_SUFFIXES:
        return True
    _say(
        err,
        f"不支持{verb_zh}“{path.suffix or '无扩展名'}”文件：{path.name}，请使用 .xlsx 或 .csv",
        f"cannot {verb_en} {path.suffix or 'extensionless'} files: {path.name}; use .xlsx or .csv",
    )
    return False


async def _open(settings: Settings) -> AsyncEngine:
    """The engine of the configured database, migrated on SQLite (DESIGN §6: every command that opens it)."""
    engine = create_engine(settings.database_url)
    try:
        if settings.is_sqlite:
            await upgrade(engine)
    except BaseException:
        await engine.dispose()
        raise
    return engine


async def run_import(
    settings: Settings,
    path: Path,
    *,
    dry_run: bool,
    out: TextIO,
    err: TextIO,
    clock: Clock | None = None,
) -> int:
    """``proposal-bot import FILE [--dry-run]``: 0 when every row is good (and, without --dry-run, stored).

    Any bad row: every one is printed with its line number, nothing is stored, and the exit code is 1. A file
    that cannot be read at all also gives 1; an unsupported file type or a missing file gives 2.
    """
    if not _check_suffix(path, err, verb_zh="导入", verb_en="import"):
        return 2
    try:
        data = await asyncio.to_thread(_read_head, path)
    except OSError as exc:
        _say(err, f"无法读取文件 {path}：{exc.strerror or exc}", f"cannot read {path}: {exc.strerror or exc}")
        return 2
    try:
        sheet = read_sheet(path.name, data)
    except SpreadsheetError as exc:
        _say(err, f"无法导入 {path.name}：{exc.message_zh}", f"cannot import {path.name}: {exc.message_en}")
        _say(err, "未保存任何数据", "nothing was stored")
        return 1
    for notice in sheet.warnings:
        print(f"警告 / warning: {notice}", file=err)
    rows, errors = validate(sheet.rows)
    for error in errors:
        print(error, file=err)
    bad_lines = len({e.line for e in errors})
    _note_drafts(rows, out)
    if errors and not dry_run:
        _say(
            err,
            f"{bad_lines} 行有误，未保存任何数据；请修改后重新导入",
            f"{_rows(bad_lines, 'bad')}: nothing was stored; fix them and import again",
        )
        return 1

    def progress(done: int, total: int) -> None:
        if total > PROGRESS_EVERY:
            _say(err, f"已处理 {done}/{total} 行", f"processed {done} of {total} rows")

    now = (clock or SystemClock()).now()
    try:
        engine = await _open(settings)
    except (SQLAlchemyError, OSError) as exc:
        _say(err, f"无法打开数据库：{exc}", f"cannot open the database: {exc}")
        return 1
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker() as session:
            calendar = WorkCalendar(await load_overrides(session))
        if dry_run:
            report = await preview_rows(
                sessionmaker, rows, now=now, calendar=calendar, profile=settings.profile, progress=progress
            )
        else:
            report = await import_rows(
                sessionmaker, rows, now=now, calendar=calendar, profile=settings.profile, actor="cli", progress=progress
            )
    except (SQLAlchemyError, StorageError) as exc:  # StorageError: a row that breaks a unique key (Conflict)
        logger.exception("import of %s failed", path)
        _say(err, f"数据库错误，未保存任何数据：{exc}", f"database error, nothing was stored: {exc}")
        return 1
    finally:
        await engine.dispose()
    for notice in report.warnings:
        print(f"警告 / warning: {notice}", file=err)
    if dry_run:
        _say(
            out,
            f"预览（未保存）：共 {len(rows)} 行正确，将新建 {report.created} 条，更新 {report.updated} 条，"
            f"{report.unchanged} 条不变；{bad_lines} 行有误",
            f"preview (nothing stored): {_rows(len(rows), 'good')} would create {report.created}, update "
            f"{report.updated} and leave {report.unchanged} unchanged; {_rows(bad_lines, 'bad')}",
        )
        return 1 if errors else 0
    _say(
        out,
        f"已导入 {report.total} 行：新建 {report.created} 条，更新 {report.updated} 条，{report.unchanged} 条不变",
        f"imported {_rows(report.total)}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged",
    )
    return 0


async def run_export(settings: Settings, path: Path, *, out: TextIO, err: TextIO) -> int:
    """``proposal-bot export FILE``: every item as .csv or .xlsx with the import headers; 2 for a bad file type."""
    if not _check_suffix(path, err, verb_zh="导出为", verb_en="export to"):
        return 2
    try:
        engine = await _open(settings)
    except (SQLAlchemyError, OSError) as exc:
        _say(err, f"无法打开数据库：{exc}", f"cannot open the database: {exc}")
        return 1
    try:
        async with create_sessionmaker(engine)() as session:
            rows = [_export_row(item) for item in await list_items(session)]
    except SQLAlchemyError as exc:
        logger.exception("export to %s failed", path)
        _say(err, f"数据库错误：{exc}", f"database error: {exc}")
        return 1
    finally:
        await engine.dispose()
    try:
        await asyncio.to_thread(write_export, path, rows)
    except OSError as exc:
        _say(err, f"无法写入 {path}：{exc.strerror or exc}", f"cannot write {path}: {exc.strerror or exc}")
        return 1
    _say(out, f"已导出 {len(rows)} 条到 {path}", f"exported {len(rows)} items to {path}")
    return 0
