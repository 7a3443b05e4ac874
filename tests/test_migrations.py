"""Migrations: the migrated schema equals the models on both engines, and the bot refuses an outdated schema."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import storage.coordination  # noqa: F401 - its tables are part of the schema
from storage.engine import create_engine
from storage.migrate import HEAD, SchemaOutdated, check_current, script_heads, upgrade
from storage.models import Base
from storage.search import SEARCH_TABLES


def _not_search_index(name: str | None, type_: str, _parent: object) -> bool:
    """The search index is engine-specific SQL (FTS5, tsvector) that storage/search.py owns, not a model."""
    return not (type_ == "table" and name is not None and SEARCH_TABLES.match(name))


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"include_name": _not_search_index})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_produce_exactly_the_models(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.run_sync(_diff) == []
    await check_current(engine)


async def test_migrations_upgrade_twice_is_a_no_op(engine: AsyncEngine) -> None:
    await upgrade(engine)
    await check_current(engine)


async def test_check_current_refuses_unmigrated_database(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        with pytest.raises(SchemaOutdated, match="proposal-bot migrate"):
            await check_current(engine)
    finally:
        await engine.dispose()


def test_migrations_head_constant_matches_scripts() -> None:
    """`HEAD` lets start-up skip importing Alembic; it must name the one head of the scripts."""
    assert script_heads() == {HEAD}
