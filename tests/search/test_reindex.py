"""`fellesplan reindex` rebuilds index rows on a migrated database (migrations run for real)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import delete, func, select

from app.config import Settings
from app.db.engine import Database
from app.db.index_tables import StringIndex
from app.db.migrate import upgrade
from app.search import cli as search_cli
from tests.search.factories import patient, store


async def _count(db: Database) -> int:
    async with db.session(write=False) as s:
        return int((await s.execute(select(func.count()).select_from(StringIndex))).scalar_one())


async def test_reindex_restores_rows(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'r.db'}"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(database_url=url, base_url="http://test/fhir")
    db = Database(settings, url)
    try:
        async with db.session(write=True) as s:
            for i in range(3):
                await store(s, patient(f"r{i}", family=f"Dahl{i}"))
        before = await _count(db)
        assert before > 0
        async with db.session(write=True) as s:
            await s.execute(delete(StringIndex))
        assert await _count(db) == 0
        assert await search_cli.reindex(settings) == 3
        assert await _count(db) == before
        assert await search_cli.reindex(settings, "Organization") == 0
    finally:
        await db.dispose()


def test_cli_registers_reindex() -> None:
    import click

    group = click.Group()
    search_cli.register(group)
    result = CliRunner().invoke(group, ["reindex", "--help"])
    assert result.exit_code == 0 and "--type" in result.output
