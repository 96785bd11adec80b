"""Consent test fixtures: a migrated database of its own per module and backend."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest_asyncio

from app.db.engine import Database
from tests.conftest import database_url, make_settings

_SEQ = itertools.count()


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_db(backend: str) -> AsyncIterator[Database]:
    """An empty, migrated database (so searches see only this test's world)."""
    url = await database_url(backend, f"_consent{next(_SEQ)}")
    database = Database(make_settings(url), url)
    yield database
    await database.dispose()
