"""The 0002 migration creates exactly the schema the ORM index tables describe."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.index_tables import INDEX_TABLES
from app.db.migrate import upgrade
from tests.search.conftest import pg_database

ROOT = Path(__file__).resolve().parents[2]


def _migration() -> object:
    spec = importlib.util.spec_from_file_location(
        "m0002", ROOT / "migrations" / "versions" / "0002_search_indexes.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(conn: Connection) -> None:
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    conn.exec_driver_sql("CREATE TABLE resources (pk INTEGER PRIMARY KEY, res_type VARCHAR(64))")
    mod = _migration()
    with Operations.context(MigrationContext.configure(conn)):
        mod.upgrade()  # type: ignore[attr-defined]


def test_migration_matches_orm(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.begin() as conn:
        _run(conn)
        insp = inspect(conn)
        for table in INDEX_TABLES:
            t = table.__table__  # type: ignore[attr-defined]
            assert {c["name"] for c in insp.get_columns(t.name)} == {c.name for c in t.columns}
            assert {i["name"] for i in insp.get_indexes(t.name)} == {i.name for i in t.indexes}
        assert "ix_resources_search_type_pk" in {i["name"] for i in insp.get_indexes("resources")}


async def test_migrations_run_on_postgresql() -> None:
    """The whole Alembic chain (0001 → 0002 → …) on a fresh PostgreSQL database."""
    url = await pg_database("search_migration")
    if url is None:
        pytest.skip("no PostgreSQL for this run (FELLESPLAN_TEST_PG_URL)")
    await asyncio.to_thread(upgrade, url)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            def check(sync_conn: Connection) -> None:
                insp = inspect(sync_conn)
                for table in INDEX_TABLES:
                    t = table.__table__  # type: ignore[attr-defined]
                    assert {i["name"] for i in insp.get_indexes(t.name)} == {
                        i.name for i in t.indexes}
                cols = {c["name"]: c for c in insp.get_columns("search_string")}
                assert cols["norm"]["type"].collation == "C"

            await conn.run_sync(check)
            # 0006: the planner knows how res_type, param, system and value go together.
            names = {r[0] for r in (await conn.exec_driver_sql(
                "SELECT stxname FROM pg_statistic_ext")).all()}
            assert {"st_search_token", "st_search_reference"} <= names
    finally:
        await engine.dispose()
