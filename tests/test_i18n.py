"""Message catalogs: zh-CN and English have the same keys and the same placeholders; rendering never fails."""

from __future__ import annotations

import string

import pytest

from bot.render.i18n import en, pick_language, t, zh


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_i18n_catalogs_have_the_same_keys() -> None:
    assert set(zh.MESSAGES) == set(en.MESSAGES)


@pytest.mark.parametrize("key", sorted(zh.MESSAGES))
def test_i18n_placeholders_match_between_languages(key: str) -> None:
    assert _fields(zh.MESSAGES[key]) == _fields(en.MESSAGES[key])


@pytest.mark.parametrize(
    ("code", "lang"), [(None, "zh"), ("zh-hans", "zh"), ("zh-TW", "zh"), ("en", "en"), ("en-GB", "en"), ("de", "en")]
)
def test_i18n_pick_language_from_telegram_code(code: str | None, lang: str) -> None:
    assert pick_language(code) == lang


def test_i18n_unknown_key_falls_back_to_the_key() -> None:
    assert t("en", "no.such.key") == "no.such.key"
