"""Schema migrations: Alembic configured in code, runnable from inside a running event loop."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply pending migrations on the engine's database (alembic upgrade head)."""

    def _upgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


class SchemaOutdated(Exception):
    """The database is behind the code's migrations (run `proposal-bot migrate`)."""


async def check_current(engine: AsyncEngine) -> None:
    """Raise SchemaOutdated unless the database is at the latest migration."""

    def _current(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    async with engine.connect() as connection:
        current = await connection.run_sync(_current)
    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    if current != heads:
        raise SchemaOutdated(
            f"the database schema is at {sorted(current) or 'nothing'}, the code needs {sorted(heads)}: "
            "run `proposal-bot migrate` first"
        )
