"""Schema migrations: Alembic configured in code, runnable from inside a running event loop.

Alembic (with mako) costs a noticeable part of start-up, so it is imported only when a migration runs: an
up-to-date database is recognised by `HEAD`, checked against the migration scripts by a test.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The newest migration's revision. tests/test_migrations.py checks it against the scripts.
HEAD = "0012"


class SchemaOutdated(Exception):
    """The database is behind the code's migrations (run `proposal-bot migrate`)."""


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def current_revision(engine: AsyncEngine) -> str | None:
    """The database's migration revision, or None for a database that was never migrated."""
    async with engine.connect() as connection:
        try:
            value = await connection.scalar(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:
            return None
    return None if value is None else str(value)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply pending migrations on the engine's database (alembic upgrade head); cheap when there are none."""
    if revision == "head" and await current_revision(engine) == HEAD:
        return

    def _upgrade(connection: Connection) -> None:
        from alembic import command

        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


async def check_current(engine: AsyncEngine) -> None:
    """Raise SchemaOutdated unless the database is at the latest migration."""
    current = await current_revision(engine)
    if current != HEAD:
        raise SchemaOutdated(
            f"the database schema is at {current or 'nothing'}, the code needs {HEAD}: run `proposal-bot migrate` first"
        )


def script_heads() -> set[str]:
    """The heads of the migration scripts (what `HEAD` must equal)."""
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config()).get_heads())
