"""Alembic environment: runs migrations on the async engine of FELLESPLAN_DATABASE_URL."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.db.base import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    """The database URL: an explicit alembic option wins over settings."""
    explicit = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    return str(explicit) if explicit else Settings().database_url


def _do_run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    kwargs: dict[str, Any] = {"poolclass": pool.NullPool}
    if make_url(url).get_backend_name() == "sqlite":
        from pathlib import Path

        db = make_url(url).database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **kwargs)
    async with engine.connect() as conn:
        await conn.run_sync(_do_run)
        await conn.commit()
    await engine.dispose()


def run() -> None:
    """Run migrations online (there is no offline mode: we always talk to the database)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _do_run(connection)
        return
    asyncio.run(_run_async(_url()))


run()
