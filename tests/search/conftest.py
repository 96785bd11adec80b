"""Search test fixtures: a real database per backend (SQLite file, PostgreSQL), rolled back."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

import app.db.index_tables  # noqa: F401  (registers the index tables on Base.metadata)
from app.db.base import Base
from tests.conftest import _create_pg_database, _worker

# The throwaway PostgreSQL of `make test` (scripts/with-postgres.sh); without it, SQLite only.
PG_URL = os.environ.get("FELLESPLAN_TEST_PG_URL", "")


async def pg_database(name: str) -> str | None:
    """A fresh PostgreSQL database for this worker (None when the run has no PostgreSQL)."""
    if not PG_URL:
        return None
    return await _create_pg_database(f"{name}_{_worker()}")


def _sqlite_engine(path: Path) -> AsyncEngine:
    """An aiosqlite engine with foreign keys on."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")

    @event.listens_for(engine.sync_engine, "connect")
    def _fk(dbapi_conn, _rec):  # type: ignore[no-untyped-def]
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    return engine


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                 ) -> AsyncIterator[AsyncEngine]:
    """One schema per backend for the whole session."""
    if request.param == "sqlite":
        eng = _sqlite_engine(tmp_path_factory.mktemp("search") / "search.db")
    else:
        url = await pg_database("search")
        if url is None:
            pytest.skip("no PostgreSQL for this run (FELLESPLAN_TEST_PG_URL)")
        eng = create_async_engine(url)
    async with eng.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    yield eng
    await eng.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose work is rolled back after the test."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        s = AsyncSession(bind=conn, expire_on_commit=False, autoflush=False)
        try:
            yield s
        finally:
            await s.close()
            await trans.rollback()
