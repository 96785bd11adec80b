"""The run loop: an idle worker does no passes (no write transactions) until a change arrives."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
import respx
from sqlalchemy import select

from app.db.engine import Database
from app.db.subscription_tables import SubscriptionState
from app.fhir.dates import utcnow
from app.repository import subscriptions as repo
from app.subscriptions.worker import Worker
from tests.factories.resources import patient
from tests.helpers import JSON_HEADERS
from tests.subscriptions.conftest import sub_settings
from tests.subscriptions.factories import PINNED, subscription

pytestmark = pytest.mark.asyncio(loop_scope="session")


class CountingWorker(Worker):
    """A worker that counts its full passes."""

    passes = 0

    async def run_once(self) -> int:
        self.passes += 1
        return await super().run_once()


async def _until(cond: object, seconds: float = 5.0) -> None:
    """Wait until cond() holds (bounded: the check must not hang the suite)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not cond() and loop.time() < end:  # type: ignore[operator]
        await asyncio.sleep(0.01)


@respx.mock
async def test_a_change_wakes_an_idle_worker_without_polling_passes(
        sdb: Database, api: httpx.AsyncClient) -> None:
    route = respx.post(PINNED).mock(return_value=httpx.Response(200))
    settings = sub_settings(sdb.settings.database_url, subscription_poll_seconds=3600,
                            subscription_check_seconds=0.01)
    resp = await api.post("/fhir/Subscription", json=subscription(), headers=JSON_HEADERS)
    assert resp.status_code == 201
    stop = asyncio.Event()
    async with httpx.AsyncClient() as client:
        w = CountingWorker(sdb, settings, client=client, name="idle")
        task = asyncio.create_task(w.run(stop))
        await _until(lambda: w.passes >= 2)  # the first full pass, then the Subscription's own change
        await asyncio.sleep(0.3)  # about 30 checks: none may turn into a pass
        idle = w.passes
        await asyncio.sleep(0.3)
        assert w.passes == idle <= 3
        created = await api.post("/fhir/Patient", json=patient(), headers=JSON_HEADERS)
        assert created.status_code == 201
        await _until(lambda: w.passes > idle)
        stop.set()
        await task
    assert w.passes > idle
    assert route.call_count == 0  # a Patient is not what the subscription asks for


async def test_retry_due_sees_only_unleased_expired_backoffs(sdb: Database, api: httpx.AsyncClient) -> None:
    resp = await api.post("/fhir/Subscription", json=subscription(), headers=JSON_HEADERS)
    assert resp.status_code == 201
    now = utcnow()
    async with sdb.session(write=True) as s:
        pk = (await s.execute(select(SubscriptionState.res_pk))).scalar_one()  # made by the write
        assert not await repo.retry_due(s, now)
        await repo.set_state(s, pk, next_attempt_at=now - dt.timedelta(seconds=1))
        assert await repo.retry_due(s, now)
        await repo.set_state(s, pk, lease_owner="other", lease_until=now + dt.timedelta(seconds=60))
        assert not await repo.retry_due(s, now)  # another worker holds it
        await repo.set_state(s, pk, lease_owner=None, lease_until=None,
                             next_attempt_at=now + dt.timedelta(seconds=60))
        assert not await repo.retry_due(s, now)  # still backing off
