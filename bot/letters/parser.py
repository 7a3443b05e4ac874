"""Reply letters: read the text of a reply (答复, 复函) or co-handling opinion (会办意见) into its fields.

The fields and their JSON form are DESIGN §6 (``parse-letter --json``). The parser works on the text that the
readers in ``bot.letters.documents`` produce, and copes with what real letters look like: centred title lines, labels
such as 办理结果/签发人 run together on one line, traditional characters, full-width and ASCII punctuation, PDF
page debris, publisher metadata above the letter, the same letter printed twice, and 抄送 lines. A field that
the letter does not state is ``None``: the parser never guesses.

Pure: imports nothing from telegram, sqlalchemy or apscheduler.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from bot.domain.numerals import NUMERAL_CHARS, parse_chinese_number
from bot.domain.ratings import ResultClass, result_class
from bot.text import Tokenizer, despace_cjk, is_heading, is_page_number

__all__ = [
    "Contact",
    "LetterKind",
    "LetterSession",
    "LetterType",
    "ParsedLetter",
    "classify_result",
    "fold_text",
    "normalize_text",
    "parse_letter",
    "to_simplified",
]

logger = logging.getLogger(__name__)

LetterType = Literal["reply", "co-handling"]
LetterKind = Literal["代表建议", "议案", "政协提案"]
Body = Literal["人大", "政协"]


@dataclass(frozen=True, slots=True)
class LetterSession:
    """The congress sitting named in the title: 长宁区第十七届人大五次会议 → 长宁区, 人大, 17, 5."""

    region: str | None
    body: Body | None
    term: int | None
    sitting: int | None


@dataclass(frozen=True, slots=True)
class Contact:
    """The contact footer (联系人, 联系电话, 联系地址, 邮政编码), each as printed."""

    name: str | None = None
    phone: str | None = None
    address: str | None = None
    postcode: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedLetter:
    """A letter's fields (DESIGN §6). Lists are tuples so that the value stays immutable."""

    letter_type: LetterType | None
    kind: LetterKind | None
    session: LetterSession | None
    number: str | None
    proposers: tuple[str, ...]
    title: str | None
    result: str | None
    result_class: ResultClass | None
    signer: str | None
    unit: str | None
    date: dt.date | None
    public: bool | None
    contact: Contact
    doc_number: str | None
    summary: str
    keywords: tuple[str, ...]
    #: read by OCR from a scan: every field needs the admin's check (not part of the JSON contract)
    ocr: bool = False

    def to_json(self) -> dict[str, Any]:
        """The ``parse-letter --json`` object, with the keys in DESIGN §6's order."""
        session = self.session
        return {
            "letter_type": self.letter_type,
            "kind": self.kind,
            "session": None
            if session is None
            else {
                "region": session.region,
                "body": session.body,
                "term": session.term,
                "sitting": session.sitting,
            },
            "number": self.number,
            "proposers": list(self.proposers),
            "title": self.title,
            "result": self.result,
            "result_class": self.result_class,
            "signer": self.signer,
            "unit": self.unit,
            "date": None if self.date is None else self.date.isoformat(),
            "public": self.public,
            "contact": {
                "name": self.contact.name,
                "phone": self.contact.phone,
                "address": self.contact.address,
                "postcode": self.contact.postcode,
            },
            "doc_number": self.doc_number,
            "summary": self.summary,
            "keywords": list(self.keywords),
        }


# ---------------------------------------------------------------------------------------------------------------
# Normalization

# NFKC folds full-width letters, digits and punctuation to ASCII, odd spaces to spaces and Kangxi radicals (as PDF
# text layers have them) to the ideographs. It would also flatten symbols that read differently once flattened:
# ① to 1, ㎡ to m2, … to ..., ² to 2, ℃ to °C. Those stay as printed.
_NFKC_KEEPS = re.compile(
    r"[\u00b2\u00b3\u00b9\u2026\u2070-\u209f\u2100-\u218f\u2460-\u24ff\u2776-\u2793\u3200-\u33ff]+"
)
# After NFKC: what it leaves alone, and ASCII punctuation back to the full-width form Chinese text uses.
_PUNCTUATION = {
    "\u200b": "",
    "\u200c": "",
    "\u200d": "",
    "\u2060": "",
    "\ufeff": "",
    "\u00ad": "",
    "(": "（",
    ")": "）",
    ";": "；",
    "?": "？",
    "!": "！",
    "\u2236": "：",
    "\u25cb": "〇",
    "\u25ef": "〇",
    "\f": "\n",
    "\v": "\n",
    "\r": "\n",
}
_TRANSLATE = str.maketrans(_PUNCTUATION)
_ASCII_COLON = re.compile(r"(?<!\d):|:(?!\d)")
_ASCII_COMMA = re.compile(r"(?<!\d),|,(?!\d)")
_ASCII_STOP = re.compile(r"(?<=[\u4e00-\u9fff”）])\.(?=[\u4e00-\u9fff“（]|\s*$)", re.MULTILINE)


def _nfkc(text: str) -> str:
    parts: list[str] = []
    start = 0
    for kept in _NFKC_KEEPS.finditer(text):
        parts += (unicodedata.normalize("NFKC", text[start : kept.start()]), kept.group())
        start = kept.end()
    parts.append(unicodedata.normalize("NFKC", text[start:]))
    return "".join(parts)


def fold_text(text: str) -> str:
    """Full-width letters and digits to ASCII, and ASCII punctuation that Chinese text uses to its full-width form
    (keeping 10:30 and 1,000); the script is kept. Field values are cut from this form of the letter."""
    text = _nfkc(text.replace("\r\n", "\n")).translate(_TRANSLATE)
    text = _ASCII_COLON.sub("：", text)
    text = _ASCII_STOP.sub("。", text)
    return _ASCII_COMMA.sub("，", text)


@functools.cache
def _t2s() -> Any:
    try:
        import opencc  # imported here: its dictionaries load on first use, not at start-up
    except ImportError:  # an environment installed before opencc joined the dependencies: `make install`
        logger.error("opencc is not installed: traditional-script letters are read as printed (run make install)")
        return None
    return opencc.OpenCC("t2s")


def _convert(text: str) -> str:
    converter = _t2s()
    if converter is None:
        return text
    try:
        return str(converter.convert(text))
    except (UnicodeError, ValueError, RuntimeError):  # a lone surrogate cannot cross into the C++ library
        return text


@functools.cache
def _char_to_simplified(ch: str) -> str:
    converted = _convert(ch)
    return converted if len(converted) == 1 else ch


def to_simplified(text: str) -> str:
    """Traditional characters to simplified (OpenCC ``t2s``), one character for one: the result is as long as
    ``text``, so an offset into it is an offset into ``text``. OpenCC converts phrase by phrase; where a phrase
    would change the length, that line is converted character by character instead."""
    converted = _convert(text)
    if len(converted) == len(text) and converted.count("\n") == text.count("\n"):
        return converted
    lines = []
    for line in text.split("\n"):
        done = _convert(line)
        lines.append(done if len(done) == len(line) else "".join(map(_char_to_simplified, line)))
    return "\n".join(lines)


def normalize_text(text: str) -> str:
    """The letter's normalized copy, which the parser reads and matching compares: :func:`fold_text`, then
    traditional characters to simplified (:func:`to_simplified`)."""
    return to_simplified(fold_text(text))


@dataclass(frozen=True, slots=True)
class _Script:
    """A letter's own script: a value read from the normalized (simplified) copy is given back as the letter
    prints it, from the same offsets of the folded text (the two have the same length)."""

    simple: str
    printed: str
    changed: dict[str, str]  # simplified character → the letter's own, where the two differ (first seen)

    @classmethod
    def of(cls, simple: str, printed: str) -> _Script:
        changed: dict[str, str] = {}
        for s, p in zip(simple, printed, strict=True):
            if s != p:
                changed.setdefault(s, p)
        return cls(simple, printed, changed)

    def restore(self, value: str | None) -> str | None:
        if not value or not any(ch in self.changed for ch in value):
            return value
        at = self.simple.find(value)
        if at >= 0:
            return self.printed[at : at + len(value)]
        # the value lost the spaces and line breaks that the letter has inside it: align its other characters
        chars = [ch for ch in value if not ch.isspace()]
        m = re.search(r"\s*".join(map(re.escape, chars)), self.simple) if chars else None
        if m is None:  # put together from several places (张三、李四): character by character
            return "".join(self.changed.get(ch, ch) for ch in value)
        spots = iter([i for i in range(m.start(), m.end()) if not self.simple[i].isspace()])
        return "".join(ch if ch.isspace() else self.printed[next(spots)] for ch in value)

    def letter(self, letter: ParsedLetter) -> ParsedLetter:
        """``letter`` with every printed value in the letter's own script; the closed sets (kind, body, the
        result class) and the keywords, which are for matching, stay normalized."""
        r = self.restore
        session = letter.session
        contact = letter.contact
        return replace(
            letter,
            session=None if session is None else replace(session, region=r(session.region)),
            proposers=tuple(r(p) or p for p in letter.proposers),
            title=r(letter.title),
            result=r(letter.result),
            signer=r(letter.signer),
            unit=r(letter.unit),
            contact=Contact(r(contact.name), r(contact.phone), r(contact.address), r(contact.postcode)),
            doc_number=r(letter.doc_number),
            summary=r(letter.summary) or "",
        )


# ---------------------------------------------------------------------------------------------------------------
# Numbers, dates and labels

_NUM = rf"[0-9{NUMERAL_CHARS}]{{1,6}}"
_SESSION = re.compile(
    rf"(?P<pre>[^\s，。：；、《》“”（）]{{0,24}}?)第?\s*(?P<term>{_NUM})\s*届\s*"
    rf"(?P<mid>[^\s，。：；、《》“”（）第次]{{0,14}}?)\s*第?\s*(?P<sitting>{_NUM})\s*次\s*(?:全体)?\s*会议"
)
_REGION_PREFIX = re.compile(r"^(?:关于对|关于|对于|对|您在|您于|在|就|致|中国人民政治协商会议|政协)+")
_REGION = re.compile(r"^[\u4e00-\u9fff]{1,14}(?:省|市|自治区|区|县|自治州|州|旗|盟|新区)$")

_NUMBER = re.compile(r"(?<![〕\]】）\d])第\s*(\d{1,8})\s*号")
_NUMBER_BARE = re.compile(
    r"(?<![〕\]】）\d第])(\d{1,8})\s*号\s*(?:[省市区县州]级)?\s*(?:人大)?(?:代表)?(?:建议|提案|议案)"
)

_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_CN_DATE = re.compile(
    r"([〇零O0一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月\s*([一二三四五六七八九十]{1,3})\s*日"
)
_ISO_DATE = re.compile(r"(\d{4})\s*[.\-/]\s*(\d{1,2})\s*[.\-/]\s*(\d{1,2})")

_DOC_NUMBER = re.compile(
    r"(?P<prefix>[\u4e00-\u9fff]{0,12})\s*(?P<year>[〔\[【（]\s*(?:19|20)\d{2}\s*[〕\]】）])\s*(?P<di>第?)\s*(?P<seq>\d{1,6})\s*号"
    r"(?:\s*[（(]?\s*(?P<cls>[A-DＡ-Ｄ])\s*类?\s*[）)]?(?![A-Za-z0-9]))?"
)
_BRACKET_CLASS = re.compile(r"[（【\[]\s*([A-D]\d?)\s*类?\s*[）】\]]")
_STANDALONE_CLASS = re.compile(r"^[（【\[]?\s*([A-D]\d?\s*类)\s*[）】\]]?$")

_RESULT_WORDS_C = (
    "因条件限制无法解决",
    "无法解决",
    "不能解决",
    "难以解决",
    "暂不能解决",
    "留作参考",
    "作为参考",
    "供参考",
    "不予采纳",
)
_RESULT_WORDS_B = ("列入计划拟解决", "列入计划", "拟解决", "正在解决", "计划解决", "逐步解决", "部分解决", "列入规划")
_RESULT_WORDS_A = ("解决或采纳", "已经解决", "已解决", "基本解决", "已采纳", "采纳", "解决")
#: Checked in this order: 无法解决 is C although it contains 解决.
_RESULT_WORDS: tuple[tuple[tuple[str, ...], ResultClass], ...] = (
    (_RESULT_WORDS_C, "C"),
    (_RESULT_WORDS_B, "B"),
    (_RESULT_WORDS_A, "A"),
)

# Labels are matched longest first; each maps to the field it feeds. "-" marks labels that only end a value.
_LABELS: dict[str, str] = {
    "办理结果": "result",
    "办理类别": "result",
    "办理结果类别": "result",
    "答复类别": "result",
    "答复类型": "result",
    "办复类别": "result",
    "结果类别": "result",
    "类别": "result",
    "签发人": "signer",
    "领导签发": "signer",
    "签发领导": "signer",
    "签发": "signer",
    "承办负责人": "-",
    "责任领导": "-",
    "承办领导": "-",
    "分管领导": "-",
    "联系人姓名": "name",
    "联系人": "name",
    "承办人": "name",
    "经办人": "name",
    "联系人员": "name",
    "联系人及电话": "name+phone",
    "联系人及联系电话": "name+phone",
    "联系人及联系方式": "name+phone",
    "联系人及联系方法": "name+phone",
    "承办人及联系电话": "name+phone",
    "承办人及电话": "name+phone",
    "经办人及联系电话": "name+phone",
    "经办人及电话": "name+phone",
    "联系单位及电话": "unit+phone",
    "联系单位及联系电话": "unit+phone",
    "联系单位": "unit+phone",
    "联系电话": "phone",
    "联系方式": "phone",
    "办公电话": "phone",
    "电话": "phone",
    "手机": "phone",
    "联系地址": "address",
    "通讯地址": "address",
    "通信地址": "address",
    "地址": "address",
    "邮政编码": "postcode",
    "邮编": "postcode",
    "文号": "doc_number",
    "发文字号": "doc_number",
    "公开属性": "public",
    "公开类别": "public",
    "是否公开": "public",
    "是否同意公开": "public",
    "公开方式": "public",
    "公开类型": "public",
    "公开选项": "public",
    "信息公开选项": "public",
    "建议编号": "number",
    "提案编号": "number",
    "议案编号": "number",
    "提案号": "number",
    "编号": "number",
    "案号": "number",
    "领衔代表": "proposer",
    "提案人": "proposer",
    "提案者": "proposer",
    "领衔人": "proposer",
    "第一提案人": "proposer",
    "代表姓名": "proposer",
    "委员姓名": "proposer",
    "抄送": "-",
    "抄报": "-",
    "附件": "-",
    "传真": "-",
    "电子邮箱": "-",
    "邮箱": "-",
    "主送": "-",
}
_LABEL = re.compile(
    "(?P<label>"
    + "|".join(r"\s?".join(map(re.escape, label)) for label in sorted(_LABELS, key=len, reverse=True))
    + r")\s*(?:[：:]|\t)"
)
_LABEL_TAB = re.compile(_LABEL.pattern.replace(r"\s*(?:[：:]|\t)", r"\t+"))

_PHONE = re.compile(
    r"(?<!\d)1[3-9]\d{9}(?!\d)|\d{3}-\d{3,4}-\d{4}"
    r"|(?:[（(]?0\d{2,3}[）)]?\s*[-—]?\s*)?(?<!\d)\d{7,8}(?!\d)(?:\s*(?:转|-|—|－)\s*\d{1,6})?"
)
_PERSON = re.compile(r"[\u4e00-\u9fff]{1,4}(?:·[\u4e00-\u9fff]{1,8})*")
_POSTCODE = re.compile(r"(?<!\d)\d{6}(?!\d)")

_SALUTATION = re.compile(
    r"^(?:尊敬的)?(?P<names>[\u4e00-\u9fff·、，, ]{2,80}?)\s*"
    r"(?:等\s*(?:\d{1,3}|[一二三四五六七八九十两]{1,3})?\s*(?:名|位|人)?\s*)?"
    r"(?P<role>代表|委员)(?:们|同志)?\s*[：:]"
)
_UNIT_SALUTATION = re.compile(r"^(?P<unit>[\u4e00-\u9fff（）、]{2,30})[：:]$")
_PROPOSER_MENTION = re.compile(
    r"(?:^|(?<=[，。：；的“\s]))(?P<names>[\u4e00-\u9fff·、]{2,40}?)(?:等\s*(?:\d{1,3}|[一二三四五六七八九十两]{1,3})?\s*"
    r"(?:名|位)?\s*)?(?P<role>代表|委员)(?:领衔)?(?:提出|所提|领衔提出)的"
)
_NOT_SALUTATION = re.compile(r"如下|答复|收悉|意见|办法|措施|情况|问题|工作")
_NOT_NAMES = frozenset({"各位", "诸位", "全体", "尊敬的", "您", "人大", "政协", "区人大", "市人大"})

_METADATA = re.compile(
    r"^(?:索引号|主题分类|主题词|发布机构|发文机关|发文单位|成文日期|发布日期|发文日期|生成日期|发布时间|印发日期|"
    r"信息来源|来源|浏览次数|访问次数|点击数|点击量|阅读量|字号|【?\s*字体|分享到|当前位置|您现在的位置|您当前的位置|"
    r"有效性|时效|公开范围|公开时限|标题|名称|信息名称|所属机构|体裁分类|主办单位|答复时间|答复日期|建议人|公开类别)\s*[：:]"
)
_METADATA_ANYWHERE = re.compile(r"\s(?=" + _METADATA.pattern.removeprefix("^") + ")")
_META_TITLE = re.compile(r"^(?:标题|名称|信息名称)\s*[：:]")
_WEB_DEBRIS = re.compile(
    r"^(?:[【\[]?\s*(?:打印本页|打印|关闭窗口|关闭|返回顶部|收藏|分享|字体|大|中|小|默认|加入收藏)\s*[】\]]?[\s|｜/]*)+$"
    r"|^首页\s*[>＞›»]|[>＞›»]\s*正文$"
)
_COPY_TO = re.compile(r"^\s*(?:抄\s?送|抄\s?报)\s*[：:]")
_PUBLIC_NEG = re.compile(r"不予(?:以)?公开|不公开|免予公开|不宜公开|暂不公开|依申请公开|非公开")
_PUBLIC_POS = re.compile(r"公开发布|主动公开|删减后公开|予以公开|全文公开|此件公开|^[（(]?\s*公开\s*[）)]?$")
_UNIT_SUFFIX = re.compile(
    r"(?:委员会|委|局|办公室|办|政府|办事处|街道|中心|公司|集团|厅|部|院|署|所|处|站|馆|队|支队|分局|会|联合会|"
    r"研究院|大学|学院|医院|镇|乡|银行|管理处|管委会)$"
)
_SEAL = re.compile(r"[（(]\s*(?:盖章|公章|印章|章)\s*[）)]")
_SIGN_OFF = frozenset({"此致", "敬礼", "特此函复", "特此答复", "此复", "专此函复", "特此复函", "特此函告"})


def _parse_date(line: str) -> tuple[dt.date, int, int] | None:
    """The last date in a line as (date, start, end), from 2024年4月29日, 二〇二四年四月二十九日 or 2024-04-29."""
    found: tuple[dt.date, int, int] | None = None
    for pattern in (_DATE, _CN_DATE, _ISO_DATE):
        for m in pattern.finditer(line):
            parts = [parse_chinese_number(g) for g in m.groups()]
            if None in parts:
                continue
            year, month, day = (p or 0 for p in parts)
            try:
                value = dt.date(year, month, day)
            except ValueError:
                continue
            if not 1949 <= year <= 2200:
                continue
            if found is None or m.start() > found[1]:
                found = (value, m.start(), m.end())
    return found


def _drop_unbalanced_close(value: str) -> str:
    """ "陈晓 23111234）" from "（联系人及电话：陈晓 23111234）" loses the bracket that closes the line."""
    opened = value.count("（") + value.count("【")
    closed = value.count("）") + value.count("】")
    return value[:-1].rstrip() if value.endswith(("）", "】")) and closed > opened else value


def _labelled(line: str) -> Iterator[tuple[str, str, str]]:
    """(field, label, value) for each ``label：value`` in a line; a value ends where the next label starts."""
    matches = list(_LABEL.finditer(line))
    for i, m in enumerate(matches):
        label = re.sub(r"\s", "", m.group("label"))
        end = matches[i + 1].start() if i + 1 < len(matches) else len(line)
        value = _drop_unbalanced_close(line[m.end() : end].strip(" \t，,；;。、"))
        yield _LABELS[label], label, value


# ---------------------------------------------------------------------------------------------------------------
# Line preparation


@dataclass(frozen=True, slots=True)
class _Prepared:
    lines: tuple[str, ...]
    metadata: tuple[tuple[str, str, str], ...]  # (field, label, value) from publisher metadata lines
    meta_title: str  # the publisher's 标题：…, a fallback for a letter without its own title lines
    meta: dict[str, str]  # every publisher metadata line as label → value (发布机构, 答复时间, 建议人, …)


def _prepare(text: str) -> _Prepared:
    """Split the normalized text into clean lines, and strip debris, publisher metadata, 抄送 lines and a repeated
    copy."""
    raw = text.split("\n")
    lines: list[str] = []
    metadata: list[tuple[str, str, str]] = []
    meta_title = ""
    meta: dict[str, str] = {}
    for line in raw:
        if "\t" in line:  # table cells from a .docx: "办理结果<TAB>解决或采纳"
            line = _LABEL_TAB.sub(r"\g<label>：", line).replace("\t", "  ")
        line = despace_cjk(line)
        if not line or is_page_number(line) or _WEB_DEBRIS.search(line):
            continue
        if not any(ch.isalnum() for ch in line):
            continue
        if _METADATA.match(line):
            metadata.extend(_labelled(line))  # keeps 文号 and 公开方式
            for part in _METADATA_ANYWHERE.split(line):
                label, _, value = part.partition("：")
                meta.setdefault(re.sub(r"\s", "", label), value.strip())
            if not meta_title and (named := _META_TITLE.match(line)):
                meta_title = _METADATA_ANYWHERE.split(line[named.end() :], maxsplit=1)[0].strip()
            continue
        if _COPY_TO.match(line):
            continue
        lines.append(line)
    return _Prepared(tuple(_drop_repeat(lines)), tuple(metadata), meta_title, meta)


def _drop_repeat(lines: list[str]) -> list[str]:
    """Keep one copy when the whole letter is printed twice (possibly wrapped differently the second time)."""
    if len(lines) < 6:
        return lines
    compact = ["".join(line.split()) for line in lines]
    joined = "".join(compact)
    offsets = [0]
    for c in compact:
        offsets.append(offsets[-1] + len(c))
    head = joined[:40]
    if len(head) < 10:
        return lines
    for i in range(3, len(lines) - 2):
        if joined.startswith(head, offsets[i]):
            first, second = offsets[i], len(joined) - offsets[i]
            if 0.7 <= second / first <= 1.3:
                return lines[:i]
    return lines


# ---------------------------------------------------------------------------------------------------------------
# Field extraction


def classify_result(text: str) -> ResultClass | None:
    """Map a printed result (解决或采纳, B, （C类）, 列入计划拟解决, …) to its class A–D, or None."""
    t = normalize_text(text).strip()
    m = re.match(r"^[（(【\[]?\s*([A-Da-d])(?![A-Za-z])", t) or re.search(r"(?<![A-Za-z])([A-D])\s*类", t)
    if m:
        return result_class(m.group(1))
    for words, cls in _RESULT_WORDS:
        if any(w in t for w in words):
            return cls
    return None


def _is_document_type(value: str) -> bool:
    return classify_result(value) is None and bool(re.search(r"提案|建议|议案|代表|委员|来信|函", value))


def _result_from_value(value: str) -> str | None:
    value = value.strip()
    if not value or _is_document_type(value):
        return None
    if len(value) > 24:
        value = value.split(" ")[0]
    return value if classify_result(value) is not None else None


def _person(value: str) -> str | None:
    value = re.sub(r"^(?:同志|先生|女士)", "", value.strip())
    compact = value.replace(" ", "") if len(value.replace(" ", "")) <= 4 else value
    m = _PERSON.match(compact)
    if not m or len(m.group(0)) < 2:
        return None
    if "\u4e00" <= compact[m.end() : m.end() + 1] <= "\u9fff":
        return None  # more Han characters follow: where the name ends is a guess
    return m.group(0)


def _phone(value: str) -> str | None:
    m = _PHONE.search(value)
    if not m:
        return None
    digits = sum(ch.isdigit() for ch in value)
    if re.fullmatch(r"[\d\s\-—－（）()转、，,/]+", value) and digits >= 7:
        return value.strip(" ，,、/")
    return m.group(0).strip()


def _split_names(names: str) -> list[str]:
    out: list[str] = []
    for part in re.split(r"[、，,\s]+|和|及", names):
        part = re.sub(r"(?:代表|委员)$", "", part.strip())
        part = re.sub(r"^(?:尊敬的)?(?:全国|省|市|区|县)?(?:人大代表|政协委员)?", "", part)
        if part in _NOT_NAMES or not part:
            continue
        if re.fullmatch(r"[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{1,8}(?:·[\u4e00-\u9fff]{1,8})+", part):
            out.append(part)
        else:
            return []
    return list(dict.fromkeys(out))


def _looks_like_unit(line: str, *, need_suffix: bool = False) -> bool:
    s = _SEAL.sub("", line).strip()
    compact = s.replace(" ", "")
    if not 2 <= len(compact) <= 40 or compact in _SIGN_OFF:
        return False
    if re.search(r"[：:。，；？！《》“”]", compact) or re.search(r"\d", compact) or is_heading(compact):
        return False
    if _PUBLIC_NEG.search(compact) or _PUBLIC_POS.search(compact) or _SALUTATION.match(compact + "："):
        return False
    han = sum("\u4e00" <= ch <= "\u9fff" for ch in compact)
    if han < 0.8 * len(compact):
        return False
    return bool(_UNIT_SUFFIX.search(compact)) or not need_suffix


def _unit_text(line: str) -> str:
    s = _SEAL.sub("", line).strip()
    parts = s.split()
    if len(parts) > 1 and all(_UNIT_SUFFIX.search(p) for p in parts):
        return "、".join(parts)
    return "".join(parts)


def _session(text: str) -> LetterSession | None:
    for line in text.split("\n"):
        m = _SESSION.search(line)
        if not m:
            continue
        pre, mid = m.group("pre"), m.group("mid")
        whole = pre + mid
        body: Body | None
        if "政协" in whole or "政治协商" in whole or (mid.endswith("委员会") and "常" not in mid):
            body = "政协"
        elif "人大" in whole or "代表大会" in whole:
            body = "人大"
        else:
            body = None
        region: str | None
        if "全国" in whole:
            region = "全国"
        else:
            # "长宁区科委对长宁区第十七届…": the region follows the last 对/关于/在.
            candidate = re.split(r"关于对|关于|对于|对|您在|您于|在|就", pre)[-1]
            candidate = _REGION_PREFIX.sub("", candidate)
            candidate = re.sub(r"(?:政协|人大常委会|人大|人民代表大会)$", "", candidate)
            candidate = _REGION_PREFIX.sub("", candidate)
            region = candidate if len(candidate) >= 2 and _REGION.match(candidate) else None
        term = parse_chinese_number(m.group("term"))
        sitting = parse_chinese_number(m.group("sitting"))
        if term is None and sitting is None:
            continue
        return LetterSession(region=region, body=body, term=term, sitting=sitting)
    return None


def _number(text: str) -> str | None:
    m = _NUMBER.search(text) or _NUMBER_BARE.search(text)
    return m.group(1) if m else None


def _strip_quotes(text: str) -> str:
    return re.sub(r"《[^《》]*》", "", text)


def _letter_type(text: str) -> LetterType | None:
    t = _strip_quotes(text)
    if re.search(r"会办意见|分办意见|会办函|协办意见|会签意见", t):
        return "co-handling"
    if re.search(r"答复|复函|回复|函复|的函|函告", t):
        return "reply"
    return None


def _kind_of(body: Body | None, role: str | None, worded: LetterKind | None) -> LetterKind | None:
    """The kind from the sitting's body (人大/政协) and the salutation's 代表/委员; None when they disagree.
    A form label such as 提案人 or the word 提案 in a congress letter does not make it a proposal."""
    from_role: Body | None = {"代表": "人大", "委员": "政协"}.get(role or "")  # type: ignore[assignment]
    if body is not None and from_role is not None and body != from_role:
        return None
    decided = body or from_role
    if decided == "政协":
        return "政协提案"
    if decided == "人大":
        return "议案" if worded == "议案" else "代表建议"
    return worded


def _kind(text: str) -> LetterKind | None:
    t = _strip_quotes(text)
    if "提案" in t:
        return "政协提案"
    if "议案" in t:
        return "议案"
    if "建议" in t:
        return "代表建议"
    return None


_KIND_WORD = r"(?:代表)?(?:建议|提案|议案)"
# 您提出的《…》 / 您提出的关于“关于…的建议”的建议 / 代表建议“关于…的建议”的复查函告: the quote is the title.
_TITLE_QUOTED = re.compile(
    r"(?:(?:提出|所提)的?|[级表]建议|提案|议案)\s*(?:关于)?\s*(?:《(?P<a>[^《》]{4,200})》|[“\"](?P<b>[^“”\"]{4,120})[”\"])"
)
# 现将您提出的关于…的提案办理情况 / 您提出的 关于…的建议 的建议收悉 (spaces removed before this)
_TITLE_BARE = re.compile(
    rf"(?:提出|所提)的?\s*(?P<t>关于[^，。；：“”《》]{{4,120}}?的{_KIND_WORD})(?=\s*(?:的{_KIND_WORD}|已?收悉|办理情况|[，。]))"
)
# a first line 第197号 某某道路硬化建议
_TITLE_NUMBERED = re.compile(
    rf"^第?\s*\d{{1,8}}\s*号\s*(?P<t>(?!{_KIND_WORD}|的)[^，。：；]{{4,60}}?(?:建议|提案|议案))$"
)


def _title(text: str) -> str | None:
    flat = re.sub(r"\s*\n\s*", "", text)
    first = text.split("\n", 1)[0].strip()
    m = _TITLE_QUOTED.search(flat)
    if m:
        return _despace(m.group("a") or m.group("b") or "")
    m = _TITLE_BARE.search(flat)
    if m:
        return m.group("t")
    m = _TITLE_NUMBERED.match(first)
    if m:
        return m.group("t")
    for quoted in re.finditer(r"《([^《》]{4,200})》", flat):
        title = re.sub(r"(?<=[\u4e00-\u9fff，、“”]) (?=[\u4e00-\u9fff，、“”])", "", quoted.group(1)).strip()
        if len(title) >= 4:
            return title
    m = re.search(r"[“\"]((?:关于)[^“”\"]{4,120}?(?:建议|提案|议案|问题|意见))[”\"]", flat)
    if m:
        return m.group(1)
    m = re.search(r"提出的(关于[^，。；：“”《》]{4,120}?的(?:代表)?(?:建议|提案|议案))(?:已)?收悉", flat)
    return m.group(1) if m else None


def _despace(title: str) -> str:
    return re.sub(r"(?<=[\u4e00-\u9fff，、“”]) (?=[\u4e00-\u9fff，、“”])", "", title).strip()


def _find_salutation(lines: Sequence[str]) -> tuple[int, list[str], str | None] | None:
    """(index, proposers, rest of the line) of the salutation among the first lines, if any."""
    for i, line in enumerate(lines[:30]):
        m = _SALUTATION.match(line)
        if m:
            names = _split_names(m.group("names"))
            if names or m.group("names").strip() in _NOT_NAMES:
                return i, names, line[m.end() :].strip() or None
        m2 = _UNIT_SALUTATION.match(line)
        if m2 and not _LABEL.search(line) and not _SESSION.search(line) and not _NOT_SALUTATION.search(line):
            return i, [], None
    return None


def _find_date(lines: Sequence[str]) -> tuple[int, dt.date, str] | None:
    """(index, date, unit text on the same line) of the signature date: the last line that is just a date."""
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if "年" not in line and "-" not in line and "." not in line and "/" not in line:
            continue
        found = _parse_date(line)
        if found is None:
            continue
        value, start, end = found
        tail = line[end:].strip().removeprefix("）").strip()
        head = line[:start].strip().removesuffix("（").strip()
        if tail and not _PUBLIC_NEG.search(tail) and not _PUBLIC_POS.search(tail):
            continue
        if head and not _looks_like_unit(head):
            continue
        return i, value, head
    return None


def _signature(lines: Sequence[str], body_start: int, dated: tuple[int, dt.date, str] | None) -> tuple[str | None, int]:
    """(signing unit, index where the signature block starts) from the lines around the signature date.

    The unit is the text before the date on its line, or the line right before the date when it reads like a
    unit name, or a line ending in 委员会/局/办公室/政府/… a little higher. Without a date at the end of the
    letter, it is the last line that ends like a unit name, skipping contact and publication lines.
    """
    if dated is not None and dated[0] >= body_start:
        index, _, same_line = dated
        if same_line:
            return _unit_text(same_line), index
        if index - 1 >= body_start and _looks_like_unit(lines[index - 1]):
            return _unit_text(lines[index - 1]), index - 1
        for j in range(index - 2, max(body_start, index - 4) - 1, -1):
            if _looks_like_unit(lines[j], need_suffix=True):
                return _unit_text(lines[j]), j
        return None, index
    for j in range(len(lines) - 1, max(body_start, len(lines) - 12) - 1, -1):
        line = lines[j]
        if _LABEL.search(line) or _PUBLIC_POS.search(line) or _PUBLIC_NEG.search(line):
            continue
        if _looks_like_unit(line, need_suffix=True):
            return _unit_text(line), j
        break
    return None, len(lines)


@dataclass(slots=True)
class _Labelled:
    """Accumulates the values printed after labels (办理结果：…, 签发人：…, 联系人：…); the first one wins."""

    result: str | None = None
    result_from_category: bool = False
    signer: str | None = None
    public: bool | None = None
    doc_number: str | None = None
    number: str | None = None
    proposers: list[str] | None = None
    name: str | None = None
    phone: str | None = None
    address: str | None = None
    postcode: str | None = None
    unit: str | None = None  # 联系单位及电话：某某局 6811xxxx

    def take(self, field: str, label: str, value: str) -> None:
        if field == "result":
            # 类别 is weaker than 办理结果: it often names the document type (类别：提案) instead of a result.
            replaceable = self.result is None or (self.result_from_category and label != "类别")
            if replaceable and (found := _result_from_value(value)) is not None:
                self.result, self.result_from_category = found, label == "类别"
        elif field == "signer":
            self.signer = self.signer or _person(value)
        elif field in ("name", "name+phone", "unit+phone"):
            phone = _PHONE.search(value)
            head = value[: phone.start()] if phone else value
            if field == "unit+phone":
                self.name = self.name or head.strip(" ，,：、（(") or None
                if _looks_like_unit(head.strip(" ，,：、（("), need_suffix=True):
                    self.unit = self.unit or _unit_text(head.strip(" ，,：、（("))
            else:
                self.name = self.name or _person(head)
            self.phone = self.phone or _phone(value)
        elif field == "phone":
            self.phone = self.phone or _phone(value)
        elif field == "address" and self.address is None:
            self.address = value.strip(" （(，,") or None
        elif field == "postcode" and self.postcode is None:
            code = _POSTCODE.search(value)
            self.postcode = code.group(0) if code else None
        elif field == "doc_number" and self.doc_number is None:
            found_doc = _DOC_NUMBER.search(value)
            self.doc_number = _doc_number(found_doc) if found_doc else None
        elif field == "public" and self.public is None:
            if _PUBLIC_NEG.search(value) or re.match(r"(?:否|不同意)", value):
                self.public = False
            elif "公开" in value or re.match(r"(?:是|同意)", value):
                self.public = True
        elif field == "number" and self.number is None:
            found_number = re.search(r"(?:\d{1,3}\s*-\s*\d{1,3}\s*-\s*)?(\d{1,8})", value)  # 018 or 17-5-018
            self.number = found_number.group(1) if found_number else None
        elif field == "proposer" and not self.proposers:
            self.proposers = _split_names(value)

    def take_marks(self, line: str) -> None:
        """Unlabelled marks on header and footer lines: 〔2024〕12号B类, （A类）, a lone "B类" line."""
        for m in _DOC_NUMBER.finditer(line):
            self.doc_number = self.doc_number or _doc_number(m)
            if self.result is None and m.group("cls"):
                self.result = m.group("cls") + ("类" if "类" in m.group(0)[m.end("seq") :] else "")
        if self.result is None and (bracket := _BRACKET_CLASS.search(line)):
            self.result = bracket.group(0).strip("（）【】[] ")
        if self.result is None and (standalone := _STANDALONE_CLASS.match(line)):
            self.result = re.sub(r"\s", "", standalone.group(1))


def _public_from_lines(lines: Sequence[str]) -> bool | None:
    """此件公开发布 → True; 不予公开, 依申请公开 (only on request, so not published) → False; else None."""
    short = [line for line in lines if len(line) <= 40]
    if any(_PUBLIC_NEG.search(line) for line in short):
        return False
    if any(_PUBLIC_POS.search(line) for line in short):
        return True
    return None


def parse_letter(text: str, *, tokenizer: Tokenizer | None = None, ocr: bool = False) -> ParsedLetter:
    """Parse the text of a reply letter. Never raises on any ``str``; a field the letter does not state is None.

    The letter is cut into a header (title lines, labels such as 办理结果/签发人, the document number), the
    salutation that names the proposers, the body, and the signature block (unit, date, publication note,
    contact footer). Title facts (type, kind, session, number) come from the header, falling back to the
    body's first sentence; labelled values come from outside the body. ``summary`` and ``keywords`` come from
    ``tokenizer`` over the body (``""`` and ``()`` without one).

    ``ocr`` says the text came from OCR of a scan; the result carries it as :attr:`ParsedLetter.ocr`.

    The parser reads the normalized (simplified) copy of the letter; every printed value is then cut from the
    letter's own text, so a traditional-script letter's title, names and unit stay traditional.
    """
    printed = fold_text(text)
    simple = to_simplified(printed)
    letter = _parse(simple, tokenizer)
    if ocr:
        letter = replace(letter, ocr=True)
    return letter if simple == printed else _Script.of(simple, printed).letter(letter)


def _parse(text: str, tokenizer: Tokenizer | None) -> ParsedLetter:
    """:func:`parse_letter` on the normalized text."""
    prepared = _prepare(text)
    lines = list(prepared.lines)

    salutation = _find_salutation(lines)
    if salutation is not None:
        header_end, proposers, rest = salutation
        body_start = header_end + 1
    else:
        proposers, rest = [], None
        header_end = next(
            (i for i, line in enumerate(lines[:12]) if "收悉" in line or line.startswith("您")),
            min(len(lines), 6),
        )
        body_start = header_end
    dated = _find_date(lines)
    unit, signature = _signature(lines, body_start, dated)
    date = dated[1] if dated is not None and dated[0] >= body_start else None
    if date is None:
        date = next((found[0] for key in _META_DATES if (found := _parse_date(prepared.meta.get(key, "")))), None)
    if date is None and dated is not None:
        date = dated[1]

    header = "\n".join(lines[:header_end]) or prepared.meta_title
    body_lines = ([rest] if rest else []) + lines[body_start:signature]
    lead = "\n".join(body_lines[:6])
    lead_sentence = "".join(body_lines[:6]).split("。", 1)[0]
    outside = lines[:header_end] + lines[signature:]

    labelled = _Labelled()
    for line in [*outside, *body_lines[:3], *body_lines[-3:]]:  # a label needs its colon, so prose is safe
        for item in _labelled(line):
            labelled.take(*item)
    for item in prepared.metadata:
        labelled.take(*item)
    for line in outside:
        labelled.take_marks(line)

    session = _session(header) or _session(lead) or _session(prepared.meta_title)
    mention = _PROPOSER_MENTION.search("".join(body_lines[:6]) or header)
    role = None
    if salutation is not None and (said := re.search(r"(代表|委员)(?:们|同志)?\s*[：:]", lines[salutation[0]])):
        role = said.group(1)
    elif mention is not None:
        role = mention.group("role")
    kind = _kind_of(
        session.body if session else None,
        role,
        _kind(header) or _kind(lead_sentence) or _kind(prepared.meta_title),
    )
    if not proposers:
        proposers = (
            labelled.proposers
            or (_split_names(mention.group("names")) if mention else [])
            or _split_names(prepared.meta.get("建议人", ""))
        )
    title = _title(header + "\n" + lead)

    summary = ""
    keywords: tuple[str, ...] = ()
    if tokenizer is not None:
        summary, words = tokenizer.digest("\n".join(body_lines), title=title or "")
        keywords = tuple(words)

    return ParsedLetter(
        letter_type=_letter_type(header)
        or _letter_type(lead_sentence)
        or _letter_type(prepared.meta_title)
        or ("reply" if re.search(r"(?:答复|函复|回复)如下", lead) else None),
        kind=kind,
        session=session,
        number=_number(_strip_quotes(header)) or _number(_strip_quotes(lead_sentence)) or labelled.number,
        proposers=tuple(proposers),
        title=title,
        result=labelled.result,
        result_class=classify_result(labelled.result) if labelled.result else None,
        signer=labelled.signer,
        unit=unit or _issuer(lines[:header_end]) or labelled.unit or _meta_unit(prepared.meta),
        date=date,
        public=labelled.public if labelled.public is not None else _public_from_lines(outside),
        contact=Contact(name=labelled.name, phone=labelled.phone, address=labelled.address, postcode=labelled.postcode),
        doc_number=labelled.doc_number,
        summary=summary,
        keywords=keywords,
    )


_META_DATES = ("答复时间", "答复日期", "成文日期")
_META_UNITS = ("发布机构", "主办单位", "发文机关", "发文单位", "所属机构")
_ISSUER = re.compile(r"^(?P<unit>[\u4e00-\u9fff]{2,30}?)(?:对|关于|针对)")


def _issuer(header: Sequence[str]) -> str | None:
    """The unit at the start of a title line: 某某区人民政府对…第0124号代表建议的会办意见."""
    for line in header[:4]:
        m = _ISSUER.match(line)
        if (
            m
            and (_NUMBER.search(line) or _NUMBER_BARE.search(line) or _SESSION.search(line))
            and _looks_like_unit(m.group("unit"), need_suffix=True)
        ):
            return m.group("unit")
    return None


def _meta_unit(meta: dict[str, str]) -> str | None:
    for key in _META_UNITS:
        value = meta.get(key, "").strip()
        if value and _looks_like_unit(value, need_suffix=True):
            return value
    return None


def _doc_number(m: re.Match[str]) -> str:
    prefix = m.group("prefix")
    if len(prefix) > 10:
        prefix = ""
    year = re.sub(r"\s", "", m.group("year"))
    return f"{prefix}{year}{m.group('di')}{m.group('seq')}号"
