"""Message catalogs (zh-CN first, English too) and language choice from Telegram's `language_code`."""

from __future__ import annotations

from typing import Literal

from bot.render.i18n import en, zh

Lang = Literal["zh", "en"]
CATALOGS: dict[str, dict[str, str]] = {"zh": zh.MESSAGES, "en": en.MESSAGES}


def pick_language(language_code: str | None) -> Lang:
    """Chinese unless the user's Telegram client speaks something else."""
    if language_code is None or language_code.lower().startswith("zh"):
        return "zh"
    return "en"


def t(lang: str, key: str, /, **values: object) -> str:
    """The message `key` in `lang`, formatted with `values` (falls back to Chinese, then to the key)."""
    template = CATALOGS.get(lang, zh.MESSAGES).get(key) or zh.MESSAGES.get(key) or key
    return template.format(**values) if values else template
