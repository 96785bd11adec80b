"""Push and pull against a HAPI FHIR server emulated with respx (tests/sync/hapi.py)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
import respx

from app.db.engine import Database
from app.services.context import SYSTEM
from app.services.crud import ResourceService
from app.sync.graph import references
from app.sync.pull import PullService
from app.sync.push import PushService
from app.sync.remote import ClientCredentials, Remote, RemoteError
from tests.conftest import database_url, make_settings
from tests.sync.factories import PLANS, current, load, plan_set
from tests.sync.hapi import BASE, FakeHapi, oo

_N = itertools.count()


def without_meta(r: dict[str, Any] | None) -> dict[str, Any]:
    assert r is not None
    return {k: v for k, v in r.items() if k != "meta"}


def profile(r: dict[str, Any] | None) -> Any:
    assert r is not None
    return (r.get("meta") or {}).get("profile")


async def fresh(backend: str) -> Database:
    url = await database_url(backend, f"_sync{next(_N)}")
    return Database(make_settings(url), url)


@pytest_asyncio.fixture(loop_scope="session")
async def here(backend: str) -> AsyncIterator[Database]:
    """Fellesplan with the two plans."""
    db = await fresh(backend)
    await load(db, plan_set())
    yield db
    await db.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def there(backend: str) -> AsyncIterator[Database]:
    """Another, empty Fellesplan."""
    db = await fresh(backend)
    yield db
    await db.dispose()


@pytest.mark.parametrize("keep_ids", [True, False], ids=["hapi-keeps-ids", "hapi-assigns-ids"])
@respx.mock
async def test_round_trip_unchanged_except_meta(here: Database, there: Database, keep_ids: bool) -> None:
    hapi = FakeHapi(keep_client_ids=keep_ids)
    hapi.install(respx.mock)
    report = await PushService(here, Remote(BASE)).run()
    assert not report.errors and report.transactions == 1
    assert len(hapi.all_current("CarePlan")) == 2
    patient = hapi.all_current("Patient")[0]
    assert (patient["id"] == "kari") is keep_ids  # identifier-bearing: conditional update
    pulled = await PullService(there, Remote(BASE)).run()
    assert not pulled.errors and not pulled.conflicts, pulled
    for original in plan_set():
        key = (original["resourceType"], original["id"])
        if keep_ids:
            got = await current(there, *key)
            assert without_meta(got) == without_meta(original), key
            assert profile(got) == profile(original)
    for plan in PLANS:  # ids HAPI assigned are kept by the copy, and every reference resolves
        got = await current(there, *plan)
        assert got is not None
        for ref in references(got):
            assert await current(there, *ref) is not None, (plan, ref)
    back = await PullService(here, Remote(BASE)).run()  # and back home: nothing changes
    assert back.imported == 0 and not back.conflicts and not back.errors, back
    for original in plan_set():
        got = await current(here, original["resourceType"], original["id"])
        assert got is not None and got["meta"]["versionId"] == "1"


@respx.mock
async def test_push_repeat_is_harmless_and_resumes_after_failure(here: Database) -> None:
    hapi = FakeHapi()
    hapi.install(respx.mock)
    hapi.fail_next = [oo(500, "exception", "HAPI-0550: database is down")]
    failed = await PushService(here, Remote(BASE)).run()
    assert failed.errors and "HAPI-0550" in failed.errors[0] and failed.checkpoint == 0
    done = await PushService(here, Remote(BASE)).run()  # resumes from the saved checkpoint
    assert not done.errors and done.transactions == 1
    versions = {k: len(v) for k, v in hapi.versions.items()}
    again = await PushService(here, Remote(BASE)).run()
    assert again.transactions == 0  # nothing changed since the checkpoint
    async with here.session(write=True) as s:  # forget the checkpoint: a full repeat
        from app.repository import sync_state

        await sync_state.set_checkpoint(s, f"push:{BASE}", "0", hapi.clock)
    repeat = await PushService(here, Remote(BASE)).run()
    assert not repeat.errors
    assert {k: len(v) for k, v in hapi.versions.items()} == versions  # no new versions, no duplicates


@respx.mock
async def test_only_changed_plans_are_pushed_with_unchanged_references_by_id(here: Database) -> None:
    hapi = FakeHapi()
    hapi.install(respx.mock)
    await PushService(here, Remote(BASE)).run()
    plan = await current(here, *PLANS[0])
    assert plan is not None
    plan["title"] = "Min kriseplan, revidert"
    plan.pop("meta")
    await load(here, [plan])
    sent: list[dict[str, Any]] = []
    original = hapi.transaction

    def spy(bundle: dict[str, Any]) -> httpx.Response:
        sent.append(bundle)
        return original(bundle)

    hapi.transaction = spy  # type: ignore[method-assign]
    report = await PushService(here, Remote(BASE)).run()
    assert report.transactions == 1
    assert [e["request"]["url"] for e in sent[0]["entry"]] == ["CarePlan/kriseplan-kari"]
    assert sent[0]["entry"][0]["resource"]["subject"]["reference"] == "Patient/kari"
    assert hapi.current(PLANS[0])["title"] == "Min kriseplan, revidert"  # type: ignore[index]


@respx.mock
async def test_pull_reports_conflict_instead_of_overwriting(here: Database) -> None:
    hapi = FakeHapi()
    hapi.install(respx.mock)
    await PushService(here, Remote(BASE)).run()
    await PullService(here, Remote(BASE)).run()
    remote_plan = hapi.current(PLANS[0])
    assert remote_plan is not None
    remote_plan["title"] = "Endret i journalsystemet"
    hapi.write(PLANS[0], remote_plan)
    local = await current(here, *PLANS[0])
    assert local is not None
    local["title"] = "Endret i Fellesplan"
    local.pop("meta")
    await load(here, [local])
    report = await PullService(here, Remote(BASE)).run()
    assert len(report.conflicts) == 1 and "CarePlan/kriseplan-kari" in report.conflicts[0]
    assert (await current(here, *PLANS[0]))["title"] == "Endret i Fellesplan"  # type: ignore[index]


@respx.mock
async def test_pull_takes_a_remote_change_when_only_the_remote_changed(here: Database) -> None:
    hapi = FakeHapi(page_size=1)  # one plan per page: the pull follows HAPI's _getpages links
    hapi.install(respx.mock)
    await PushService(here, Remote(BASE)).run()
    await PullService(here, Remote(BASE)).run()
    remote_plan = hapi.current(PLANS[1])
    assert remote_plan is not None
    remote_plan["description"] = "Oppdatert av spesialisthelsetjenesten"
    hapi.write(PLANS[1], remote_plan)
    report = await PullService(here, Remote(BASE)).run()
    assert report.imported == 1 and not report.conflicts, report
    got = await current(here, *PLANS[1])
    assert got is not None and got["description"] == "Oppdatert av spesialisthelsetjenesten"
    assert got["meta"]["versionId"] == "2"
    pages = [c.request.url for c in respx.mock.calls if "_getpages" in str(c.request.url)]
    assert pages


@respx.mock
async def test_pull_refuses_invalid_remote_content_through_validation(there: Database) -> None:
    hapi = FakeHapi()
    hapi.install(respx.mock)
    hapi.write(("CarePlan", "broken"), {"resourceType": "CarePlan", "status": "not-a-status",
                                         "intent": "plan", "subject": {"reference": "Patient/nobody"}})
    report = await PullService(there, Remote(BASE)).run()
    assert report.errors and report.imported == 0
    assert await current(there, "CarePlan", "broken") is None


@respx.mock
async def test_bearer_token_and_client_credentials(here: Database) -> None:
    hapi = FakeHapi(token="t0k3n")
    hapi.install(respx.mock)
    denied = await PushService(here, Remote(BASE)).run()
    assert denied.errors and "HAPI-0333" in denied.errors[0]
    token_route = respx.post("https://helseid.example.no/connect/token").mock(
        return_value=httpx.Response(200, json={"access_token": "t0k3n", "expires_in": 600,
                                               "token_type": "Bearer"}))
    creds = ClientCredentials("https://helseid.example.no/connect/token", "fellesplan", "s3cret", "fhir/*")
    remote = Remote(BASE, credentials=creds)
    ok = await PushService(here, remote).run()
    assert not ok.errors, ok.errors
    pulled = await PullService(here, remote).run()
    assert not pulled.errors
    assert token_route.call_count == 1  # cached for its lifetime
    form = dict(httpx.QueryParams(token_route.calls[0].request.content.decode()))
    assert form["grant_type"] == "client_credentials" and form["scope"] == "fhir/*"
    assert not (await PushService(here, Remote(BASE, token="t0k3n")).run()).errors


@respx.mock
async def test_next_link_to_another_origin_is_not_followed(here: Database) -> None:
    respx.get(f"{BASE}/CarePlan").mock(return_value=httpx.Response(200, json={
        "resourceType": "Bundle", "type": "searchset",
        "link": [{"relation": "next", "url": "http://evil.example.com/steal?_getpages=x"}]}))
    with pytest.raises(RemoteError, match="leaves its origin"):
        async for _ in Remote(BASE, token="secret").search("CarePlan", {}):
            pass


async def test_service_write_path_is_used(here: Database) -> None:
    """Sanity: the loaded plans went through the validated write path."""
    async with here.session(write=True) as s:
        with pytest.raises(Exception):  # noqa: B017 - any validation error is fine here
            await ResourceService(s, SYSTEM, here.settings).update(
                "CarePlan", "x", {"resourceType": "CarePlan", "id": "x", "status": "nope", "intent": "plan"})
