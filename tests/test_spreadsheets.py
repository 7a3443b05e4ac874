"""Import files without a database: reading .csv/.xlsx, header matching, validation reasons, exports, fuzz."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.spreadsheets.columns import COLUMNS, EXPORT_ONLY_COLUMNS, MAX_BYTES, ItemColumns, SpreadsheetError
from bot.spreadsheets.read import RawRow, read_rows, read_sheet
from bot.spreadsheets.validate import ImportRow, RowError, validate
from bot.spreadsheets.write import ExportRow, write_export

ZH_HEADER = "地区,机构,届,次,编号,类别,标题,内容,领衔代表,联名代表,主办单位,会办单位,交办日期,重点督办"
EN_HEADER = (
    "region,body,term,sitting,number,kind,title,content,deputies,co_signers,lead_unit,co_units,assigned_on,"
    "key_supervised"
)
TITLE = "关于高标准打造“上海硅巷”科创街区，加速集聚科创型企业的建议"
GOOD_LINE = f"长宁区,人大,17,5,018,代表建议,{TITLE},正文,康红恩,李明、王芳,长宁区科学技术委员会,区发改委,2024-01-29,是"
MINIMAL_HEADER = "地区,机构,届,次,编号,标题"


def _csv(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def _raw(line: int = 2, **values: Any) -> RawRow:
    base: dict[str, Any] = {"region": "长宁区", "body": "人大", "term": "17", "sitting": "5", "number": "018"}
    base["title"] = "标题"
    base.update(values)
    return RawRow(line=line, values=base)


def _one(**values: Any) -> ImportRow:
    rows, errors = validate([_raw(**values)])
    assert errors == []
    assert len(rows) == 1
    return rows[0]


def _errors(*raws: RawRow) -> list[RowError]:
    _rows, errors = validate(raws)
    assert errors
    return errors


def _xlsx(tmp_path: Path, rows: list[list[Any]], *, formats: dict[str, str] | None = None) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    for ref, fmt in (formats or {}).items():
        sheet[ref].number_format = fmt
    path = tmp_path / "items.xlsx"
    workbook.save(path)
    return path.read_bytes()


# ------------------------------------------------------------------------------------------------ reading


@pytest.mark.parametrize("header", [ZH_HEADER, EN_HEADER], ids=["zh", "en"])
def test_read_rows_zh_or_en_header_maps_every_column(header: str) -> None:
    rows = read_rows("items.csv", _csv(header, GOOD_LINE))
    assert len(rows) == 1
    assert rows[0].line == 2
    assert rows[0].values["number"] == "018"
    assert rows[0].values["co_signers"] == "李明、王芳"
    assert rows[0].values["assigned_on"] == "2024-01-29"


def test_read_rows_header_with_spaces_and_case_matches() -> None:
    header = " Region , BODY,Term ,sitting,NUMBER,Title,co signers,Lead_Unit,交办 日期"
    rows = read_rows("items.csv", _csv(header, "长宁区,人大,17,5,018,标题,李明,科委,2024-01-29"))
    assert rows[0].values["co_signers"] == "李明"
    assert rows[0].values["lead_unit"] == "科委"
    assert rows[0].values["assigned_on"] == "2024-01-29"


def test_read_rows_title_alias_and_bilingual_header_match() -> None:
    header = "地区/region,机构（body）,届,次,编号,案由"
    rows = read_rows("items.csv", _csv(header, "长宁区,人大,17,5,018,案由文字"))
    assert rows[0].values["title"] == "案由文字"


def test_read_sheet_unknown_columns_ignored_with_warning() -> None:
    sheet = read_sheet("items.csv", _csv(MINIMAL_HEADER + ",备注,Foo", "长宁区,人大,17,5,018,标题,随便,x"))
    assert "备注" not in sheet.rows[0].values
    assert len(sheet.warnings) == 1
    assert "备注" in sheet.warnings[0].zh
    assert "Foo" in sheet.warnings[0].en


def test_read_rows_export_only_columns_ignored_silently() -> None:
    sheet = read_sheet(
        "items.csv", _csv(MINIMAL_HEADER + ",答复期限,状态", "长宁区,人大,17,5,018,标题,2024-04-29,已交办")
    )
    assert sheet.warnings == ()
    assert "due_on" not in sheet.rows[0].values


def test_read_rows_gb18030_csv_decodes_chinese() -> None:
    data = _csv(ZH_HEADER, GOOD_LINE, encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    rows = read_rows("items.csv", data)
    assert rows[0].values["title"] == TITLE
    assert rows[0].values["lead_unit"] == "长宁区科学技术委员会"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_read_rows_utf16_csv_decodes_chinese(encoding: str) -> None:
    """Excel's "Unicode text" is UTF-16 with tabs; the letter reader accepts the same encodings."""
    data = (ZH_HEADER + "\r\n" + GOOD_LINE + "\r\n").replace(",", "\t").encode(encoding)
    assert read_rows("items.csv", data) == read_rows("items.csv", _csv(ZH_HEADER, GOOD_LINE))


def test_read_rows_utf8_bom_csv_strips_bom_from_header() -> None:
    rows = read_rows("items.csv", _csv(ZH_HEADER, GOOD_LINE, encoding="utf-8-sig"))
    assert rows[0].values["region"] == "长宁区"


def test_read_rows_title_row_and_blank_rows_keep_file_line_numbers() -> None:
    data = _csv(
        "长宁区十七届人大五次会议代表建议汇总表",
        MINIMAL_HEADER,
        "长宁区,人大,17,5,018,一",
        ",,,,,",
        "长宁区,人大,17,5,019,二",
    )
    rows = read_rows("items.csv", data)
    assert [r.line for r in rows] == [3, 5]


def test_read_rows_quoted_multiline_cell_is_one_row() -> None:
    data = _csv(MINIMAL_HEADER + ",内容", '长宁区,人大,17,5,018,标题,"第一段\n第二段"', "长宁区,人大,17,5,019,标题,x")
    rows = read_rows("items.csv", data)
    assert rows[0].values["content"] == "第一段\n第二段"
    assert [r.line for r in rows] == [2, 3]


def test_read_rows_semicolon_delimited_csv_is_detected() -> None:
    rows = read_rows("items.csv", _csv(MINIMAL_HEADER.replace(",", ";"), "长宁区;人大;17;5;018;标题, 带逗号"))
    assert rows[0].values["title"] == "标题, 带逗号"


def test_read_rows_xlsx_typed_cells_become_values(tmp_path: Path) -> None:
    data = _xlsx(
        tmp_path,
        [
            ["长宁区人大代表建议"],
            ["地区", "机构", "届", "次", "编号", "标题", "交办日期", "重点督办"],
            ["长宁区", "人大", 17, 5, 18, "标题一", datetime(2024, 1, 29), True],
            [],
            ["长宁区", "人大", 17, 5, 7, "标题二", "2024/3/15", "否"],
        ],
        formats={"E5": "000"},
    )
    rows = read_rows("items.xlsx", data)
    assert [r.line for r in rows] == [3, 5]
    assert rows[0].values["number"] == 18
    assert rows[1].values["number"] == "007"  # a number formatted 000 keeps the zeros Excel shows
    good, errors = validate(rows)
    assert errors == []
    assert [r.number for r in good] == ["18", "007"]
    assert good[0].term == 17
    assert good[0].assigned_on == date(2024, 1, 29)
    assert good[0].key_supervised is True
    assert good[1].assigned_on == date(2024, 3, 15)


def test_read_rows_xlsx_named_csv_is_read_as_workbook(tmp_path: Path) -> None:
    data = _xlsx(tmp_path, [MINIMAL_HEADER.split(","), ["长宁区", "人大", 17, 5, "018", "标题"]])
    assert read_rows("items.csv", data)[0].values["number"] == "018"


@pytest.mark.parametrize(
    ("filename", "data", "needle"),
    [
        ("items.csv", b"", "empty"),
        ("items.csv", b"\xef\xbb\xbf\r\n  \r\n", "empty"),
        ("items.csv", b"\x00\x01\x02binary\x00" * 10, "not a text CSV"),
        ("items.csv", bytes(range(0x80, 0x100)) * 4, "cannot decode"),
        ("items.csv", b"a,b,c\r\n1,2,3\r\n", "no header row"),
        (
            "items.csv",
            "地区,机构,编号\r\n长宁区,人大,018\r\n".encode(),
            "required columns missing: term, sitting, title",
        ),
        ("items.csv", (MINIMAL_HEADER + ",编号\r\n").encode(), "appears twice"),
        ("items.csv", (MINIMAL_HEADER + "\r\n,,,,,\r\n").encode(), "no data rows"),
        ("items.xlsx", b"PK\x03\x04 this is not really a zip", "damaged"),
        ("items.xlsx", b"\x00\x01garbage\x00", "damaged"),
        ("items.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "password-protected"),
        ("items.pdf", b"%PDF-1.4", "unsupported file type .pdf"),
        ("items.csv", b"x" * (MAX_BYTES + 1), "larger than 10 MB"),
    ],
    ids=[
        "empty",
        "only-bom",
        "binary",
        "undecodable",
        "no-header",
        "missing-columns",
        "duplicate-column",
        "header-only",
        "corrupt-zip",
        "corrupt-binary",
        "legacy-xls",
        "wrong-type",
        "too-big",
    ],
)
def test_read_rows_whole_file_problem_raises_spreadsheet_error(filename: str, data: bytes, needle: str) -> None:
    with pytest.raises(SpreadsheetError) as caught:
        read_rows(filename, data)
    assert needle in caught.value.message_en
    assert caught.value.message_zh
    assert str(caught.value).startswith(caught.value.message_zh)


def test_read_rows_missing_columns_named_in_chinese() -> None:
    with pytest.raises(SpreadsheetError) as caught:
        read_rows("items.csv", "地区,机构,届,次\r\n长宁区,人大,17,5\r\n".encode())
    assert caught.value.message_zh == "缺少必需的列：编号、标题"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_read_rows_arbitrary_csv_bytes_raise_only_spreadsheet_error(data: bytes) -> None:
    with contextlib.suppress(SpreadsheetError):
        read_rows("fuzz.csv", data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=500))
def test_validate_arbitrary_cells_under_valid_header_raise_nothing_else(body: str) -> None:
    data = (ZH_HEADER + "\n" + body).encode("utf-8", errors="surrogatepass")
    try:
        rows = read_rows("fuzz.csv", data)
    except SpreadsheetError:
        return
    good, errors = validate(rows)
    assert len(good) + len({e.line for e in errors}) == len(rows)


# --------------------------------------------------------------------------------------------- validating


def test_validate_full_row_gives_typed_fields() -> None:
    rows, errors = validate(read_rows("items.csv", _csv(ZH_HEADER, GOOD_LINE)))
    assert errors == []
    assert rows == [
        ImportRow(
            line=2,
            region="长宁区",
            body="人大",
            term=17,
            sitting=5,
            number="018",
            title=TITLE,
            kind="代表建议",
            content="正文",
            deputies=("康红恩",),
            co_signers=("李明", "王芳"),
            lead_unit="长宁区科学技术委员会",
            co_units=("区发改委",),
            assigned_on=date(2024, 1, 29),
            key_supervised=True,
            given=rows[0].given,
        )
    ]
    assert rows[0].given == frozenset(c.key for c in COLUMNS)
    assert rows[0].number_key == "18"
    assert rows[0].assignable


@pytest.mark.parametrize("value", [17, 17.0, "17", "第十七届", "十七", "十七届", "第17届", "１７"])
def test_validate_term_forms_parse_to_int(value: object) -> None:
    assert _one(term=value).term == 17


@pytest.mark.parametrize(("value", "expected"), [("五次", 5), ("5", 5), ("第五次会议", 5), ("二十一", 21), (3, 3)])
def test_validate_sitting_forms_parse_to_int(value: object, expected: int) -> None:
    assert _one(sitting=value).sitting == expected


@pytest.mark.parametrize("value", ["一五", "十五", "一十五", "第一五届", "第一十五届"])
def test_validate_term_in_any_numeral_form_gives_15(value: str) -> None:
    """The letter parser reads these the same way (bot.domain.numerals)."""
    assert _one(term=value).term == 15


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-29", date(2024, 1, 29)),
        ("2024/1/29", date(2024, 1, 29)),
        ("2024年1月29日", date(2024, 1, 29)),
        ("2024.01.29", date(2024, 1, 29)),
        ("20240129", date(2024, 1, 29)),
        ("2024-01-29 00:00:00", date(2024, 1, 29)),
        (datetime(2024, 1, 29), date(2024, 1, 29)),
        (date(2024, 1, 29), date(2024, 1, 29)),
        (45320, date(2024, 1, 29)),  # an Excel serial day in a column formatted as a number
        ("", None),
    ],
)
def test_validate_assigned_on_forms_parse_to_date(value: object, expected: date | None) -> None:
    assert _one(assigned_on=value).assigned_on == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[("是", True), ("Y", True), ("true", True), ("1", True), (1, True), (True, True), ("√", True)],
        *[("否", False), ("n", False), ("FALSE", False), ("0", False), (0, False), ("", False), (None, False)],
    ],
)
def test_validate_key_supervised_forms_parse_to_bool(value: object, expected: bool) -> None:
    assert _one(key_supervised=value).key_supervised is expected


@pytest.mark.parametrize("value", ["018", "第018号", "No. 018", " 018 "])
def test_validate_number_keeps_leading_zeros(value: str) -> None:
    assert _one(number=value).number == "018"


@pytest.mark.parametrize(("body", "kind"), [("人大", "代表建议"), ("政协", "政协提案"), ("CPPCC", "政协提案")])
def test_validate_blank_kind_defaults_by_body(body: str, kind: str) -> None:
    assert _one(body=body, kind="").kind == kind


@pytest.mark.parametrize(("value", "kind"), [("议案", "议案"), ("建议", "代表建议"), ("代表议案", "议案")])
def test_validate_kind_aliases_normalise(value: str, kind: str) -> None:
    assert _one(kind=value).kind == kind


def test_validate_names_split_on_every_separator_and_dedup() -> None:
    row = _one(deputies="康红恩", co_signers="李明、王芳;张三,李四；赵五，王芳、康红恩", co_units="科委、区发改委")
    assert row.co_signers == ("李明", "王芳", "张三", "李四", "赵五")
    row = _one(lead_unit="科委", co_units="科委、区发改委")
    assert row.co_units == ("区发改委",)


def test_validate_lead_unit_without_assigned_on_is_allowed_as_draft() -> None:
    row = _one(lead_unit="科委", assigned_on="")
    assert row.lead_unit == "科委"
    assert not row.assignable
    assert not _one(assigned_on="2024-01-29").assignable


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"region": ""}, "region is missing"),
        ({"title": "  "}, "title is missing"),
        ({"number": None}, "number is missing"),
        ({"assigned_on": "2024-02-30"}, "no such date: 2024-02-30"),
        ({"assigned_on": "2023年2月29日"}, "no such date"),
        ({"assigned_on": "下周一"}, "unrecognised date"),
        ({"assigned_on": "1900-01-01"}, "date out of range"),
        ({"body": "国务院"}, "must be 人大 or 政协"),
        ({"number": "18a"}, "must be digits only"),
        ({"number": "1" * 13}, "longer than 12 digits"),
        ({"term": "0"}, "must be a positive integer"),
        ({"term": "-3"}, "must be a positive integer"),
        ({"term": "abc"}, "must be a positive integer"),
        ({"sitting": 5.5}, "must be a positive integer"),
        ({"sitting": "十十"}, "must be a positive integer"),
        ({"kind": "意见"}, "must be 代表建议, 议案 or 政协提案"),
        ({"kind": "政协提案"}, "does not match the body"),
        ({"key_supervised": "也许"}, "must be yes or no"),
        ({"lead_unit": "科委、教育局"}, "only one lead unit"),
        ({"deputies": "名" * 65}, "longer than 64 characters"),
    ],
)
def test_validate_bad_value_gives_row_error(values: dict[str, Any], needle: str) -> None:
    errors = _errors(_raw(line=7, **values))
    assert len(errors) == 1
    assert errors[0].line == 7
    assert needle in errors[0].reason_en
    assert errors[0].reason_zh
    assert str(errors[0]).startswith("第 7 行 / line 7: ")


def test_validate_missing_value_reason_is_chinese_first() -> None:
    (error,) = _errors(_raw(line=4, title=""))
    assert str(error) == "第 4 行 / line 4: 缺少标题 / title is missing"


def test_validate_duplicate_key_in_file_names_first_line() -> None:
    rows, errors = validate([_raw(line=2), _raw(line=3, number="18"), _raw(line=4, sitting="4")])
    assert [r.line for r in rows] == [2, 4]
    assert errors == [
        RowError(3, "与第 2 行重复（同一会次的编号 18）", "duplicates line 2 (number 18 in the same session)")
    ]


def test_validate_several_problems_in_one_row_all_reported() -> None:
    errors = _errors(_raw(line=9, body="x", term="y", assigned_on="2024-13-01"))
    assert [e.line for e in errors] == [9, 9, 9]


# ----------------------------------------------------------------------------------------------- writing


def _export_row(**changes: Any) -> ExportRow:
    row = ExportRow(
        region="长宁区",
        body="人大",
        term=17,
        sitting=5,
        number="018",
        kind="代表建议",
        title=TITLE,
        content="第一段\n第二段",
        deputies=("康红恩",),
        co_signers=("李明", "王芳"),
        lead_unit="长宁区科学技术委员会",
        co_units=("区发改委",),
        assigned_on=date(2024, 1, 29),
        due_on=date(2024, 4, 29),
        key_supervised=True,
        state="assigned",
    )
    return dataclasses.replace(row, **changes)


def test_columns_are_the_typed_fields_in_order() -> None:
    """The sheet's column list and the row types are one vocabulary: a column without a field cannot be written."""
    item_fields = [f.name for f in dataclasses.fields(ItemColumns)]
    assert item_fields == [c.key for c in COLUMNS]
    assert [f.name for f in dataclasses.fields(ExportRow)] == [c.key for c in COLUMNS + EXPORT_ONLY_COLUMNS]
    assert [f.name for f in dataclasses.fields(ImportRow)] == [*item_fields, "line", "given", "numeric_number"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_write_export_reimports_to_same_rows(tmp_path: Path, suffix: str) -> None:
    exported = [_export_row(), _export_row(number="019", title="=SUM(A1)", lead_unit=None, assigned_on=None)]
    path = tmp_path / f"out{suffix}"
    write_export(path, exported)
    sheet = read_sheet(path.name, path.read_bytes())
    assert sheet.warnings == ()
    rows, errors = validate(sheet.rows)
    assert errors == []
    assert rows[0].number == "018"
    assert rows[0].co_signers == ("李明", "王芳")
    assert rows[0].assigned_on == date(2024, 1, 29)
    assert rows[0].key_supervised is True
    assert rows[0].content == "第一段\n第二段"
    assert rows[1].title == "=SUM(A1)"  # text, never a formula
    assert rows[1].lead_unit is None
    assert [r.line for r in rows] == [2, 3]


def test_write_export_csv_has_bom_and_trailing_read_only_columns(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    write_export(path, [_export_row()])
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    header = data.decode("utf-8-sig").splitlines()[0]
    assert header == ZH_HEADER + ",答复期限,状态,逾期天数,办理结果类别,答复日期,满意度"


def test_write_export_xlsx_dates_are_date_cells(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_export(path, [_export_row()])
    sheet = openpyxl.load_workbook(io.BytesIO(path.read_bytes())).worksheets[0]
    assert sheet["M2"].value == datetime(2024, 1, 29)
    assert sheet["E2"].value == "018"


def test_write_export_unknown_suffix_raises_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(SpreadsheetError):
        write_export(tmp_path / "out.ods", [_export_row()])
    assert list(tmp_path.iterdir()) == []
