"""Bulk import and export on both engines: all-or-nothing, idempotent re-imports, due days, the CLI contract."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import bot.services.imports
from bot.domain.clock import VirtualClock, WorkCalendar
from bot.services.imports import ImportReport, import_rows, preview_rows, run_export, run_import
from bot.spreadsheets.read import read_rows
from bot.spreadsheets.validate import ImportRow, validate
from config.settings import Settings, load_settings
from storage.models import Event, Proposal, StatusCard
from storage.proposals import list_events, list_items

NOW = datetime(2024, 3, 25, 2, 0, tzinfo=UTC)
HEADER = "地区,机构,届,次,编号,类别,标题,内容,领衔代表,联名代表,主办单位,会办单位,交办日期,重点督办"
TITLE = "关于高标准打造“上海硅巷”科创街区，加速集聚科创型企业的建议"
GOOD = (
    f"长宁区,人大,17,5,018,代表建议,{TITLE},正文,康红恩,李明、王芳,长宁区科学技术委员会,区发改委,2024-01-29,是",
    "长宁区,人大,17,5,019,,关于加强社区养老服务的建议,,张三,,长宁区民政局,,2024/3/15,否",
    "长宁区,人大,17,5,020,,关于增设公交线路的建议,,李四,,,,,",
)
BAD = "长宁区,人大,17,5,021,,关于改善交通的建议,,王五,,长宁区交通委,,2024-02-30,"


def _csv(*lines: str) -> bytes:
    return ("\n".join((HEADER, *lines)) + "\n").encode("utf-8")


def _rows(*lines: str) -> list[ImportRow]:
    rows, errors = validate(read_rows("items.csv", _csv(*lines)))
    assert errors == []
    return rows


def _settings(db_url: str) -> Settings:
    return load_settings(database_url=db_url)


async def _import(sessionmaker: async_sessionmaker[AsyncSession], rows: list[ImportRow]) -> ImportReport:
    settings = _settings("sqlite+aiosqlite:///unused.db")
    return await import_rows(sessionmaker, rows, now=NOW, calendar=WorkCalendar(), profile=settings.profile)


async def _counts(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[int, int, int]:
    async with sessionmaker() as s:
        proposals = await s.scalar(select(func.count()).select_from(Proposal))
        events = await s.scalar(select(func.count()).select_from(Event))
        cards = await s.scalar(select(func.count()).select_from(StatusCard))
    return proposals or 0, events or 0, cards or 0


async def _run(settings: Settings, path: Path, *, dry_run: bool) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await run_import(settings, path, dry_run=dry_run, out=out, err=err, clock=VirtualClock(NOW))
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------------------------------- import_rows


async def test_import_rows_new_rows_created_with_events(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    report = await _import(sessionmaker, _rows(*GOOD))
    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    assert report.warnings == ()
    assert await _counts(sessionmaker) == (3, 3, 3)
    async with sessionmaker() as s:
        proposals = {p.number: p for p in await s.scalars(select(Proposal))}
        assert {n: p.state for n, p in proposals.items()} == {"018": "assigned", "019": "assigned", "020": "draft"}
        ids = {n: p.id for n, p in proposals.items()}
        (assign,) = await list_events(s, proposal_id=ids["018"])
        (draft,) = await list_events(s, proposal_id=ids["020"])
    assert (assign.action, assign.before_state, assign.after_state) == ("assign", "draft", "assigned")
    assert assign.detail == {"unit": "长宁区科学技术委员会", "due_on": "2024-04-29"}
    assert (draft.action, draft.before_state, draft.after_state) == ("import", None, "draft")


async def test_import_rows_due_days_follow_civil_code(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await _import(sessionmaker, _rows(*GOOD))
    async with sessionmaker() as s:
        stored = {i.record.number: i.record for i in await list_items(s)}
    assert stored["018"].due_on == date(2024, 4, 29)
    assert stored["019"].due_on == date(2024, 6, 17)  # 2024-06-15 is a Saturday
    assert stored["020"].due_on is None
    assert stored["018"].co_signers == ("李明", "王芳")
    assert stored["018"].key_supervised is True


async def test_import_rows_same_rows_again_unchanged_and_database_untouched(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _import(sessionmaker, _rows(*GOOD))
    before = await _counts(sessionmaker)
    report = await _import(sessionmaker, _rows(*GOOD))
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert await _counts(sessionmaker) == before


async def test_import_rows_changed_title_updates_and_logs_event(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _import(sessionmaker, _rows(*GOOD))
    changed = GOOD[1].replace("关于加强社区养老服务的建议", "关于加强社区养老服务的新建议")
    report = await _import(sessionmaker, _rows(GOOD[0], changed, GOOD[2]))
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    assert await _counts(sessionmaker) == (3, 4, 3)
    async with sessionmaker() as s:
        proposal = await s.scalar(select(Proposal).where(Proposal.number == "019"))
        assert proposal is not None
        assert proposal.title == "关于加强社区养老服务的新建议"
        events = await list_events(s, proposal_id=proposal.id)
    assert [(e.action, e.before_state, e.after_state) for e in events] == [
        ("assign", "draft", "assigned"),
        ("update", "assigned", "assigned"),
    ]


async def test_import_rows_draft_gaining_unit_and_date_becomes_assigned(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    await _import(sessionmaker, _rows(GOOD[2]))
    completed = "长宁区,人大,17,5,020,,关于增设公交线路的建议,,李四,,长宁区交通委,,2024-01-29,"
    report = await _import(sessionmaker, _rows(completed))
    assert report.updated == 1
    async with sessionmaker() as s:
        proposal = await s.scalar(select(Proposal).where(Proposal.number == "020"))
        assert proposal is not None
        assert proposal.state == "assigned"
        events = await list_events(s, proposal_id=proposal.id)
    assert [e.action for e in events] == ["import", "update", "assign"]


async def test_import_rows_years_without_holiday_data_warn_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    rows = _rows(
        "长宁区,人大,17,5,030,,标题甲,,,,科委,,2099-01-10,",
        "长宁区,人大,17,5,031,,标题乙,,,,科委,,2099-02-10,",
    )
    report = await _import(sessionmaker, rows)
    assert [str(w) for w in report.warnings] == ["2099 年节假日数据缺失 / holiday data missing for 2099"]


async def test_preview_rows_reports_counts_and_stores_nothing(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    settings = _settings("sqlite+aiosqlite:///unused.db")
    report = await preview_rows(sessionmaker, _rows(*GOOD), now=NOW, calendar=WorkCalendar(), profile=settings.profile)
    assert report.created == 3
    assert await _counts(sessionmaker) == (0, 0, 0)


# --------------------------------------------------------------------------------------------- run_import


async def test_run_import_one_bad_row_rejects_whole_file(
    engine: AsyncEngine, db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = tmp_path / "items.csv"
    path.write_bytes(_csv(GOOD[0], GOOD[1], BAD, GOOD[2]))
    code, _out, err = await _run(_settings(db_url), path, dry_run=False)
    assert code == 1
    assert "第 4 行 / line 4: 交办日期：日期不存在：2024-02-30 / assigned_on: no such date: 2024-02-30" in err
    assert "nothing was stored" in err
    assert await _counts(sessionmaker) == (0, 0, 0)


async def test_run_import_good_rows_store_then_second_run_changes_nothing(
    engine: AsyncEngine, db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = tmp_path / "items.csv"
    path.write_bytes(_csv(*GOOD))
    code, out, err = await _run(_settings(db_url), path, dry_run=False)
    assert (code, err) == (0, "")
    assert "imported 3 rows: 3 created, 0 updated, 0 unchanged" in out
    before = await _counts(sessionmaker)
    code, out, err = await _run(_settings(db_url), path, dry_run=False)
    assert code == 0
    assert "0 created, 0 updated, 3 unchanged" in out
    assert await _counts(sessionmaker) == before == (3, 3, 3)


async def test_run_import_dry_run_good_file_exits_0_and_stores_nothing(
    engine: AsyncEngine, db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = tmp_path / "items.csv"
    path.write_bytes(_csv(*GOOD))
    code, out, err = await _run(_settings(db_url), path, dry_run=True)
    assert (code, err) == (0, "")
    assert "preview (nothing stored): 3 good rows would create 3, update 0 and leave 0 unchanged; 0 bad rows" in out
    assert out.startswith("预览（未保存）")
    assert await _counts(sessionmaker) == (0, 0, 0)


async def test_run_import_dry_run_bad_row_exits_1_naming_line(
    engine: AsyncEngine, db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = tmp_path / "items.csv"
    path.write_bytes(_csv(GOOD[0], BAD, "长宁区,政府,17,5,022,,标题,,,,,,,"))
    code, out, err = await _run(_settings(db_url), path, dry_run=True)
    assert code == 1
    assert err.splitlines() == [
        "第 3 行 / line 3: 交办日期：日期不存在：2024-02-30 / assigned_on: no such date: 2024-02-30",
        "第 4 行 / line 4: 机构：应为“人大”或“政协”，而不是“政府” / body: must be 人大 or 政协, not '政府'",
    ]
    assert "would create 1, update 0 and leave 0 unchanged; 2 bad rows" in out
    assert await _counts(sessionmaker) == (0, 0, 0)


async def test_run_import_unreadable_file_exits_1_with_reason(engine: AsyncEngine, db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "items.xlsx"
    path.write_bytes(b"PK\x03\x04 broken")
    code, out, err = await _run(_settings(db_url), path, dry_run=True)
    assert code == 1
    assert "the workbook is damaged" in err
    assert out == ""


@pytest.mark.parametrize("name", ["items.ods", "missing.csv"])
async def test_run_import_unsupported_or_missing_file_exits_2(db_url: str, tmp_path: Path, name: str) -> None:
    if name.endswith(".ods"):
        (tmp_path / name).write_bytes(b"x")
    code, _out, err = await _run(_settings(db_url), tmp_path / name, dry_run=False)
    assert code == 2
    assert name in err


async def test_run_import_large_file_prints_progress(
    engine: AsyncEngine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.services.imports, "PROGRESS_EVERY", 2)
    path = tmp_path / "items.csv"
    path.write_bytes(_csv(*(f"长宁区,人大,17,5,{n:03d},,标题{n},,,,,,," for n in range(1, 6))))
    code, _out, err = await _run(_settings(db_url), path, dry_run=False)
    assert code == 0
    assert [line for line in err.splitlines() if "processed" in line] == [
        "已处理 2/5 行 / processed 2 of 5 rows",
        "已处理 4/5 行 / processed 4 of 5 rows",
        "已处理 5/5 行 / processed 5 of 5 rows",
    ]


async def test_run_import_unit_or_date_alone_notes_drafts_and_reexports_unchanged(
    engine: AsyncEngine, db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    settings = _settings(db_url)
    path = tmp_path / "items.csv"
    path.write_bytes(
        _csv(
            "长宁区,人大,17,5,040,,标题甲,,,,长宁区民政局,区发改委,,",
            "长宁区,人大,17,5,041,,标题乙,,,,,区发改委,2024-01-29,",
        )
    )
    code, out, _err = await _run(settings, path, dry_run=False)
    assert code == 0
    assert "note: 1 row with a lead unit but no assigned date; such items stay drafts without a due day" in out
    assert "note: 1 row with an assigned date but no lead unit; the date is not stored" in out
    async with sessionmaker() as s:
        stored = await list_items(s)
    assert [(i.state, i.record.assigned_on, i.record.due_on) for i in stored] == [("draft", None, None)] * 2
    again = tmp_path / "again.csv"
    assert await run_export(settings, again, out=io.StringIO(), err=io.StringIO()) == 0
    code, out, _err = await _run(settings, again, dry_run=True)
    assert "would create 0, update 0 and leave 2 unchanged" in out


# --------------------------------------------------------------------------------------------- run_export


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_run_export_then_reimport_is_unchanged(
    engine: AsyncEngine,
    db_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    suffix: str,
) -> None:
    settings = _settings(db_url)
    source = tmp_path / "items.csv"
    source.write_bytes(_csv(*GOOD))
    assert (await _run(settings, source, dry_run=False))[0] == 0
    before = await _counts(sessionmaker)
    exported = tmp_path / f"export{suffix}"
    out, err = io.StringIO(), io.StringIO()
    assert await run_export(settings, exported, out=out, err=err) == 0
    assert f"exported 3 items to {exported}" in out.getvalue()
    code, out_text, err_text = await _run(settings, exported, dry_run=False)
    assert code == 0
    assert err_text.splitlines() == [
        "警告 / warning: 已忽略只读列（导入不会修改）：答复期限、状态、逾期天数、办理结果类别、答复日期、满意度"
        " / ignored read-only columns (an import never changes them): due_on, state, days_overdue, result_class,"
        " replied_on, rating"
    ]
    assert "0 created, 0 updated, 3 unchanged" in out_text
    assert await _counts(sessionmaker) == before


async def test_run_export_unknown_extension_exits_2(db_url: str, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert await run_export(_settings(db_url), tmp_path / "items.json", out=out, err=err) == 2
    assert "use .xlsx or .csv" in err.getvalue()
    assert not (tmp_path / "items.json").exists()


async def test_run_export_sqlite_fresh_database_is_migrated(sqlite_url: str, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    path = tmp_path / "empty.csv"
    assert await run_export(_settings(sqlite_url), path, out=out, err=err) == 0
    assert path.read_bytes().decode("utf-8-sig").startswith("地区,机构,届,次,编号")
