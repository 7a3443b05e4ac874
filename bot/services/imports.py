"""Bulk import and export: plan what a file changes, show it, and store it all or not at all.

An import is planned before anything is written: the stored items of the sittings the file names are read in a
few set-based queries (``storage.imports.load_existing``), and each row is merged into its item
(``bot.spreadsheets.merge``): a missing column never touches its field, an empty cell keeps the stored value unless
``clear_empty`` is asked for. The plan is the preview (``preview_rows``, the CLI's ``--dry-run``, the chat's
preview): counts of new, changed, unchanged and bad rows, and every field a changed item changes (old → new).

``import_rows`` writes the plan in one short transaction: on SQLite it takes the write lock first, checks that
nothing changed since the plan was made (and plans again if something did), then stores everything with one
executemany per table (``storage.imports.apply_import``). Planning runs before the lock and yields to the event
loop every ``PROGRESS_EVERY`` rows, so other writers (a /follow during a long import) wait at most for the write
itself, well under SQLite's busy timeout. Only a row with both a lead unit and a 交办日期 starts a clock.

``run_import`` and ``run_export`` are ``proposal-bot import`` / ``export``: they print every bad row as
``第 N 行 / line N: reason`` and return the process exit code.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.clock import Clock, SystemClock, WorkCalendar, due_day
from bot.domain.lifecycle import Action, State, overdue_days, transition
from bot.domain.ratings import Rating
from bot.render.i18n import Lang, t
from bot.render.imports import ChangedItem, ImportPreview
from bot.services.events import event_record
from bot.spreadsheets.columns import (
    BY_KEY,
    COLUMNS,
    EXPORT_ONLY_COLUMNS,
    MAX_BYTES,
    ItemColumns,
    Notice,
    SpreadsheetError,
)
from bot.spreadsheets.merge import FieldChange, diff, merge, pad_numbers
from bot.spreadsheets.read import DEFAULT_LIMITS, ArchiveLimits, read_sheet
from bot.spreadsheets.validate import ImportRow, RowError, validate
from bot.spreadsheets.write import ExportRow, write_export
from config.settings import Jurisdiction, Settings
from storage.audit import Actor, AuditRecord, item_subject, record_audit
from storage.calendar import load_overrides
from storage.engine import create_engine, create_sessionmaker, ensure_reachable
from storage.errors import StorageError
from storage.imports import ImportWrite, Snapshot, StoredProposal, apply_import, load_existing, snapshot_changed
from storage.migrate import upgrade
from storage.proposals import EventRecord, ProposalRecord, SessionKey, StoredItem, list_items

__all__ = [
    "MAX_BYTES",
    "PROGRESS_EVERY",
    "ArchiveLimits",
    "ImportRefused",
    "ImportReport",
    "ItemChange",
    "ParsedFile",
    "PreviewOutdated",
    "SpreadsheetError",
    "export_sheet",
    "import_rows",
    "parse_file",
    "preview_of",
    "preview_rows",
    "run_export",
    "run_import",
]

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 1000
SUPPORTED_SUFFIXES = (".csv", ".xlsx")
ALL_COLUMNS = frozenset(c.key for c in COLUMNS)

#: told (rows done, rows in all) every ``PROGRESS_EVERY`` rows; it may return an awaitable (edit a chat message)
Progress = Callable[[int, int], object]


@dataclass(frozen=True, slots=True)
class ItemChange:
    """A stored item the import changes: where it is in the file, its number, and every field it changes."""

    line: int
    session: str
    number: str
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did (or, for a preview, would do). ``errors`` are rows the stored data makes bad."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: tuple[Notice, ...] = ()
    changes: tuple[ItemChange, ...] = ()
    errors: tuple[RowError, ...] = ()
    created_ids: tuple[int, ...] = ()

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def same_as(self, other: ImportReport) -> bool:
        """Whether two plans of the same rows do the same thing (a preview still holds at confirmation)."""
        return (self.created, self.updated, self.changes, self.errors) == (
            other.created,
            other.updated,
            other.changes,
            other.errors,
        )


class PreviewOutdated(Exception):
    """The stored items changed between the preview and the confirmation: nothing was stored; here is the new plan."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("the import preview is outdated")
        self.report = report


class ImportRefused(Exception):
    """The stored data makes some rows bad (``report.errors``): nothing was stored."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"{len(report.errors)} rows cannot be stored")
        self.report = report


@dataclass(frozen=True, slots=True)
class _Plan:
    writes: tuple[ImportWrite, ...]
    report: ImportReport


@dataclass(frozen=True, slots=True)
class Options:
    """How rows are applied: which columns the file has, and whether empty cells clear their field."""

    columns: frozenset[str] = ALL_COLUMNS
    clear_empty: bool = False
    read_only: tuple[str, ...] = ()


def read_only_notice(keys: Sequence[str]) -> Notice | None:
    """The one line that says which read-only (export) columns the file has and that they are ignored."""
    if not keys:
        return None
    columns = [BY_KEY[k] for k in keys]
    return Notice(
        "已忽略只读列（导入不会修改）：" + "、".join(c.zh for c in columns),
        "ignored read-only columns (an import never changes them): " + ", ".join(c.en for c in columns),
    )


def _record_columns(r: ProposalRecord) -> dict[str, Any]:
    """A stored record's values by import column (what ``ItemColumns`` and ``ExportRow`` share)."""
    return {
        "region": r.session.region,
        "body": r.session.body,
        "term": r.session.term,
        "sitting": r.session.sitting,
        "number": r.number,
        "kind": r.kind,
        "title": r.title,
        "content": r.content,
        "deputies": r.deputies,
        "co_signers": r.co_signers,
        "lead_unit": r.lead_unit,
        "co_units": r.co_units,
        "assigned_on": r.assigned_on,
        "key_supervised": r.key_supervised,
    }


def _stored_columns(item: StoredProposal) -> ItemColumns:
    return ItemColumns(**_record_columns(item.record))


def _key(row: ItemColumns) -> SessionKey:
    return SessionKey(region=row.region, body=row.body, term=row.term, sitting=row.sitting)


class _Planner:
    """Turns rows into writes against one snapshot of the stored items; due days cached per 交办日."""

    def __init__(
        self,
        *,
        snapshot: Snapshot,
        options: Options,
        now: datetime,
        calendar: WorkCalendar,
        profile: Jurisdiction,
        actor: str | None,
    ) -> None:
        self.snapshot = snapshot
        self.options = options
        self.now = now
        self.calendar = calendar
        self.profile = profile
        self.actor = actor
        self.warnings: dict[str, Notice] = {}
        self._due: dict[date, tuple[date, date]] = {}

    def due(self, assigned_on: date) -> tuple[date, date]:
        cached = self._due.get(assigned_on)
        if cached is not None:
            return cached
        clocks = [
            due_day(assigned_on, months=months, calendar=self.calendar, roll_to_workday=self.profile.roll_to_workday)
            for months in (self.profile.reply_months, self.profile.co_opinion_months)
        ]
        for clock in clocks:
            for en, zh in zip(clock.warnings, clock.warnings_zh, strict=True):
                self.warnings.setdefault(en, Notice(zh, en))
        self._due[assigned_on] = (clocks[0].day, clocks[1].day)
        return self._due[assigned_on]

    def _assign_event(self, merged: ItemColumns, due_on: date | None) -> EventRecord:
        detail = {"unit": merged.lead_unit or ""}
        if due_on is not None:
            detail["due_on"] = due_on.isoformat()
        return event_record(transition(State.draft, Action.assign, at=self.now, actor=self.actor, detail=detail))

    def row(self, row: ImportRow) -> tuple[str, ImportWrite | None, ItemChange | None, RowError | None]:
        stored = self.snapshot.items.get((_key(row), row.number_key))
        before = _stored_columns(stored) if stored is not None else None
        merged = merge(before, row, columns=self.options.columns, clear_empty=self.options.clear_empty)
        # 交办 means handing the item to a lead unit: a date without one is not stored (an export would lose it)
        if merged.lead_unit is None and merged.assigned_on is not None:
            merged = replace(merged, assigned_on=None)
        assignable = merged.lead_unit is not None and merged.assigned_on is not None
        due_on = co_due_on = None
        if assignable and merged.assigned_on is not None:
            due_on, co_due_on = self.due(merged.assigned_on)
        record = ProposalRecord(
            session=_key(merged),
            number=merged.number,
            number_key=row.number_key,
            title=merged.title,
            kind=merged.kind,
            content=merged.content,
            deputies=merged.deputies,
            co_signers=merged.co_signers,
            lead_unit=merged.lead_unit,
            co_units=merged.co_units,
            assigned_on=merged.assigned_on,
            due_on=due_on,
            co_due_on=co_due_on,
            key_supervised=merged.key_supervised,
            public=stored.record.public if stored is not None else True,
        )
        if stored is None or before is None:
            if assignable:
                state, event = State.assigned.value, self._assign_event(merged, due_on)
            else:
                state = State.draft.value
                event = EventRecord(action="import", before=None, after=state, at=self.now, actor=self.actor)
            return "created", ImportWrite(record, None, state, (event,)), None, None
        changes = diff(before, merged)
        if not changes:
            return "unchanged", None, None, None
        if stored.state != State.draft.value and not assignable:
            return (
                "bad",
                None,
                None,
                RowError(
                    row.line,
                    f"第 {merged.number} 号已交办，不能清空主办单位或交办日期（换单位请用 /assign）",
                    f"No. {merged.number} is assigned: its lead unit and assigned date cannot be cleared "
                    "(use /assign to change the unit)",
                ),
            )
        fields = [c.key for c in changes]
        events = [
            EventRecord(
                action="update",
                before=stored.state,
                after=stored.state,
                at=self.now,
                actor=self.actor,
                detail={"fields": fields},
            )
        ]
        state = stored.state
        if stored.state == State.draft.value and assignable:
            # a draft that now has its lead unit and 交办日 starts its clock, as a new item would
            state = State.assigned.value
            events.append(self._assign_event(merged, due_on))
        change = ItemChange(row.line, record.session.label, stored.record.number, changes)
        return "updated", ImportWrite(record, stored, state, tuple(events)), change, None


def _sittings(rows: Iterable[ImportRow]) -> set[SessionKey]:
    return {_key(r) for r in rows}


async def _plan(
    rows: Sequence[ImportRow],
    snapshot: Snapshot,
    *,
    options: Options,
    now: datetime,
    calendar: WorkCalendar,
    profile: Jurisdiction,
    actor: str | None,
    progress: Progress | None,
) -> _Plan:
    """Plan every row against `snapshot`, yielding to the event loop every ``PROGRESS_EVERY`` rows."""
    rows, padded = pad_numbers(rows, snapshot.numbers())
    planner = _Planner(snapshot=snapshot, options=options, now=now, calendar=calendar, profile=profile, actor=actor)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "bad": 0}
    writes: list[ImportWrite] = []
    changes: list[ItemChange] = []
    errors: list[RowError] = []
    for done, row in enumerate(rows, start=1):
        outcome, write, change, error = planner.row(row)
        counts[outcome] += 1
        if write is not None:
            writes.append(write)
        if change is not None:
            changes.append(change)
        if error is not None:
            errors.append(error)
        if done % PROGRESS_EVERY == 0 or done == len(rows):
            if progress is not None:
                told = progress(done, len(rows))
                if inspect.isawaitable(told):
                    await told
            await asyncio.sleep(0)  # a long file never holds the event loop for long
    notices = [n for n in (read_only_notice(options.read_only), padded) if n is not None]
    report = ImportReport(
        created=counts["created"],
        updated=counts["updated"],
        unchanged=counts["unchanged"],
        warnings=(*notices, *planner.warnings.values()),
        changes=tuple(changes),
        errors=tuple(errors),
    )
    return _Plan(tuple(writes), report)


async def preview_rows(
    sessionmaker: async_sessionmaker[AsyncSession],
    rows: Sequence[ImportRow],
    *,
    now: datetime,
    calendar: WorkCalendar,
    profile: Jurisdiction,
    options: Options | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """What ``import_rows`` would do, computed by the same planner, writing nothing."""
    async with sessionmaker() as session:
        snapshot = await load_existing(session, _sittings(rows))
    plan = await _plan(
        rows,
        snapshot,
        options=options or Options(),
        now=now,
        calendar=calendar,
        profile=profile,
        actor=None,
        progress=progress,
    )
    return plan.report


async def _take_write_lock(session: AsyncSession) -> None:
    """On SQLite, begin the write now: the plan is checked under the lock, so no other writer slips in between."""
    conn = await session.connection()
    if conn.dialect.name == "sqlite":
        await conn.execute(text("UPDATE sessions SET id = id WHERE 0"))


async def import_rows(
    sessionmaker: async_sessionmaker[AsyncSession],
    rows: Sequence[ImportRow],
    *,
    now: datetime,
    calendar: WorkCalendar,
    profile: Jurisdiction,
    actor: str | None = None,
    options: Options | None = None,
    progress: Progress | None = None,
    expect: ImportReport | None = None,
    on_stored: Callable[[AsyncSession, ImportReport], object] | None = None,
    audit: Actor | None = None,
) -> ImportReport:
    """Store every row in one short transaction, or none.

    Raises ``ImportRefused`` when the stored data makes rows bad, and ``PreviewOutdated`` when `expect` (the
    preview the admin confirmed) no longer matches what the import would do. With `audit`, the import is recorded
    in the audit log in the same transaction: one entry per changed item (every field old → new) and one for the
    whole import.
    """
    options = options or Options()
    sittings = _sittings(rows)
    async with sessionmaker() as session:
        snapshot = await load_existing(session, sittings)
    kwargs = {"options": options, "now": now, "calendar": calendar, "profile": profile, "actor": actor}
    plan = await _plan(rows, snapshot, progress=progress, **kwargs)  # type: ignore[arg-type]
    async with sessionmaker.begin() as session:
        await _take_write_lock(session)
        if await snapshot_changed(session, snapshot, sittings):
            # another writer came in between: plan again, under the lock (rare, and still set-based)
            snapshot = await load_existing(session, sittings)
            plan = await _plan(rows, snapshot, progress=None, **kwargs)  # type: ignore[arg-type]
        if plan.report.errors:
            raise ImportRefused(plan.report)
        if expect is not None and not plan.report.same_as(expect):
            raise PreviewOutdated(plan.report)
        await apply_import(session, plan.writes, now=now)
        if audit is not None:
            await record_audit(session, _audit_records(plan), actor=audit, now=now)
        if on_stored is not None:
            result = on_stored(session, plan.report)
            if asyncio.iscoroutine(result):
                await result
    return plan.report


def _audit_records(plan: _Plan) -> list[AuditRecord]:
    """The import in the audit log: each changed item with its fields old → new, then the counts."""
    ids = {(w.record.session.label, w.existing.record.number): w.existing.id for w in plan.writes if w.existing}
    records = [
        AuditRecord(
            "import",
            item_subject(c.session, c.number),
            {f.key: f.old for f in c.changes},
            {f.key: f.new for f in c.changes},
            ids.get((c.session, c.number)),
        )
        for c in plan.report.changes
    ]
    created = [f"{w.record.session.label} {w.record.number}" for w in plan.writes if w.existing is None]
    report = plan.report
    summary = {"created": str(report.created), "updated": str(report.updated), "unchanged": str(report.unchanged)}
    if created:
        summary["new_items"] = "、".join(created[:50]) + ("…" if len(created) > 50 else "")
    records.append(AuditRecord("import", f"导入 {report.total} 行", {}, summary))
    return records


def _export_row(item: StoredItem, today: date) -> ExportRow:
    """The way back: a stored item as the sheet's columns, with the read-only facts an admin reads."""
    r = item.record
    overdue = overdue_days(State(item.state), r.due_on, today)
    return ExportRow(
        **_record_columns(r),
        due_on=r.due_on,
        state=item.state,
        days_overdue=overdue or None,
        result_class=item.result_class,
        replied_on=item.replied_on,
        rating=item.rating,
    )


async def export_rows(session: AsyncSession, *, today: date, session_id: int | None = None) -> list[ExportRow]:
    """Every item (of one sitting, if given) as export rows."""
    return [_export_row(item, today) for item in await list_items(session, session_id=session_id)]


def _sheet_bytes(rows: Sequence[ExportRow], lang: Lang) -> bytes:
    with tempfile.TemporaryDirectory(prefix="proposal-export-") as folder:
        path = Path(folder) / "export.xlsx"
        write_items(path, rows, lang=lang)
        return path.read_bytes()


async def export_sheet(
    session: AsyncSession, *, today: date, lang: Lang, session_ids: Sequence[int] | None = None
) -> tuple[bytes, int]:
    """The chat's /export: an .xlsx of every item (of these sessions, if given) and how many rows it has.

    Headers, states and ratings are in `lang`; the file re-imports without changes. Written off the event loop.
    """
    rows: list[ExportRow] = []
    if session_ids is None:
        rows = await export_rows(session, today=today)
    for session_id in session_ids or ():
        rows += await export_rows(session, today=today, session_id=session_id)
    return await asyncio.to_thread(_sheet_bytes, rows, lang), len(rows)


def preview_of(name: str, parsed: ParsedFile, report: ImportReport, *, lang: Lang, clear_empty: bool) -> ImportPreview:
    """The chat preview of a planned import, in `lang`: bad rows from the file and from the stored data together."""
    zh = lang == "zh"
    errors = sorted((*parsed.errors, *report.errors), key=lambda e: e.line)
    notices = dict.fromkeys((n.zh if zh else n.en) for n in (*parsed.warnings, *report.warnings))
    changed = tuple(
        ChangedItem(c.line, c.session, c.number, tuple((f.label(lang), f.old, f.new) for f in c.changes))
        for c in report.changes
    )
    return ImportPreview(
        file_name=name,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        bad=tuple((e.line, e.reason_zh if zh else e.reason_en) for e in errors),
        changed=changed,
        warnings=tuple(notices),
        clear_empty=clear_empty,
    )


def write_items(path: Path, rows: Sequence[ExportRow], *, lang: Lang = "zh") -> None:
    """Write an export with headers, states and ratings in `lang`; both languages' headers re-import."""
    headers = None if lang == "zh" else {c.key: c.en for c in (*COLUMNS, *EXPORT_ONLY_COLUMNS)}
    labels = {
        "state": {s.value: t(lang, f"state.{s.value}") for s in State},
        "rating": {r.value: t(lang, f"rating.{r.value}") for r in Rating},
    }
    write_export(path, rows, headers=headers, labels=labels)


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
        await ensure_reachable(engine)  # an outage is DatabaseUnavailable: bot/__main__ prints it as one line
        if settings.is_sqlite:
            await upgrade(engine)
    except BaseException:
        await engine.dispose()
        raise
    return engine


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """An import file read and validated: its good rows, bad rows, how to apply them, and warnings."""

    rows: tuple[ImportRow, ...]
    errors: tuple[RowError, ...]
    columns: frozenset[str]
    read_only: tuple[str, ...]
    warnings: tuple[Notice, ...]

    def options(self, *, clear_empty: bool = False) -> Options:
        return Options(columns=self.columns, clear_empty=clear_empty, read_only=self.read_only)

    @property
    def bad_lines(self) -> int:
        return len({e.line for e in self.errors})


def _parse(name: str, data: bytes, limits: ArchiveLimits) -> ParsedFile:
    sheet = read_sheet(name, data, limits=limits)
    rows, errors = validate(sheet.rows)
    return ParsedFile(tuple(rows), tuple(errors), frozenset(sheet.columns), sheet.read_only, sheet.warnings)


async def parse_file(name: str, data: bytes, *, limits: ArchiveLimits = DEFAULT_LIMITS) -> ParsedFile:
    """Read and validate an import file off the event loop; raises ``SpreadsheetError`` for a whole-file problem
    (a workbook that unpacks beyond ``limits`` among them)."""
    return await asyncio.to_thread(_parse, name, data, limits)


#: How many changed items a preview lists field by field (the counts always cover them all).
SHOWN_CHANGES = 50


def _print_changes(report: ImportReport, out: TextIO, *, limit: int | None = None) -> None:
    shown = report.changes if limit is None else report.changes[:limit]
    for item in shown:
        _say(
            out,
            f"第 {item.line} 行 第 {item.number} 号（{item.session}）将修改：",
            f"line {item.line} No. {item.number} ({item.session}) changes:",
        )
        for change in item.changes:
            print(
                f"  {change.label('zh')}/{change.label('en')}: {change.old or '（空）'} → {change.new or '（空）'}",
                file=out,
            )


async def run_import(
    settings: Settings,
    path: Path,
    *,
    dry_run: bool,
    out: TextIO,
    err: TextIO,
    clock: Clock | None = None,
    clear_empty: bool = False,
) -> int:
    """``proposal-bot import FILE [--dry-run] [--clear-empty]``: 0 when every row is good (and stored).

    Any bad row: every one is printed with its line number, nothing is stored, and the exit code is 1. A file
    that cannot be read at all also gives 1; an unsupported file type or a missing file gives 2. The dry run
    prints every field each changed item would change (old → new).
    """
    if not _check_suffix(path, err, verb_zh="导入", verb_en="import"):
        return 2
    try:
        data = await asyncio.to_thread(_read_head, path)
    except OSError as exc:
        _say(err, f"无法读取文件 {path}：{exc.strerror or exc}", f"cannot read {path}: {exc.strerror or exc}")
        return 2
    try:
        parsed = await parse_file(path.name, data, limits=ArchiveLimits.of(settings))
    except SpreadsheetError as exc:
        _say(err, f"无法导入 {path.name}：{exc.message_zh}", f"cannot import {path.name}: {exc.message_en}")
        _say(err, "未保存任何数据", "nothing was stored")
        return 1
    for notice in parsed.warnings:
        print(f"警告 / warning: {notice}", file=err)
    for error in parsed.errors:
        print(error, file=err)
    rows = list(parsed.rows)
    bad_lines = parsed.bad_lines
    _note_drafts(rows, out)
    if parsed.errors and not dry_run:
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
    options = parsed.options(clear_empty=clear_empty)
    refused: ImportReport | None = None
    try:
        async with sessionmaker() as session:
            calendar = WorkCalendar(await load_overrides(session))
        if dry_run:
            report = await preview_rows(
                sessionmaker,
                rows,
                now=now,
                calendar=calendar,
                profile=settings.profile,
                options=options,
                progress=progress,
            )
        else:
            report = await import_rows(
                sessionmaker,
                rows,
                now=now,
                calendar=calendar,
                profile=settings.profile,
                actor="cli",
                options=options,
                progress=progress,
                audit=Actor(None, "cli"),
            )
    except ImportRefused as exc:
        refused = report = exc.report
    except (SQLAlchemyError, StorageError) as exc:  # StorageError: a row that breaks a unique key (Conflict)
        logger.exception("import of %s failed", path)
        _say(err, f"数据库错误，未保存任何数据：{exc}", f"database error, nothing was stored: {exc}")
        return 1
    finally:
        await engine.dispose()
    for notice in report.warnings:
        print(f"警告 / warning: {notice}", file=err)
    for error in report.errors:
        print(error, file=err)
    bad_lines += len({e.line for e in report.errors})
    if refused is not None:
        _say(
            err,
            f"{bad_lines} 行有误，未保存任何数据；请修改后重新导入",
            f"{_rows(bad_lines, 'bad')}: nothing was stored; fix them and import again",
        )
        return 1
    if dry_run:
        _print_changes(report, out)
        _say(
            out,
            f"预览（未保存）：共 {len(rows)} 行正确，将新建 {report.created} 条，更新 {report.updated} 条，"
            f"{report.unchanged} 条不变；{bad_lines} 行有误",
            f"preview (nothing stored): {_rows(len(rows), 'good')} would create {report.created}, update "
            f"{report.updated} and leave {report.unchanged} unchanged; {_rows(bad_lines, 'bad')}",
        )
        return 1 if bad_lines else 0
    _say(
        out,
        f"已导入 {report.total} 行：新建 {report.created} 条，更新 {report.updated} 条，{report.unchanged} 条不变",
        f"imported {_rows(report.total)}: {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged",
    )
    return 0


async def run_export(settings: Settings, path: Path, *, out: TextIO, err: TextIO, clock: Clock | None = None) -> int:
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
            rows = await export_rows(session, today=(clock or SystemClock()).now().astimezone(settings.tz).date())
    except SQLAlchemyError as exc:
        logger.exception("export to %s failed", path)
        _say(err, f"数据库错误：{exc}", f"database error: {exc}")
        return 1
    finally:
        await engine.dispose()
    try:
        await asyncio.to_thread(write_items, path, rows)
    except OSError as exc:
        _say(err, f"无法写入 {path}：{exc.strerror or exc}", f"cannot write {path}: {exc.strerror or exc}")
        return 1
    _say(out, f"已导出 {len(rows)} 条到 {path}", f"exported {len(rows)} items to {path}")
    return 0
