"""Issue 14's miss classes, one table each: every fixture letter of the class gives the class's fields, and short
variants of the seed letter in the class's other printed forms do too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.letters.parser import parse_letter

FIXTURES = Path(__file__).parent / "fixtures"
LETTERS = FIXTURES / "letters"
SEED = (FIXTURES / "000_22e5c766df40d68a.txt").read_text(encoding="utf-8")
CORPUS: dict[str, dict[str, Any]] = json.loads((LETTERS / "expected.json").read_text(encoding="utf-8"))

#: The fields each class is about.
CLASS_FIELDS: dict[int, tuple[str, ...]] = {
    1: ("title",),
    2: ("contact.phone",),
    3: ("unit",),
    4: ("kind",),
    5: ("session", "number"),
    6: ("public",),
    7: ("result", "result_class"),
    9: ("unit", "date", "public", "proposers"),
}


def _cases() -> list[tuple[int, str]]:
    return [(cls, name) for name, entry in sorted(CORPUS.items()) for cls in entry["classes"] if cls in CLASS_FIELDS]


def test_corpus_has_a_letter_of_every_class_and_eight_provinces() -> None:
    classes = {cls for entry in CORPUS.values() for cls in entry["classes"]}
    assert set(range(1, 10)) <= classes
    assert len(CORPUS) >= 40
    kinds = {entry["fields"]["kind"] for entry in CORPUS.values()}
    assert {"代表建议", "政协提案", "议案"} <= kinds
    assert {entry["fields"]["letter_type"] for entry in CORPUS.values()} == {"reply", "co-handling"}


@pytest.mark.parametrize(("cls", "name"), _cases(), ids=[f"class{c}-{n[:2]}" for c, n in _cases()])
def test_fixture_letter_of_class_gives_the_class_fields(cls: int, name: str) -> None:
    got = parse_letter((LETTERS / name).read_text(encoding="utf-8")).to_json()
    want = CORPUS[name]["fields"]
    assert [_field(got, k) for k in CLASS_FIELDS[cls]] == [_field(want, k) for k in CLASS_FIELDS[cls]]


def _field(fields: dict[str, Any], path: str) -> Any:
    value: Any = fields
    for key in path.split("."):
        value = value[key]
    return value


HEAD = " 对长宁区第十七届人大五次会议\n第 018 号代表建议的答复\n"
LEAD = "您提出的关于《关于高标准打造“上海硅巷”科创街区，\n\n加速集聚科创型企业的建议》的代表建议已收悉，"


@pytest.mark.parametrize(
    ("lead", "title"),
    [
        ("您提出的关于“关于加强社区养老服务的建议”的建议收悉，", "关于加强社区养老服务的建议"),
        ("你提出的“关于加强社区养老服务的建议”，已交我们研究办理，", "关于加强社区养老服务的建议"),
        ("现将您提出的关于加强社区养老服务的建议办理情况答复如下：", "关于加强社区养老服务的建议"),
        ("您提出的 关于加强社区养老服务的建议 的建议收悉，", "关于加强社区养老服务的建议"),
        ("康红恩代表提出的关于“加强社区养老服务”的代表建议收悉，", "加强社区养老服务"),
    ],
)
def test_class1_body_stated_title_kept_as_printed(lead: str, title: str) -> None:
    assert parse_letter(SEED.replace(LEAD, lead)).title == title


@pytest.mark.parametrize(
    ("footer", "phone"),
    [
        ("联系人及电话：洪嫣，18917651234", "18917651234"),
        ("联系人：洪嫣 手机：13812345678", "13812345678"),
        ("联系人：洪嫣 联系电话：0871-63123456", "0871-63123456"),
        ("联系人：洪嫣 联系电话：0871-63123456转8012", "0871-63123456转8012"),
        ("联系人：洪嫣 联系电话：021-52388345-204", "021-52388345-204"),
    ],
)
def test_class2_mobile_and_landline_numbers_kept_whole(footer: str, phone: str) -> None:
    letter = parse_letter(SEED.replace("联系人姓名：洪嫣 联系电话：52388345", footer))
    assert (letter.contact.name, letter.contact.phone) == ("洪嫣", phone)


@pytest.mark.parametrize(
    ("variant", "unit"),
    [
        (SEED.replace("长宁区科学技术委员会\n", "").replace(" 对长宁区", "长宁区人民政府对长宁区"), "长宁区人民政府"),
        (
            SEED.replace("长宁区科学技术委员会\n", "") + "\n联系单位及电话：长宁区科学技术委员会 52388345",
            "长宁区科学技术委员会",
        ),
        ("发布机构：长宁区科学技术委员会\n" + SEED.replace("长宁区科学技术委员会\n", ""), "长宁区科学技术委员会"),
        (SEED.replace("长宁区科学技术委员会\n", ""), None),
    ],
    ids=["title-issuer", "contact-unit", "portal-publisher", "date-only-signature"],
)
def test_class3_unit_printed_outside_the_signature(variant: str, unit: str | None) -> None:
    assert parse_letter(variant).unit == unit


@pytest.mark.parametrize(
    ("variant", "kind"),
    [
        (SEED.replace("办理结果：", "提案人：康红恩 办理结果："), "代表建议"),
        (SEED.replace("现将办理\n\n情况", "现将提案办理\n\n情况"), "代表建议"),
        (SEED.replace("人大五次会议", "政协五次会议"), None),
        (SEED.replace("康红恩代表：", "康红恩委员："), None),
        (SEED.replace("人大五次会议", "政协五次会议").replace("康红恩代表：", "康红恩委员："), "政协提案"),
    ],
)
def test_class4_kind_from_session_body_and_salutation(variant: str, kind: str | None) -> None:
    assert parse_letter(variant).kind == kind


@pytest.mark.parametrize(
    ("head", "number"),
    [
        ("长宁区科学技术委员会关于长宁区第十七届人大五次会议第018号建议的答复函\n", "018"),
        ("长宁区科学技术委员会关于长宁区十七届人大五次会议018号建议的答复函\n", "018"),
        ("长宁区科委针对018号区级代表建议的答复（长宁区第十七届人大五次会议）\n", "018"),
    ],
)
def test_class5_session_in_unit_heading_and_number_without_di(head: str, number: str) -> None:
    letter = parse_letter(SEED.replace(HEAD, head))
    assert letter.number == number
    assert letter.session is not None
    assert (letter.session.region, letter.session.body, letter.session.term, letter.session.sitting) == (
        "长宁区",
        "人大",
        17,
        5,
    )


@pytest.mark.parametrize(
    ("mark", "public"),
    [
        ("是否同意公开：是", True),
        ("是否同意公开：否", False),
        ("公开类别：主动公开", True),
        ("公开类型：主动公开", True),
        ("（依申请公开）", False),
        ("（此件公开发布）", True),
        ("（此件不予公开）", False),
    ],
)
def test_class6_publication_status_variants(mark: str, public: bool) -> None:
    assert parse_letter(SEED.replace("（此件公开发布）", mark)).public is public


@pytest.mark.parametrize(
    ("line", "result", "cls"),
    [
        ("A类）", "A类", "A"),
        ("（B2类）", "B2类", "B"),
        ("办理结果：B2类", "B2类", "B"),
        ("类 别：B", "B", "B"),
        ("办理结果：C1类", "C1类", "C"),
    ],
)
def test_class7_result_class_variants(line: str, result: str, cls: str) -> None:
    letter = parse_letter(SEED.replace("办理结果：解决或采纳 ", line + "\n"))
    assert (letter.result, letter.result_class) == (result, cls)


def test_class9_portal_metadata_fills_a_mangled_date_but_never_guesses() -> None:
    mangled = SEED.replace("2024年 4月 29日", "2024 4 29")
    assert parse_letter(mangled).date is None
    letter = parse_letter("答复时间：2024-04-29\n" + mangled)
    assert letter.date is not None and letter.date.isoformat() == "2024-04-29"
    portal = "建议人：康红恩\n" + mangled.replace("康红恩代表：", "")
    assert parse_letter(portal).proposers == ("康红恩",)
