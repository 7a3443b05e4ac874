"""Issue 13: an import never changes what it was not asked to change, and the dry run shows every change first."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.clock import VirtualClock
from bot.services.imports import run_export, run_import
from bot.spreadsheets.columns import ItemColumns
from bot.spreadsheets.merge import diff, merge, pad_numbers
from bot.spreadsheets.read import read_rows
from bot.spreadsheets.validate import ImportRow, validate
from config.settings import Settings, load_settings
from storage.proposals import list_items

NOW = datetime(2024, 3, 25, 2, 0, tzinfo=UTC)
FULL = "地区,机构,届,次,编号,类别,标题,内容,领衔代表,联名代表,主办单位,会办单位,交办日期,重点督办"
ROW_018 = (
    "长宁区,人大,17,5,018,代表建议,关于硅巷的建议,正文,康红恩,李明、王芳,长宁区科学技术委员会,"
    "区发改委、区财政局,2024-01-29,是"
)
ROW_019 = "长宁区,人大,17,5,019,,关于养老的建议,,张三,,长宁区民政局,,2024-03-15,否"


def _write(path: Path, header: str, *lines: str) -> Path:
    path.write_text("\n".join((header, *lines)) + "\n", encoding="utf-8")
    return path


async def _run(settings: Settings, path: Path, *, dry_run: bool, clear_empty: bool = False) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await run_import(
        settings, path, dry_run=dry_run, out=out, err=err, clock=VirtualClock(NOW), clear_empty=clear_empty
    )
    return code, out.getvalue(), err.getvalue()


async def _stored(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, ItemColumns]:
    async with sessionmaker() as s:
        return {
            i.record.number: ItemColumns(
                region=i.record.session.region,
                body=i.record.session.body,
                term=i.record.session.term,
                sitting=i.record.session.sitting,
                number=i.record.number,
                kind=i.record.kind,
                title=i.record.title,
                content=i.record.content,
                deputies=i.record.deputies,
                co_signers=i.record.co_signers,
                lead_unit=i.record.lead_unit,
                co_units=i.record.co_units,
                assigned_on=i.record.assigned_on,
                key_supervised=i.record.key_supervised,
            )
            for i in await list_items(s)
        }


async def test_reimport_without_co_signers_and_co_units_keeps_both(
    engine: AsyncEngine, db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """The issue's acceptance: re-importing without 联名代表 and 会办单位 keeps them; the dry run lists no change."""
    settings = load_settings(database_url=db_url)
    assert (await _run(settings, _write(tmp_path / "a.csv", FULL, ROW_018, ROW_019), dry_run=False))[0] == 0
    before = await _stored(sessionmaker)
    header = "地区,机构,届,次,编号,类别,标题,内容,领衔代表,主办单位,交办日期,重点督办"
    short = (
        "长宁区,人大,17,5,018,代表建议,关于硅巷的建议,正文,康红恩,长宁区科学技术委员会,2024-01-29,是",
        "长宁区,人大,17,5,019,,关于养老的建议,,张三,长宁区民政局,2024-03-15,否",
    )
    path = _write(tmp_path / "b.csv", header, *short)
    code, out, err = await _run(settings, path, dry_run=True)
    assert (code, err) == (0, "")
    assert "将修改" not in out
    assert "would create 0, update 0 and leave 2 unchanged" in out
    code, out, _err = await _run(settings, path, dry_run=False)
    assert "0 created, 0 updated, 2 unchanged" in out
    assert await _stored(sessionmaker) == before
    exported = tmp_path / "export.csv"
    assert await run_export(settings, exported, out=io.StringIO(), err=io.StringIO(), clock=VirtualClock(NOW)) == 0
    text = exported.read_text(encoding="utf-8-sig")
    assert "李明、王芳" in text
    assert "区发改委、区财政局" in text


async def test_changed_title_previewed_old_to_new_and_stored_only_on_import(
    engine: AsyncEngine, db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    settings = load_settings(database_url=db_url)
    await _run(settings, _write(tmp_path / "a.csv", FULL, ROW_018, ROW_019), dry_run=False)
    changed = _write(tmp_path / "b.csv", FULL, ROW_018.replace("关于硅巷的建议", "关于上海硅巷的建议"), ROW_019)
    code, out, _err = await _run(settings, changed, dry_run=True)
    assert code == 0
    assert "第 2 行 第 018 号（长宁区人大 17-5）将修改" in out
    assert "  标题/title: 关于硅巷的建议 → 关于上海硅巷的建议" in out
    assert "would create 0, update 1 and leave 1 unchanged" in out
    assert (await _stored(sessionmaker))["018"].title == "关于硅巷的建议"
    code, out, _err = await _run(settings, changed, dry_run=False)
    assert "0 created, 1 updated, 1 unchanged" in out
    assert (await _stored(sessionmaker))["018"].title == "关于上海硅巷的建议"


async def test_empty_cells_keep_values_unless_clear_empty(
    engine: AsyncEngine, db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    settings = load_settings(database_url=db_url)
    await _run(settings, _write(tmp_path / "a.csv", FULL, ROW_018), dry_run=False)
    blanked = "长宁区,人大,17,5,018,,关于硅巷的建议,,,,长宁区科学技术委员会,,2024-01-29,"
    path = _write(tmp_path / "b.csv", FULL, blanked)
    _code, out, _err = await _run(settings, path, dry_run=False)
    assert "0 updated, 1 unchanged" in out
    kept = (await _stored(sessionmaker))["018"]
    assert (kept.content, kept.deputies, kept.co_signers, kept.co_units, kept.key_supervised) == (
        "正文",
        ("康红恩",),
        ("李明", "王芳"),
        ("区发改委", "区财政局"),
        True,
    )
    _code, out, _err = await _run(settings, path, dry_run=True, clear_empty=True)
    assert "  会办单位/co_units: 区发改委、区财政局 → （空）" in out
    _code, out, _err = await _run(settings, path, dry_run=False, clear_empty=True)
    assert "1 updated" in out
    cleared = (await _stored(sessionmaker))["018"]
    assert (cleared.content, cleared.deputies, cleared.co_units, cleared.key_supervised) == ("", (), (), False)


async def test_clearing_lead_unit_of_assigned_item_refused_and_nothing_stored(
    engine: AsyncEngine, db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    settings = load_settings(database_url=db_url)
    await _run(settings, _write(tmp_path / "a.csv", FULL, ROW_018, ROW_019), dry_run=False)
    before = await _stored(sessionmaker)
    rows = (ROW_018.replace("关于硅巷的建议", "新标题"), "长宁区,人大,17,5,019,,关于养老的建议,,张三,,,,,否")
    code, _out, err = await _run(settings, _write(tmp_path / "b.csv", FULL, *rows), dry_run=False, clear_empty=True)
    assert code == 1
    assert "第 3 行 / line 3: 第 019 号已交办，不能清空主办单位或交办日期" in err
    assert "nothing was stored" in err
    assert await _stored(sessionmaker) == before


async def test_numeric_number_in_xlsx_padded_to_sitting_width(
    engine: AsyncEngine, db_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    settings = load_settings(database_url=db_url)
    await _run(settings, _write(tmp_path / "a.csv", FULL, ROW_018), dry_run=False)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["地区", "机构", "届", "次", "编号", "标题"])
    sheet.append(["长宁区", "人大", 17, 5, 81, "关于数字编号的建议"])
    path = tmp_path / "numeric.xlsx"
    workbook.save(path)
    code, _out, err = await _run(settings, path, dry_run=False)
    assert code == 0
    assert "编号是数字单元格，已按本会次其他编号的位数补零：第 2 行 81 → 081" in err
    assert set(await _stored(sessionmaker)) == {"018", "081"}


def _row(**values: object) -> ImportRow:
    cells = {"地区": "长宁区", "机构": "人大", "届": 17, "次": 5, "编号": "018", "标题": "标题"} | values
    rows, errors = validate(read_rows("x.csv", (",".join(cells) + "\n" + ",".join(map(str, cells.values()))).encode()))
    assert errors == []
    return rows[0]


def test_pad_numbers_unpadded_sitting_pads_nothing() -> None:
    row = _row()
    numeric = ImportRow(
        **{**{f: getattr(row, f) for f in row.__dataclass_fields__}, "number": "7", "numeric_number": True}
    )
    rows, notice = pad_numbers([numeric], {("长宁区", "人大", 17, 5): ["1", "12", "105"]})
    assert (rows[0].number, notice) == ("7", None)
    rows, notice = pad_numbers([numeric], {("长宁区", "人大", 17, 5): ["001", "012", "105"]})
    assert rows[0].number == "007"
    assert notice is not None


NAMES = st.lists(st.sampled_from(["甲", "乙", "丙", "丁"]), max_size=3, unique=True).map(tuple)


@given(stored_co=NAMES, row_co=NAMES, present=st.booleans(), clear=st.booleans())
def test_merge_never_touches_a_field_the_row_does_not_state(
    stored_co: tuple[str, ...], row_co: tuple[str, ...], present: bool, clear: bool
) -> None:
    """A missing column keeps the stored value; a present empty cell keeps it too unless clearing is asked."""
    base = _row()
    fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
    stored = ItemColumns(**{**{f: getattr(base, f) for f in ItemColumns.__dataclass_fields__}, "co_units": stored_co})
    cell = row_co if present else ()
    row = ImportRow(**{**fields, "co_units": cell, "given": base.given | ({"co_units"} if cell else set())})
    columns = frozenset(base.given | ({"co_units"} if present else set()))
    merged = merge(stored, row, columns=columns, clear_empty=clear)
    if not present:
        assert merged.co_units == stored_co
    elif cell:
        assert merged.co_units == cell
    else:
        assert merged.co_units == (() if clear else stored_co)
    assert [c.key for c in diff(stored, merged)] == (["co_units"] if merged.co_units != stored_co else [])
