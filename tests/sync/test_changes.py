"""The change feed ($changes) and type/system history are gap-free under concurrent writers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from app.db.engine import Database
from app.main import create_app
from app.operations import registry
from app.services.context import SYSTEM, ActorKind, RequestContext
from app.services.crud import ResourceService
from app.sync.feed import ChangeFeedService
from tests.factories.resources import patient

Key = tuple[str, str, int]


def _key(entry: dict[str, Any]) -> Key:
    """(type, id, version) of a feed entry; deletes (other tests share the database) carry no resource."""
    res_type, res_id = entry["fullUrl"].rsplit("/", 2)[-2:]
    return (res_type, res_id, int(entry["response"]["etag"].strip('W/"')))


async def feed_page(db: Database, token: str, count: int = 50, ctx: RequestContext = SYSTEM,
                    types: str | None = None) -> tuple[list[Key], str, bool]:
    """One $changes page: the versions, the next token, whether more is waiting."""
    params = [("since", token), ("_count", str(count))] + ([("_type", types)] if types else [])
    async with db.session(write=True) as s:
        body = orjson.loads(await ChangeFeedService(s, ctx, db.settings).changes(None, params))
    keys = [_key(e) for e in body.get("entry", [])]
    tags = {t["system"].rsplit("/", 1)[1]: t["code"] for t in body["meta"]["tag"]}
    assert body["link"][1]["url"].endswith(f"since={tags['changes-token']}")
    return keys, tags["changes-token"], tags["changes-more"] == "true"


async def drain_feed(db: Database, token: str) -> tuple[list[Key], str]:
    """Follow the feed until it is caught up."""
    seen: list[Key] = []
    while True:
        keys, token, more = await feed_page(db, token)
        seen += keys
        if not more:
            return seen, token


async def create(db: Database, resource: dict[str, Any]) -> Key:
    async with db.session(write=True) as s:
        r = await ResourceService(s, SYSTEM, db.settings).create(resource["resourceType"], resource)
    return (r.res_type, r.res_id, r.version_id)


async def test_concurrent_writers_no_gaps_no_repeats(db: Database) -> None:
    _, start = await drain_feed(db, "")
    acked: list[Key] = []
    seen: list[Key] = []
    done = asyncio.Event()

    async def writer() -> None:
        for _ in range(15):
            acked.append(await create(db, patient()))

    async def reader() -> None:
        token = start
        while not done.is_set():
            keys, token, _ = await feed_page(db, token, count=7)
            seen.extend(keys)
            await asyncio.sleep(0)
        keys, token = await drain_feed(db, token)
        seen.extend(keys)

    read = asyncio.create_task(reader())
    await asyncio.gather(*(writer() for _ in range(6)))
    done.set()
    await read
    assert len(seen) == len(set(seen)), "a change was delivered twice"
    assert set(seen) == set(acked), "a committed change is missing"


async def test_late_commit_is_not_skipped(db: Database, backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serialises writers, so commit order is sequence order")
    _, token = await drain_feed(db, "")
    hold = asyncio.Event()
    early: list[Key] = []

    async def slow_writer() -> None:
        async with db.session(write=True) as s:  # takes its seq first, commits last
            r = await ResourceService(s, SYSTEM, db.settings).create("Patient", patient())
            early.append((r.res_type, r.res_id, r.version_id))
            await hold.wait()

    slow = asyncio.create_task(slow_writer())
    while not early:
        await asyncio.sleep(0.01)
    late = await create(db, patient())
    first, token, _ = await feed_page(db, token)
    assert first == [late]
    hold.set()
    await slow
    second, token, _ = await feed_page(db, token)
    assert second == early


async def test_history_polling_by_newest_entry_misses_no_late_commit(db: Database, backend: str,
                                                                     client: httpx.AsyncClient) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite serialises writers, so commit order is sequence order")
    newest = (await client.get("/fhir/Patient/_history", params={"_count": "1"})).json()["entry"][0]
    hold = asyncio.Event()
    started = asyncio.Event()

    async def slow_writer() -> None:
        async with db.session(write=True) as s:
            await ResourceService(s, SYSTEM, db.settings).create("Patient", patient())
            started.set()
            await hold.wait()

    slow = asyncio.create_task(slow_writer())
    await started.wait()
    await create(db, patient())
    hold.set()
    await slow
    # A poller reads newest-first until it reaches what it saw last time: both new versions.
    fresh: list[str] = []
    url: str | None = "/fhir/Patient/_history?_count=1"
    while url:
        page = (await client.get(url)).json()
        entry = page["entry"][0]
        if entry["fullUrl"] == newest["fullUrl"] and entry["response"]["etag"] == newest["response"]["etag"]:
            break
        fresh.append(entry["fullUrl"])
        url = next((ln["url"].replace("http://test", "") for ln in page["link"] if ln["relation"] == "next"),
                   None)
    assert len(fresh) == 2


async def test_history_pages_are_complete_and_disjoint(db: Database, client: httpx.AsyncClient) -> None:
    for _ in range(7):
        await create(db, patient())
    everything = (await client.get("/fhir/_history", params={"_count": "500"})).json()["entry"]
    paged: list[str] = []
    url: str | None = "/fhir/_history?_count=3"
    while url:
        page = (await client.get(url)).json()
        paged += [f"{e['fullUrl']}@{e['response']['etag']}" for e in page.get("entry", [])]
        url = next((ln["url"].replace("http://test", "") for ln in page["link"] if ln["relation"] == "next"),
                   None)
    want = [f"{e['fullUrl']}@{e['response']['etag']}" for e in everything]
    assert paged[: len(want)] == want[: len(paged)] and len(paged) == len(set(paged))


async def test_feed_applies_the_callers_scopes(db: Database) -> None:
    _, token = await drain_feed(db, "")
    await create(db, patient())
    registry_only = RequestContext(kind=ActorKind.HEALTH, hpr="1", org="974633574", service_type="x",
                                   scopes=frozenset({"user/Organization.rs"}))
    from app.fhir.errors import Forbidden

    with pytest.raises(Forbidden):
        await feed_page(db, token, ctx=registry_only, types="Patient")


@pytest_asyncio.fixture(loop_scope="session")
async def changes_client(db: Database, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    """The API with $changes registered (the one-line registry entry the lead adds)."""
    monkeypatch.setattr(registry, "MODULES", (*registry.MODULES, "changes"))
    registry.registry.cache_clear()
    app = create_app(db.settings, db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c
    registry.registry.cache_clear()


async def test_changes_operation_over_http(db: Database, changes_client: httpx.AsyncClient) -> None:
    _, token = await drain_feed(db, "")
    key = await create(db, patient())
    resp = await changes_client.get("/fhir/Patient/$changes", params={"since": token})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [(e["resource"]["resourceType"], e["resource"]["id"]) for e in body["entry"]] == [key[:2]]
    nxt = next(ln["url"] for ln in body["link"] if ln["relation"] == "next")
    again = (await changes_client.get(nxt.replace("http://test", ""))).json()
    assert "entry" not in again
    bad = await changes_client.get("/fhir/$changes", params={"since": "abc"})
    assert bad.status_code == 400
