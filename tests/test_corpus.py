"""Tests for bench.corpus: determinism, unique keys, item shapes and realistic term selectivity."""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import pytest

# bench/ is not an installed package; `python -m pytest` finds it from the repo root, plain `pytest` needs this.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.corpus import _BODY, DOMAIN_WORDS, REGIONS, SyntheticItem, _session_of, generate, unit_names

N = 2000


@pytest.fixture(scope="module")
def items() -> list[SyntheticItem]:
    return list(generate(N, seed=11))


def _text(item: SyntheticItem) -> str:
    return item.title + item.content + (item.reply_text or "")


def test_generate_same_seed_yields_identical_items(items: list[SyntheticItem]) -> None:
    assert list(generate(N, seed=11)) == items


def test_generate_other_seed_yields_different_items(items: list[SyntheticItem]) -> None:
    other = list(generate(50, seed=12))
    assert [i.title for i in other] != [i.title for i in items[:50]]


def test_generate_shorter_run_is_prefix_of_longer(items: list[SyntheticItem]) -> None:
    assert list(generate(700, seed=11)) == items[:700]


def test_generate_zero_items_yields_nothing() -> None:
    assert list(generate(0)) == []


def test_generate_negative_count_raises_value_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        generate(-1)


def test_generate_session_keys_are_unique(items: list[SyntheticItem]) -> None:
    keys = [(i.region, i.term, i.sitting, i.number) for i in items]
    assert len(set(keys)) == len(keys)


def test_session_of_many_indices_gives_unique_keys() -> None:
    """Checks the numbering scheme past every region block and into the second pass (generating is too slow)."""
    keys = set()
    regions = set()
    for index in range(250_000):
        region, body, sitting, number = _session_of(index)
        keys.add((region, _BODY[body][0], sitting, number))
        regions.add(region)
    assert len(keys) == 250_000
    assert regions == set(REGIONS)


def test_generate_seed_letter_key_is_item_174(items: list[SyntheticItem]) -> None:
    item = items[174]
    assert (item.region, item.body, item.term, item.sitting, item.number) == ("长宁区", "人大", 17, 5, "018")
    assert item.kind == "代表建议"


def test_generate_item_fields_have_realistic_shapes(items: list[SyntheticItem]) -> None:
    for item in items:
        assert re.fullmatch(r"\d{3,}", item.number)
        assert item.title.startswith("关于")
        assert item.title.endswith("的建议" if item.body == "人大" else "的提案")
        assert 15 <= len(item.title) <= 30
        assert 180 <= len(item.content) <= 460
        assert item.deputies
        assert len(set(item.deputies)) == len(item.deputies)
        assert item.lead_unit in unit_names(item.region)
        assert item.lead_unit not in item.co_units
        if item.reply_text is not None:
            assert 220 <= len(item.reply_text) <= 420
            assert item.reply_text.startswith(item.deputies[0])
            assert item.lead_unit in item.reply_text


def test_generate_about_sixty_percent_have_replies(items: list[SyntheticItem]) -> None:
    share = sum(i.reply_text is not None for i in items) / len(items)
    assert 0.55 <= share <= 0.65


def test_generate_mid_frequency_domain_word_is_selective(items: list[SyntheticItem]) -> None:
    """A search for a mid-ranked domain word must not match nearly every row, or search benchmarks mean nothing."""
    texts = [_text(i) for i in items]
    for word in random.Random(5).sample(DOMAIN_WORDS[60:140], 5):
        share = sum(word in t for t in texts) / len(texts)
        assert 0 < share < 0.15, (word, share)


def test_generate_word_frequencies_fall_with_rank(items: list[SyntheticItem]) -> None:
    texts = [_text(i) for i in items]

    def share(word: str) -> float:
        return sum(word in t for t in texts) / len(texts)

    assert share(DOMAIN_WORDS[1]) > share(DOMAIN_WORDS[20]) > share(DOMAIN_WORDS[150])
    assert share("我们") < 0.6  # the commonest jieba words are frequent, not universal
