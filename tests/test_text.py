"""Tests for bot.text: segmentation (against jieba itself), search terms, keywords, summaries and line repair."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jieba
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text import (
    Tokenizer,
    default_userdict,
    despace_cjk,
    is_boilerplate,
    is_page_number,
    reflow,
    split_sentences,
)

SEED = (Path(__file__).parent / "fixtures" / "000_22e5c766df40d68a.txt").read_text(encoding="utf-8")
SEED_TITLE = "关于高标准打造“上海硅巷”科创街区，加速集聚科创型企业的建议"
BOILERPLATE = ("感谢", "答复如下", "收悉", "联系人", "联系电话", "此件公开", "代表：", "办理概述", "2024年 4月")


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    tok = Tokenizer(default_userdict())
    tok.initialize()
    return tok


@pytest.fixture(scope="module")
def reference() -> Any:
    """jieba's own segmenter with the same user dictionary, to compare the fast path against."""
    ref = jieba.Tokenizer()
    ref.initialize()
    ref.load_userdict(str(default_userdict()))
    return ref


def test_default_userdict_lines_are_word_freq_pos() -> None:
    lines = default_userdict().read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 75
    words = set()
    for line in lines:
        word, freq, pos = line.split(" ")
        assert int(freq) > 0 and pos
        words.add(word)
    for word in ("硅巷", "科创", "科创街区", "会办", "会办意见", "代表建议", "政协提案", "主办单位", "会办单位"):
        assert word in words
    for word in ("交办", "办理结果", "签发人", "重点督办", "城市更新", "一楼一策", "长宁区科学技术委员会", "区科委"):
        assert word in words


def test_initialize_called_twice_is_idempotent(tokenizer: Tokenizer) -> None:
    tokenizer.initialize()
    assert tokenizer.initialized


def test_tokenizer_uninitialized_initializes_on_first_use() -> None:
    tok = Tokenizer()
    assert not tok.initialized
    assert tok.cut("代表建议") != []
    assert tok.initialized


def test_cut_seed_matches_jieba_precise_mode(tokenizer: Tokenizer, reference: Any) -> None:
    expected = [t for t in reference.cut(SEED) if any(ch.isalnum() for ch in t)]
    assert tokenizer.cut(SEED) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(sorted(set(SEED[:800])) + list("abcXYZ019 .-%"))))
def test_cut_any_text_matches_jieba_precise_mode(tokenizer: Tokenizer, reference: Any, text: str) -> None:
    expected = [t for t in reference.cut(text) if any(ch.isalnum() for ch in t)]
    assert tokenizer.cut(text) == expected


def test_cut_for_search_seed_matches_jieba_search_mode(tokenizer: Tokenizer, reference: Any) -> None:
    expected = [t.strip().lower() for t in reference.cut_for_search(SEED) if any(ch.isalnum() for ch in t)]
    assert tokenizer.cut_for_search(SEED) == expected


def test_cut_for_search_user_words_split_into_parts(tokenizer: Tokenizer) -> None:
    tokens = tokenizer.cut_for_search("上海硅巷科创街区")
    assert {"硅巷", "上海硅巷", "科创", "科创街区"} <= set(tokens)


def test_cut_for_search_punctuation_dropped_latin_lowercased(tokenizer: Tokenizer) -> None:
    tokens = tokenizer.cut_for_search("“一网通办”，APP 上线！")
    assert "app" in tokens
    assert not {"“", "”", "，", "！", " "} & set(tokens)


def test_search_terms_deduplicated_in_order_without_function_words(tokenizer: Tokenizer) -> None:
    terms = tokenizer.search_terms("硅巷的硅巷 科创")
    assert terms == ["硅巷", "科创"]


def test_search_terms_only_function_words_kept(tokenizer: Tokenizer) -> None:
    assert tokenizer.search_terms("的") == ["的"]


def test_summarize_seed_short_and_without_boilerplate(tokenizer: Tokenizer) -> None:
    summary = tokenizer.summarize(SEED)
    assert 20 <= len(summary) <= 130
    for phrase in BOILERPLATE:
        assert phrase not in summary


def test_digest_seed_with_title_mentions_the_subject(tokenizer: Tokenizer) -> None:
    summary, keywords = tokenizer.digest(SEED, title=SEED_TITLE)
    assert len(summary) <= 120
    assert "硅巷" in summary
    assert "硅巷" in keywords or "科创" in keywords


def test_summarize_small_limit_truncated_with_ellipsis(tokenizer: Tokenizer) -> None:
    summary = tokenizer.summarize(SEED, limit=9)
    assert len(summary) == 9 and summary.endswith("…")


def test_summarize_only_boilerplate_gives_empty(tokenizer: Tokenizer) -> None:
    assert tokenizer.summarize("康红恩代表：\n感谢您对科技工作的关心和支持。\n联系人：洪嫣") == ""


def test_keywords_seed_include_domain_words_and_no_numbers(tokenizer: Tokenizer) -> None:
    keywords = tokenizer.keywords(SEED)
    assert len(keywords) == 8
    assert "硅巷" in keywords or "科创" in keywords
    assert not any(ch.isdigit() for word in keywords for ch in word)
    assert not {"建议", "答复", "代表", "我们"} & set(keywords)


def test_keywords_empty_text_gives_empty_list(tokenizer: Tokenizer) -> None:
    assert tokenizer.keywords("") == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("长 宁 区 科 学 技 术 委 员 会", "长宁区科学技术委员会"),
        ("签 发 人 ： 詹 镭", "签发人：詹镭"),
        ("办理结果：解决或采纳 签发人：詹镭", "办理结果：解决或采纳 签发人：詹镭"),
        ("联系地址：安西路 35号", "联系地址：安西路 35号"),
        ("科创街区 ， 加速", "科创街区，加速"),
        ("  多个   空格  ", "多个 空格"),
    ],
)
def test_despace_cjk_line_gives_repaired_line(line: str, expected: str) -> None:
    assert despace_cjk(line) == expected


@pytest.mark.parametrize("line", ["- 2 -", "—3—", "第 2 页 共 5 页", "2/5", "12", "－ 7 －"])
def test_is_page_number_debris_true(line: str) -> None:
    assert is_page_number(line)


@pytest.mark.parametrize("line", ["2024年 4月 29日", "第 018 号代表建议的答复", "一、总体情况", "", "- -"])
def test_is_page_number_content_false(line: str) -> None:
    assert not is_page_number(line)


def test_reflow_seed_joins_wrapped_lines_and_keeps_headings() -> None:
    paragraphs = reflow(SEED.splitlines())
    assert "您提出的关于《关于高标准打造“上海硅巷”科创街区，加速集聚科创型企业的建议》" in paragraphs[4]
    assert "一、对建议的办理概述" in paragraphs
    assert "1、关于加大政策供给，形成联动机制的建议" in paragraphs
    assert "5、关于重视运营服务、产业生态建设、做出差异化特色的建议" in paragraphs
    assert paragraphs[-5:-2] == ["长宁区科学技术委员会", "2024年 4月 29日", "（此件公开发布）"]


def test_split_sentences_ends_at_chinese_stops() -> None:
    assert split_sentences("一是甲。二是乙；三是丙！\n四") == ["一是甲。", "二是乙；", "三是丙！", "四"]


@pytest.mark.parametrize(
    "sentence",
    [
        "康红恩代表：",
        "感谢您对科技工作的关心和支持。",
        "现将办理情况答复如下：",
        "您提出的建议已收悉。",
        "联系人姓名：洪嫣 联系电话：52388345",
        "（此件公开发布）",
        "2024年 4月 29日",
        "一、对建议的办理概述",
        "特此函复。",
    ],
)
def test_is_boilerplate_letter_furniture_true(sentence: str) -> None:
    assert is_boilerplate(sentence)


def test_is_boilerplate_content_false() -> None:
    assert not is_boilerplate("区政府已通过《长宁区全面推进“上海硅巷”科创街区建设三年行动方案》并正式发布。")
