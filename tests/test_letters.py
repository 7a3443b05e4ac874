"""Tests for bot.letters.parser: the seed letter field by field, varied fixture letters, other encodings and formats,
and property tests that the parser never raises."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.letters.cli import describe_letter, parse_letter_command, parse_letter_file
from bot.letters.documents import read_document
from bot.letters.parser import (
    Contact,
    LetterSession,
    ParsedLetter,
    classify_result,
    normalize_text,
    parse_letter,
)
from bot.text import Tokenizer, default_userdict

FIXTURES = Path(__file__).parent / "fixtures"
SEED_PATH = FIXTURES / "000_22e5c766df40d68a.txt"
SEED = SEED_PATH.read_text(encoding="utf-8")
LETTERS = FIXTURES / "letters"

SEED_FIELDS = {
    "letter_type": "reply",
    "kind": "代表建议",
    "session": {"region": "长宁区", "body": "人大", "term": 17, "sitting": 5},
    "number": "018",
    "proposers": ["康红恩"],
    "title": "关于高标准打造“上海硅巷”科创街区，加速集聚科创型企业的建议",
    "result": "解决或采纳",
    "result_class": "A",
    "signer": "詹镭",
    "unit": "长宁区科学技术委员会",
    "date": "2024-04-29",
    "public": True,
    "contact": {"name": "洪嫣", "phone": "52388345", "address": "安西路 35号", "postcode": "200050"},
    "doc_number": None,
}

#: Every fixture letter's expected fields and the miss classes of issue 14 (1–10) it is a shape of.
CORPUS: dict[str, dict[str, Any]] = json.loads((LETTERS / "expected.json").read_text(encoding="utf-8"))
EXPECTED: dict[str, dict[str, object]] = {name: entry["fields"] for name, entry in CORPUS.items()}


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    tok = Tokenizer(default_userdict())
    tok.initialize()
    return tok


def fields(letter: ParsedLetter) -> dict[str, object]:
    """The JSON object without the tokenizer-dependent summary and keywords."""
    data = letter.to_json()
    del data["summary"], data["keywords"]
    return data


def seed_docx() -> bytes:
    document = docx.Document()
    for line in SEED.splitlines():
        if line.strip():
            document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_parse_letter_seed_letter_gives_exact_fields() -> None:
    letter = parse_letter(SEED)
    assert fields(letter) == SEED_FIELDS
    assert letter.summary == ""
    assert letter.keywords == ()


def test_parse_letter_seed_letter_gives_typed_values() -> None:
    letter = parse_letter(SEED)
    assert letter.session == LetterSession(region="长宁区", body="人大", term=17, sitting=5)
    assert letter.date == dt.date(2024, 4, 29)
    assert letter.contact == Contact(name="洪嫣", phone="52388345", address="安西路 35号", postcode="200050")
    assert letter.proposers == ("康红恩",)


def test_parse_letter_with_tokenizer_adds_summary_and_keywords(tokenizer: Tokenizer) -> None:
    letter = parse_letter(SEED, tokenizer=tokenizer)
    assert fields(letter) == SEED_FIELDS
    assert 0 < len(letter.summary) <= 120
    assert "硅巷" in letter.keywords or "科创" in letter.keywords


def test_to_json_seed_letter_has_design_keys_in_order(tokenizer: Tokenizer) -> None:
    data = parse_letter(SEED, tokenizer=tokenizer).to_json()
    assert list(data) == [
        "letter_type", "kind", "session", "number", "proposers", "title", "result", "result_class",
        "signer", "unit", "date", "public", "contact", "doc_number", "summary", "keywords",
    ]  # fmt: skip
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parse_letter_fixture_letter_gives_expected_fields(name: str) -> None:
    assert fields(parse_letter((LETTERS / name).read_text(encoding="utf-8"))) == EXPECTED[name]


def test_fixtures_every_letter_file_has_expectations() -> None:
    assert sorted(p.name for p in LETTERS.glob("*.txt")) == sorted(EXPECTED)
    assert len(EXPECTED) >= 40


def test_parse_letter_gb18030_bytes_same_as_utf8(tokenizer: Tokenizer) -> None:
    text = read_document("letter.txt", SEED.encode("gb18030"))
    assert parse_letter(text, tokenizer=tokenizer) == parse_letter(SEED, tokenizer=tokenizer)


def test_parse_letter_docx_same_as_txt(tokenizer: Tokenizer) -> None:
    text = read_document("letter.docx", seed_docx())
    assert parse_letter(text, tokenizer=tokenizer) == parse_letter(SEED, tokenizer=tokenizer)


def test_parse_letter_docx_with_header_table_reads_labels() -> None:
    document = docx.Document()
    document.add_paragraph("对长宁区第十七届人大五次会议第 018 号代表建议的答复")
    table = document.add_table(rows=1, cols=4)
    for cell, value in zip(table.rows[0].cells, ["办理结果", "解决或采纳", "签发人", "詹镭"], strict=True):
        cell.text = value
    document.add_paragraph("康红恩代表：")
    document.add_paragraph("您提出的《关于高标准打造“上海硅巷”科创街区，加速集聚科创型企业的建议》收悉。")
    buffer = io.BytesIO()
    document.save(buffer)
    letter = parse_letter(read_document("reply.docx", buffer.getvalue()))
    assert (letter.result, letter.result_class, letter.signer, letter.number) == ("解决或采纳", "A", "詹镭", "018")


def test_parse_letter_file_txt_gb18030_and_docx_agree(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_bytes(SEED.encode("gb18030"))
    (tmp_path / "b.docx").write_bytes(seed_docx())
    parsed = [parse_letter_file(tmp_path / name, tokenizer=None) for name in ("a.txt", "b.docx")]
    assert [fields(p) for p in parsed] == [SEED_FIELDS, SEED_FIELDS]


def test_describe_letter_seed_names_every_field() -> None:
    text = describe_letter(parse_letter(SEED))
    for value in ("018", "康红恩", "解决或采纳（A）", "詹镭", "长宁区科学技术委员会", "2024-04-29", "200050"):
        assert value in text


def test_parse_letter_letter_printed_twice_parsed_once() -> None:
    assert fields(parse_letter(SEED + "\n\n" + SEED)) == SEED_FIELDS


def test_parse_letter_publisher_metadata_and_copy_lines_ignored() -> None:
    text = (
        "索引号：SH0105-2024-00077 主题分类：科技\n发布机构：长宁区科委 发布日期：2024-05-08\n"
        "【字体：大 中 小】【打印本页】【关闭窗口】\n" + SEED + "\n抄送：区人大常委会代表工作室，区政府办公室。\n"
    )
    assert fields(parse_letter(text)) == SEED_FIELDS


def test_parse_letter_pdf_debris_same_fields() -> None:
    lines = SEED.splitlines()
    lines.insert(60, "- 2 -")
    lines.insert(120, "第 3 页 共 4 页")
    lines[0] = " ".join(lines[0].strip())  # "对 长 宁 区 …" as some PDF extractors print it
    assert fields(parse_letter("\n".join(lines))) == SEED_FIELDS


def test_parse_letter_ascii_punctuation_same_fields() -> None:
    text = SEED.replace("：", ":").replace("（", "(").replace("）", ")")
    assert fields(parse_letter(text)) == SEED_FIELDS


def test_parse_letter_traditional_characters_same_fields() -> None:
    text = (
        SEED.replace("会议", "會議")
        .replace("号代表建议的答复", "號代表建議的答復")
        .replace("办理结果", "辦理結果")
        .replace("签发人", "簽發人")
        .replace("联系电话", "聯繫電話")
    )
    assert fields(parse_letter(text)) == SEED_FIELDS


def test_parse_letter_chinese_numeral_date_parsed() -> None:
    text = SEED.replace("2024年 4月 29日", "二〇二四年四月二十九日")
    assert parse_letter(text).date == dt.date(2024, 4, 29)


def test_parse_letter_not_public_marks_false() -> None:
    assert parse_letter(SEED.replace("（此件公开发布）", "（此件不予公开）")).public is False


def test_parse_letter_no_public_line_gives_none() -> None:
    assert parse_letter(SEED.replace("（此件公开发布）", "")).public is None


def test_parse_letter_on_request_publication_is_not_public() -> None:
    """依申请公开 (released only on request) is not proactive publication, so the bot treats it as private."""
    assert parse_letter(SEED.replace("（此件公开发布）", "（依申请公开）")).public is False


def test_parse_letter_document_number_never_taken_as_proposal_number() -> None:
    text = SEED.replace("办理结果", "长科委〔2024〕第12号\n办理结果")
    letter = parse_letter(text)
    assert (letter.number, letter.doc_number) == ("018", "长科委〔2024〕第12号")


def test_parse_letter_empty_text_gives_all_none() -> None:
    letter = parse_letter("")
    assert fields(letter) == {
        "letter_type": None, "kind": None, "session": None, "number": None, "proposers": [], "title": None,
        "result": None, "result_class": None, "signer": None, "unit": None, "date": None, "public": None,
        "contact": {"name": None, "phone": None, "address": None, "postcode": None}, "doc_number": None,
    }  # fmt: skip


SEAL_SEED = SEED.replace("长宁区科学技术委员会\n", "长宁区科学技术委员会（盖章）\n")


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        (SEED.replace("2024年 4月 29日\n\n（此件公开发布）", "2024年 4月 29日（此件公开发布）"), {}),
        (SEED.replace(" 对长宁区第十七届", "长宁区科委对长宁区第十七届"), {}),
        (SEAL_SEED, {}),
        (SEED.replace("联系人姓名：洪嫣 联系电话：52388345", "联系人：洪嫣（52388345）"), {}),
        (SEED.replace("签发人：詹镭", "签 发 人：詹 镭"), {}),
        (SEED.replace("018", "０１８").replace("52388345", "５２３８８３４５"), {}),
        (SEED.replace("\n", "\r\n"), {}),
        (
            SEED.replace("办理结果：解决或采纳 ", "").replace("（此件公开发布）", "（此件公开发布）\n办理结果：A类"),
            {"result": "A类"},
        ),
        (
            SEED.replace("号代表建议的答复", "号代表建议的答复（B）").replace("办理结果：解决或采纳 ", ""),
            {"result": "B", "result_class": "B"},
        ),
        (
            SEED.replace("2024年 4月 29日", "").replace("办理结果", "（2024年4月29日）\n办理结果"),
            {"unit": "长宁区科学技术委员会"},
        ),
        (
            SEED.replace("办理结果：解决或采纳", "类别：代表建议 办理结果：B类（正在解决）"),
            {"result": "B类（正在解决）", "result_class": "B"},
        ),
        (SEED.replace("签发人：詹镭", "承办负责人：詹镭"), {"signer": None}),
        (SEED.replace("康红恩代表：", "尊敬的康红恩代表："), {}),
        (SEED.replace("康红恩代表：", "康红恩等3名代表："), {}),
        (SEED.replace("康红恩代表：", "康红恩、王伟代表："), {"proposers": ["康红恩", "王伟"]}),
    ],
    ids=[
        "date-and-public-on-one-line",
        "unit-before-title",
        "seal-after-unit",
        "phone-in-brackets",
        "spaced-signer",
        "full-width-digits",
        "crlf",
        "result-in-footer",
        "bracketed-class-in-title",
        "date-under-title",
        "category-is-document-type",
        "only-responsible-leader",
        "respectful-salutation",
        "counted-salutation",
        "two-names",
    ],
)
def test_parse_letter_seed_variant_gives_expected_fields(variant: str, expected: dict[str, object]) -> None:
    assert fields(parse_letter(variant)) == SEED_FIELDS | expected


def test_parse_letter_text_on_one_line_never_guesses_the_signer() -> None:
    """Without line breaks "签发人：詹镭康红恩代表：…" does not say where the name ends, so it is None."""
    letter = parse_letter(SEED.replace("\n", ""))
    assert (letter.number, letter.result, letter.signer) == ("018", "解决或采纳", None)


def test_parse_letter_publisher_title_used_when_letter_has_none() -> None:
    text = "标题：关于长宁区第十七届人大五次会议第 018 号代表建议的答复 发布日期：2024-05-08\n康红恩代表：\n您好。"
    letter = parse_letter(text)
    assert (letter.number, letter.letter_type, letter.kind) == ("018", "reply", "代表建议")
    assert letter.session == LetterSession(region="长宁区", body="人大", term=17, sitting=5)


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("解决或采纳", "A"),
        ("已解决", "A"),
        ("采纳", "A"),
        ("A", "A"),
        ("A类", "A"),
        ("（B类）", "B"),
        ("列入计划拟解决", "B"),
        ("正在解决", "B"),
        ("计划解决", "B"),
        ("列入计划", "B"),
        ("因条件限制无法解决", "C"),
        ("留作参考", "C"),
        ("无法解决", "C"),
        ("C", "C"),
        ("D类（留作参考）", "D"),
        ("d", "D"),
        ("提案", None),
        ("", None),
    ],
)
def test_classify_result_printed_form_gives_class(printed: str, expected: str | None) -> None:
    assert classify_result(printed) == expected


@pytest.mark.parametrize("numeral", ["一五", "十五", "一十五"])
def test_parse_letter_term_in_any_numeral_form_gives_15(numeral: str) -> None:
    letter = parse_letter(SEED.replace("第十七届", f"第{numeral}届", 1))
    assert letter.session == LetterSession(region="长宁区", body="人大", term=15, sitting=5)


def test_normalize_text_maps_traditional_and_ascii_but_keeps_numbers() -> None:
    assert normalize_text("辦理結果:A (10:30, 1,000)") == "办理结果：A （10:30， 1,000）"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_parse_letter_arbitrary_text_never_raises(text: str) -> None:
    letter = parse_letter(text)
    json.dumps(letter.to_json(), ensure_ascii=False)


_SEED_LINES = SEED.splitlines()


@st.composite
def mutated_seed(draw: st.DrawFn) -> str:
    lines = list(_SEED_LINES)
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        op = draw(st.sampled_from(["delete", "insert", "swap", "cut", "duplicate"]))
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1)) if lines else 0
        if op == "delete" and lines:
            del lines[i]
        elif op == "insert":
            lines.insert(
                i,
                draw(
                    st.text(
                        alphabet=st.sampled_from(
                            list("第号届次会议年月日：:（）〔〕0123456789一二十代表委员签发人联系电话 \n")
                        )
                    )
                ),
            )
        elif op == "swap" and len(lines) > 1:
            j = draw(st.integers(min_value=0, max_value=len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "cut" and lines:
            line = lines[i]
            k = draw(st.integers(min_value=0, max_value=len(line)))
            lines[i] = line[:k]
        elif op == "duplicate" and lines:
            lines.insert(i, lines[i])
    return "\n".join(lines)


@settings(max_examples=150, deadline=None)
@given(mutated_seed())
def test_parse_letter_mutated_seed_never_raises(tokenizer: Tokenizer, text: str) -> None:
    letter = parse_letter(text, tokenizer=tokenizer)
    json.dumps(letter.to_json(), ensure_ascii=False)
    assert len(letter.summary) <= 120


def test_parse_letter_command_json_prints_one_object() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert parse_letter_command(SEED_PATH, as_json=True, out=out, err=err) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    del data["summary"], data["keywords"]
    assert data == SEED_FIELDS
    assert err.getvalue() == ""


@pytest.mark.parametrize(
    ("name", "data", "phrase"),
    [
        ("empty.txt", b"", "empty"),
        ("junk.txt", bytes(range(256)) * 8, "binary"),
        ("sheet.xyz", b"\x89PNG\r\n\x1a\n", "Unsupported file type"),
    ],
)
def test_parse_letter_command_unreadable_file_one_line_and_exit_one(
    tmp_path: Path, name: str, data: bytes, phrase: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    assert parse_letter_command(path, as_json=True, out=out, err=err) == 1
    assert out.getvalue() == ""
    assert len(err.getvalue().splitlines()) == 1
    assert phrase in err.getvalue()


def test_parse_letter_command_missing_file_one_line_and_exit_one(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert parse_letter_command(tmp_path / "nope.pdf", as_json=False, out=out, err=err) == 1
    assert len(err.getvalue().splitlines()) == 1


def test_normalize_text_full_width_letters_and_digits_become_ascii() -> None:
    ascii_ = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    wide = "".join(chr(ord(ch) + 0xFEE0) for ch in ascii_)
    assert normalize_text(wide) == ascii_


@pytest.mark.parametrize("space", ["\u3000", "\u00a0", "\u2002", "\u2003", "\u2009"])
def test_normalize_text_odd_spaces_become_spaces(space: str) -> None:
    assert normalize_text(f"签发人{space}詹镭") == "签发人 詹镭"


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("（１）ｘ－ｙ．ｚ／", "（1）x-y.z/"),
        ("﹝2024﹞", "〔2024〕"),
        ("［Ａ］", "[A]"),
        ("办理结果︓A", "办理结果：A"),
    ],
)
def test_normalize_text_full_width_punctuation_as_before(printed: str, expected: str) -> None:
    assert normalize_text(printed) == expected


@pytest.mark.parametrize("symbol", ["①", "⑴", "㈠", "㎡", "…", "℃", "m²", "Ⅳ"])
def test_normalize_text_symbols_stay_as_printed(symbol: str) -> None:
    assert normalize_text(f"面积{symbol}") == f"面积{symbol}"


def test_normalize_text_kangxi_radicals_become_ideographs() -> None:
    """PDF text layers sometimes carry ⼀ (U+2F00) and ⽇ (U+2F47) for 一 and 日."""
    assert normalize_text("二〇二四年四月二⼗九⽇") == "二〇二四年四月二十九日"


def test_parse_letter_seed_in_full_width_ascii_gives_same_fields() -> None:
    wide = "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in SEED)
    assert parse_letter(wide) == parse_letter(SEED)
