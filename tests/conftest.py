"""Shared fixtures: real databases (SQLite in tmp_path, PostgreSQL on 127.0.0.1) and an injected clock."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import hypothesis  # noqa: F401 - imported early, on the main thread, before jieba loads in a worker
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.engine import create_engine, create_sessionmaker
from storage.migrate import upgrade

# PTB warns on every RetryAfter unless timedelta retry_after values are opted in; we opt in everywhere.
os.environ.setdefault("PTB_TIMEDELTA", "true")

FIXTURES = Path(__file__).parent / "fixtures"
SEED_LETTER = FIXTURES / "000_22e5c766df40d68a.txt"
PG_HOST = os.environ.get("PROPOSAL_BOT_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("PROPOSAL_BOT_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("PROPOSAL_BOT_TEST_PG_USER", "postgres")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


async def _pg_answers() -> bool:
    try:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


_PG_STATE: dict[str, bool] = {}


def pg_available() -> bool:
    if "ok" not in _PG_STATE:
        _PG_STATE["ok"] = asyncio.run(_pg_answers())
    return _PG_STATE["ok"]


def require_postgres() -> None:
    """Skip outside CI when no server answers; in CI a missing server is a failure, never a skip."""
    if pg_available():
        return
    if IN_CI:
        pytest.fail(f"PostgreSQL at {PG_HOST}:{PG_PORT} does not answer, and CI must run the postgres tests")
    pytest.skip(f"PostgreSQL at {PG_HOST}:{PG_PORT} does not answer")


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this test run; dropped at the end."""
    require_postgres()
    name = f"proposal_bot_test_{uuid.uuid4().hex[:10]}"

    async def _admin(sql: str) -> None:
        conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _reset_pg_schema(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        await conn.exec_driver_sql("CREATE SCHEMA public")
    await engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for each engine: SQLite in tmp_path, PostgreSQL in a fresh schema."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(_reset_pg_schema(url))
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(db_url)
    await upgrade(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)
