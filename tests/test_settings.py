"""Settings: env and TOML sources, and one clear line naming the setting for every bad value."""

from __future__ import annotations

import subprocess
import sys
from datetime import time

import pytest

from config.settings import SettingsError, load_settings


def test_settings_defaults_load_shanghai_profile() -> None:
    settings = load_settings()
    profile = settings.profile
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert (profile.reply_months, profile.extended_max_months, profile.rehandling_months) == (3, 6, 1)
    assert profile.reminder_offsets_days == (30, 14, 7, 3, 1, 0)
    assert profile.quiet_hours == (time(21), time(8))


def test_settings_env_overrides_toml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROPOSAL_BOT_ADMINS", "11, 22;33")
    monkeypatch.setenv("PROPOSAL_BOT_JURISDICTION", "generic")
    monkeypatch.setenv("PROPOSAL_BOT_DATABASE_URL", "postgresql://bot@db/proposals")
    settings = load_settings()
    assert settings.admins == (11, 22, 33)
    assert settings.profile.rehandling_months == 2
    assert settings.database_url == "postgresql+asyncpg://bot@db/proposals"


@pytest.mark.parametrize(
    ("field", "value", "name"),
    [
        ("timezone", "Mars/Olympus", "PROPOSAL_BOT_TIMEZONE"),
        ("admins", "12,abc", "PROPOSAL_BOT_ADMINS"),
        ("token", "not-a-token", "PROPOSAL_BOT_TOKEN"),
        ("database_url", "mysql://x", "PROPOSAL_BOT_DATABASE_URL"),
        ("jurisdiction", "atlantis", "PROPOSAL_BOT_JURISDICTION"),
        ("webhook_url", "http://insecure.example", "PROPOSAL_BOT_WEBHOOK_URL"),
        ("webhook_port", "99999", "PROPOSAL_BOT_WEBHOOK_PORT"),
        ("log_level", "LOUD", "PROPOSAL_BOT_LOG_LEVEL"),
    ],
)
def test_settings_bad_value_names_the_setting(field: str, value: str, name: str) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(**{field: value})
    message = str(info.value)
    assert name in message
    assert "\n" not in message


def test_cli_bad_setting_fails_at_start_with_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "deadline", "2024-03-15"],
        env={"PROPOSAL_BOT_TIMEZONE": "Nowhere/City", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "PROPOSAL_BOT_TIMEZONE" in result.stderr


def test_cli_deadline_prints_due_day_first_and_warns_past_data() -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "bot", "deadline", "2024-03-15"], capture_output=True, text=True, timeout=60, check=False
    )
    assert ok.returncode == 0
    assert ok.stdout.splitlines()[0] == "2024-06-17"
    future = subprocess.run(
        [sys.executable, "-m", "bot", "deadline", "2031-03-03"], capture_output=True, text=True, timeout=60, check=False
    )
    assert future.returncode == 0
    assert future.stdout.splitlines()[0] == "2031-06-03"
    assert "holiday data missing for 2031" in future.stderr
