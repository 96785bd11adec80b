"""The push, pull and subscription scenarios against a live HAPI FHIR server.

Run with FELLESPLAN_HAPI_URL=http://127.0.0.1:8090/fhir (see docs/sync.md for the JPA starter);
skipped otherwise. Each run uses fresh ids, so it can be repeated against the same server.
"""

from __future__ import annotations

import copy
import itertools
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.db.engine import Database
from app.subscriptions import endpoint
from app.subscriptions.settings import SubscriptionSettings
from app.subscriptions.worker import Worker
from app.sync.graph import references
from app.sync.pull import PullService
from app.sync.push import PushService
from app.sync.remote import Remote
from tests.conftest import BASE, database_url
from tests.subscriptions.factories import SyncTestSettings, subscription
from tests.sync.factories import current, load, plan_set

HAPI = os.environ.get("FELLESPLAN_HAPI_URL", "").rstrip("/")
pytestmark = [pytest.mark.hapi, pytest.mark.skipif(not HAPI, reason="FELLESPLAN_HAPI_URL is not set")]
_N = itertools.count()


def unique_plan_set() -> tuple[list[dict[str, Any]], str]:
    """The example plans under ids (and identifiers) no earlier run used."""
    tag = uuid.uuid4().hex[:8]
    out: list[dict[str, Any]] = []
    for res in plan_set():
        res = copy.deepcopy(res)
        res["id"] = f"{res['id']}-{tag}"
        out.append(res)
    ids = {r["id"].rsplit("-", 1)[0]: r["id"] for r in out}
    for res in out:
        for ref in references(res):
            _retarget(res, ref, f"{ref[0]}/{ids.get(ref[1], ref[1])}")
    # Business identifiers stay: push finds earlier runs' resources at HAPI by identifier.
    return out, tag


def _retarget(node: Any, ref: tuple[str, str], new: str) -> None:
    if isinstance(node, dict):
        if node.get("reference") == f"{ref[0]}/{ref[1]}":
            node["reference"] = new
        for v in node.values():
            _retarget(v, ref, new)
    elif isinstance(node, list):
        for v in node:
            _retarget(v, ref, new)


@pytest_asyncio.fixture(loop_scope="session")
async def fellesplan(backend: str) -> AsyncIterator[Database]:
    url = await database_url(backend, f"_hapi{next(_N)}")
    db = Database(SyncTestSettings(database_url=url, base_url=BASE, env="test",
                               subscription_allow_private=True), url)
    yield db
    await db.dispose()


async def test_push_then_pull_round_trip(fellesplan: Database, backend: str) -> None:
    resources, _ = unique_plan_set()
    await load(fellesplan, resources)
    pushed = await PushService(fellesplan, Remote(HAPI)).run()
    assert not pushed.errors, pushed.errors
    plans = [r for r in resources if r["resourceType"] == "CarePlan"]
    async with httpx.AsyncClient() as c:
        for plan in plans:
            got = (await c.get(f"{HAPI}/CarePlan/{plan['id']}")).json()
            assert got["title"] == plan["title"]
    url = await database_url(backend, f"_hapi{next(_N)}")
    other = Database(SyncTestSettings(database_url=url, base_url=BASE, env="test"), url)
    try:
        pulled = await PullService(other, Remote(HAPI)).run()
        assert not pulled.errors, pulled.errors
        for plan in plans:
            got = await current(other, "CarePlan", plan["id"])
            assert got is not None
            same = {k: v for k, v in got.items() if k not in ("meta", "subject", "author", "contributor",
                                                                "careTeam", "goal", "activity", "addresses",
                                                                "supportingInfo")}
            assert same == {k: v for k, v in plan.items() if k in same}
            for ref in references(got):
                assert await current(other, *ref) is not None, ref
    finally:
        await other.dispose()
    again = await PushService(fellesplan, Remote(HAPI)).run()
    assert again.transactions == 0


async def test_subscription_mirrors_plan_changes_into_hapi(fellesplan: Database) -> None:
    resources, _ = unique_plan_set()
    await load(fellesplan, resources)
    assert not (await PushService(fellesplan, Remote(HAPI)).run()).errors  # referenced resources first
    endpoint.set_resolver(None)
    plan = next(r for r in resources if r["id"].startswith("kriseplan-kari"))
    sub = subscription(criteria=f"CarePlan?_id={plan['id']}", endpoint=HAPI, payload="application/fhir+json")
    sub["id"] = f"mirror-{plan['id']}"
    await load(fellesplan, [sub])
    changed = dict(plan, title="Endret etter samtale 02:00")
    await load(fellesplan, [changed])
    settings = SubscriptionSettings(subscription_allow_private=True)
    async with httpx.AsyncClient() as client:
        worker = Worker(fellesplan, settings, client=client, name="live")
        for _ in range(10):
            await worker.run_once()
        got = (await client.get(f"{HAPI}/CarePlan/{plan['id']}")).json()
    assert got["title"] == "Endret etter samtale 02:00"
