"""Settings: parsed once into a frozen, validated object from env, `.env` and `config/default.toml`."""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_DIR = Path(__file__).resolve().parent
DEFAULT_TOML = CONFIG_DIR / "default.toml"
ENV_PREFIX = "PROPOSAL_BOT_"


class SettingsError(Exception):
    """A setting is missing or invalid; the message is one line naming the setting."""


def database_url(value: str) -> str:
    """A database URL in the form the engine takes (``sqlite:///`` gets aiosqlite, ``postgres://`` asyncpg).

    Raises ValueError, naming the accepted forms, for anything else; used for the setting and ``sandbox --db``.
    """
    value = value.strip()
    if value.startswith("sqlite:///"):
        value = "sqlite+aiosqlite:///" + value.removeprefix("sqlite:///")
    elif value.startswith(("postgresql://", "postgres://")):
        value = "postgresql+asyncpg://" + value.split("://", 1)[1]
    if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ValueError("expected sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db")
    return value


class Jurisdiction(BaseModel):
    """Clock rules of one jurisdiction (lengths, reminder offsets, quiet hours)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = ""
    name: str
    reply_months: int = Field(ge=1, le=12)
    extended_max_months: int = Field(ge=1, le=24)
    co_opinion_months: int = Field(ge=1, le=12)
    rehandling_months: int = Field(ge=1, le=12)
    return_workdays: int = Field(ge=1, le=60)
    roll_to_workday: bool = True
    reminder_offsets_days: tuple[int, ...] = (30, 14, 7, 3, 1, 0)
    feedback_after_days: int = Field(default=3, ge=0, le=60)
    quiet_hours: tuple[time, time] = (time(21, 0), time(8, 0))

    @field_validator("reminder_offsets_days")
    @classmethod
    def _offsets_sorted(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(v < 0 for v in value):
            raise ValueError("reminder offsets must be >= 0 days")
        return tuple(sorted(set(value), reverse=True))

    @model_validator(mode="after")
    def _extension_covers_reply(self) -> Jurisdiction:
        if self.extended_max_months < self.reply_months:
            raise ValueError("extended_max_months must be >= reply_months")
        return self


class Settings(BaseSettings):
    """Every setting of the bot. Build it with `load_settings()`, never at import time."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
        toml_file=DEFAULT_TOML,
    )

    token: SecretStr | None = None
    database_url: str = "sqlite+aiosqlite:///./data/proposals.db"
    admins: Annotated[tuple[int, ...], NoDecode] = ()
    api_base_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    timezone: str = "Asia/Shanghai"
    jurisdiction: str = "shanghai"
    jurisdictions: dict[str, Jurisdiction] = Field(default_factory=dict)
    log_level: str = "INFO"
    #: how much a .docx or .xlsx may unpack to, and how many entries it may hold (checked before parsing)
    archive_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024 * 1024)
    archive_max_entries: int = Field(default=10_000, ge=10)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls),
        )

    @field_validator("token", mode="before")
    @classmethod
    def _blank_token_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        raw = value.get_secret_value().strip()
        head, sep, tail = raw.partition(":")
        # the shape only: whether Telegram knows the token is for Telegram to say (`run` exits 2 on a 401)
        if (
            not sep
            or not head.isdigit()
            or not tail
            or not all(c.isascii() and (c.isalnum() or c in "_-") for c in tail)
        ):
            raise ValueError("expected the form 123456789:AAE… from @BotFather")
        return SecretStr(raw)

    @field_validator("admins", mode="before")
    @classmethod
    def _split_admins(cls, value: Any) -> Any:
        if isinstance(value, int):
            return (value,)
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").replace(" ", ",").split(",") if p]
            try:
                return tuple(int(p) for p in parts)
            except ValueError as exc:
                raise ValueError("expected comma-separated Telegram user ids, such as 123,456") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return database_url(value)

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("webhook_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not value.startswith("https://"):
            raise ValueError("Telegram only calls https:// webhook URLs")
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("expected DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def profile(self) -> Jurisdiction:
        return self.jurisdictions[self.jurisdiction].model_copy(update={"key": self.jurisdiction})

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def token_value(self) -> str | None:
        return self.token.get_secret_value() if self.token else None


def load_settings(**overrides: Any) -> Settings:
    """Build settings; raise SettingsError with one line naming the bad setting."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "settings"
        name = ENV_PREFIX + loc.split(".")[0].upper() if loc != "settings" else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"invalid setting {name}: {message}") from exc
    if settings.jurisdiction not in settings.jurisdictions:
        known = ", ".join(sorted(settings.jurisdictions)) or "none"
        raise SettingsError(
            f"invalid setting {ENV_PREFIX}JURISDICTION: unknown profile {settings.jurisdiction!r} (known: {known})"
        )
    return settings


def env_has_token() -> bool:
    """True when a token is configured in the environment (used only for the start-up banner)."""
    return bool(os.environ.get(ENV_PREFIX + "TOKEN", "").strip())
