"""End-to-end: /settings changes language, digest mode and quiet hours, and they stick."""

from __future__ import annotations

from datetime import UTC, datetime, time

from bot.sandbox.harness import Sandbox
from config.settings import load_settings
from storage.accounts import find_account


async def test_settings_choices_are_stored_and_language_applies(sqlite_url: str) -> None:
    async with Sandbox(load_settings(database_url=sqlite_url), at=datetime(2024, 6, 3, 2, tzinfo=UTC)) as box:
        await box.load_demo()
        user = await box.use("public")
        [card] = await box.say("/settings")
        assert "✓ 跟随 Telegram" in [b.label for row in card.buttons for b in row]
        [english] = await box.press("English")
        assert "Settings" in english.text
        [edited] = await box.press("daily digest (9:00)")
        assert "✓ daily digest (9:00)" in [b.label for row in edited.buttons for b in row]
        await box.press("none")
        status = "\n".join(m.text for m in await box.say("018"))
        async with box.deps.sessionmaker() as session:
            account = await find_account(session, telegram_id=user.user_id)
    assert "Lead unit" in status
    assert account is not None
    assert (account.language, account.digest_mode) == ("en", "daily")
    assert (account.quiet_start, account.quiet_end) == (time(0), time(0))
    assert box.emulator.violations == []
