"""Fixtures: a migrated database per backend with subscription settings, an API client, a worker."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.db.engine import Database
from app.main import create_app
from app.subscriptions import endpoint
from app.subscriptions.worker import Worker
from tests.conftest import BASE, database_url
from tests.subscriptions.factories import Clock, StaticResolver, SyncTestSettings

_COUNTER = itertools.count()


def sub_settings(url: str, **over: Any) -> SyncTestSettings:
    """Test settings for a database, with fast, deterministic backoff."""
    values: dict[str, Any] = dict(database_url=url, base_url=BASE, env="test",
                                  subscription_backoff_initial_seconds=10,
                                  subscription_backoff_max_seconds=600, subscription_retry_hours=72)
    values.update(over)
    return SyncTestSettings(**values)


@pytest_asyncio.fixture(loop_scope="session")
async def sdb(backend: str) -> AsyncIterator[Database]:
    """A fresh migrated database for each test (subscriptions see every change of the database)."""
    url = await database_url(backend, f"_subs{next(_COUNTER)}")
    db = Database(sub_settings(url), url)
    yield db
    await db.dispose()


@pytest.fixture
def resolver() -> Iterator[StaticResolver]:
    """A static DNS table instead of the network."""
    r = StaticResolver()
    endpoint.set_resolver(r)
    yield r
    endpoint.set_resolver(None)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest_asyncio.fixture(loop_scope="session")
async def api(sdb: Database, resolver: StaticResolver) -> AsyncIterator[httpx.AsyncClient]:
    """The FHIR API on the test database (authentication off: the OPEN actor)."""
    app = create_app(sdb.settings, sdb)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest_asyncio.fixture(loop_scope="session")
async def worker(sdb: Database, clock: Clock) -> AsyncIterator[Worker]:
    """A delivery worker with the injected clock; its HTTP goes through respx in the tests."""
    async with httpx.AsyncClient() as client:
        yield Worker(sdb, clock=clock, client=client, name="w1")
