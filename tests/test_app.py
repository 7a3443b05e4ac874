"""The composition root: the typed bot context is complete once the application is built, and shutdown is safe."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build_application
from bot.context import BotData
from bot.delivery.ticker import Ticker
from bot.domain.clock import VirtualClock
from bot.sandbox.emulator import BotApiEmulator
from bot.sandbox.transport import build_bot_kwargs
from config.settings import load_settings
from storage.errors import DatabaseUnavailable

T0 = datetime(2024, 3, 25, 2, tzinfo=UTC)


def _bot_kwargs() -> dict[str, object]:
    return build_bot_kwargs(BotApiEmulator(now=lambda: T0))


async def test_build_application_bot_data_is_complete_before_start(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", admins=[11, 22])
    clock = VirtualClock(T0)
    app = build_application(settings, clock=clock, bot_kwargs=_bot_kwargs(), tick_interval=None)
    deps = app.bot_data
    try:
        assert isinstance(deps, BotData)
        assert (deps.settings, deps.clock, deps.admins, deps.tick_interval) == (settings, clock, {11, 22}, None)
        assert deps.sessionmaker.kw["bind"] is deps.engine
        assert isinstance(deps.ticker, Ticker)
        assert (deps.languages, deps.bind_failures, deps.tokenizer_ready) == ({}, {}, None)
    finally:
        await deps.engine.dispose()


async def test_post_shutdown_after_a_failed_post_init_closes_cleanly(tmp_path: Path) -> None:
    """PTB runs post_shutdown even when post_init raised: closing must not fail on what never opened."""
    (tmp_path / "bot.db").write_bytes(b"not a database" * 512)
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    app = build_application(settings, bot_kwargs=_bot_kwargs(), tick_interval=None)
    assert app.post_init is not None and app.post_shutdown is not None
    with pytest.raises(DatabaseUnavailable, match="file is not a database"):
        await app.post_init(app)
    await app.post_shutdown(app)
