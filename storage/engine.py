"""Engines and session factories for SQLite (WAL, foreign keys, busy timeout) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage.errors import DatabaseUnavailable

#: How long opening a PostgreSQL connection may take before the database counts as down (asyncpg's default: 60 s).
CONNECT_TIMEOUT_S = 10.0

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA synchronous=NORMAL",
)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL, or None for an in-memory database."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return None
    return Path(database)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine; on SQLite make sure the directory exists and set the pragmas on connect."""
    try:
        make_url(url)
    except (ArgumentError, ValueError):  # its message would repeat the URL, password and all
        raise DatabaseUnavailable(safe_url(url), "not a valid database URL") from None
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(safe_url(url), f"cannot create {path.parent}: {exc.strerror or exc}") from exc
    else:
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True, connect_args={"timeout": CONNECT_TIMEOUT_S})
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def safe_url(url: str | URL) -> str:
    """The URL as it can be shown: the password, if any, replaced by ``***``."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception:  # not a URL at all: show only its scheme
        return str(url).split("://", 1)[0] + "://…"
    return parsed.render_as_string(hide_password=True)


async def ensure_reachable(engine: AsyncEngine) -> None:
    """Open one connection and run ``SELECT 1``; raise DatabaseUnavailable (one line) if that fails.

    Whatever fails here, the database cannot be used, so every failure is an outage: a refused or timed-out
    connection, a driver's authentication or missing-database error, a SQLite file that cannot be opened.
    """
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:  # asyncpg's own errors (a wrong password) share no base with SQLAlchemy's
        raise DatabaseUnavailable(safe_url(engine.url), _reason(exc)) from exc


def _reason(exc: BaseException) -> str:
    """One short line from a driver's error: SQLAlchemy's wrapper unwrapped, the errno spelled out."""
    cause: BaseException = getattr(exc, "orig", None) or exc  # a DBAPIError's driver error
    if isinstance(cause, OSError) and isinstance(cause.errno, int):
        return os.strerror(cause.errno)  # "Connection refused", not asyncio's "Connect call failed (…)"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    lines = str(cause).strip().splitlines()
    line = lines[0] if lines else type(cause).__name__
    return line if len(line) <= 200 else line[:199] + "…"
