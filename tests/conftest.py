"""Shared fixtures: a fresh, migrated database per xdist worker and backend, and an ASGI client.

Every HTTP test runs on SQLite and, when FELLESPLAN_TEST_PG_URL is set (make test does it),
on a real PostgreSQL too. Nothing is mocked below the HTTP boundary.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.db.engine import Database
from app.db.migrate import upgrade
from app.main import create_app

# The core suites run without authentication (the security suites turn it on per test);
# set before any test module builds Settings from the environment.
os.environ.setdefault("FELLESPLAN_AUTH_ENABLED", "false")
PG_URL = os.environ.get("FELLESPLAN_TEST_PG_URL")
BACKENDS = ["sqlite", "postgres"] if PG_URL else ["sqlite"]
BASE = "http://test/fhir"
_TMP = Path(tempfile.mkdtemp(prefix="fellesplan-test-"))


def _worker() -> str:
    """The xdist worker id (gw0, gw1, ...) or 'main'."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


async def _create_pg_database(name: str) -> str:
    """Create an empty PostgreSQL database for this worker; returns its URL."""
    assert PG_URL is not None
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


async def database_url(backend: str, label: str = "") -> str:
    """A fresh, migrated database URL for this worker (migrations run for real)."""
    name = f"fp_{_worker()}{label}"
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{_TMP / (name + '.db')}"
    else:
        url = await _create_pg_database(name)
    await asyncio.to_thread(upgrade, url)
    return url


def make_settings(url: str, **overrides: Any) -> Settings:
    """Test settings on the given database."""
    return Settings(database_url=url, base_url=BASE, env="test", **overrides)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def databases() -> AsyncIterator[dict[str, Database]]:
    """One migrated Database per backend, shared by a worker's tests."""
    dbs: dict[str, Database] = {}
    for backend in BACKENDS:
        url = await database_url(backend)
        dbs[backend] = Database(make_settings(url), url)
    yield dbs
    for db in dbs.values():
        await db.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database backend under test."""
    return str(request.param)


@pytest.fixture
def db(databases: dict[str, Database], backend: str) -> Database:
    """The Database for this test's backend."""
    return databases[backend]


@pytest.fixture
def settings(db: Database) -> Settings:
    """Settings matching the test database."""
    return db.settings


@pytest_asyncio.fixture(loop_scope="session")
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the ASGI app (no network), bound to this backend's database."""
    app = create_app(db.settings, db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c
