"""Several workers on one PostgreSQL share the work and never deliver one event concurrently."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import httpx
import pytest
import respx

from app.db.engine import Database
from app.services.context import SYSTEM
from app.subscriptions.worker import Worker
from tests.factories.resources import careplan, patient
from tests.subscriptions.factories import RECEIVER_IP, Clock, StaticResolver, subscription
from tests.subscriptions.test_owner import write

SUBS = 4
PLANS = 12


@respx.mock
async def test_two_workers_never_overlap(sdb: Database, backend: str, clock: Clock,
                                         resolver: StaticResolver) -> None:
    if backend != "postgres":
        pytest.skip("several workers share one PostgreSQL (SKIP LOCKED); SQLite has one process")
    in_flight: dict[str, int] = defaultdict(int)
    overlaps: list[str] = []
    got: dict[str, list[int]] = defaultdict(list)
    by_worker: dict[str, int] = defaultdict(int)

    async def receiver(request: httpx.Request) -> httpx.Response:
        sub = request.url.path
        in_flight[sub] += 1
        if in_flight[sub] > 1:
            overlaps.append(sub)
        await asyncio.sleep(0.02)  # hold the request open so a second sender would overlap
        got[sub].append(int(request.headers["X-Fellesplan-Event-Number"]))
        in_flight[sub] -= 1
        return httpx.Response(200)

    respx.post(url__startswith=f"https://{RECEIVER_IP}/hook").mock(side_effect=receiver)
    for i in range(SUBS):
        await write(sdb, SYSTEM, subscription(endpoint=f"https://receiver.example.no/hook{i}"))
    pat = await write(sdb, SYSTEM, patient())
    for _ in range(PLANS):
        await write(sdb, SYSTEM, careplan(pat["id"]))
    other = Database(sdb.settings, sdb.url)  # a second pool, as a second process would have
    async with httpx.AsyncClient() as client:
        workers = [Worker(sdb, clock=clock, client=client, name="a", concurrency=2),
                   Worker(other, clock=clock, client=client, name="b", concurrency=2)]

        async def loop(w: Worker) -> None:
            for _ in range(200):
                if sum(len(v) for v in got.values()) >= SUBS * PLANS:
                    return
                by_worker[w.name] += await w.run_once()

        await asyncio.gather(*(loop(w) for w in workers))
    await other.dispose()
    assert not overlaps
    assert sorted(got) == [f"/hook{i}" for i in range(SUBS)]
    for numbers in got.values():
        assert numbers == list(range(1, PLANS + 1))  # each once, in order
    assert by_worker["a"] and by_worker["b"], by_worker
