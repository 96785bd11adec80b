"""Rest-hook delivery: id-only and payload conventions, activation, retries, order, a day down."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
import respx

from app.repository import subscriptions as subs_repo
from app.repository.resources import ResourceRepository
from app.services.context import SYSTEM
from app.subscriptions.settings import SubscriptionSettings
from app.subscriptions.worker import Worker
from tests.factories.resources import careplan, patient
from tests.helpers import JSON_HEADERS
from tests.subscriptions.factories import PINNED, RECEIVER, RECEIVER_IP, Clock, subscription


async def create(api: httpx.AsyncClient, resource: dict[str, Any]) -> dict[str, Any]:
    resp = await api.post(f"/fhir/{resource['resourceType']}", json=resource, headers=JSON_HEADERS)
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def drain(worker: Worker, rounds: int = 20) -> None:
    """Run worker passes until nothing is due (bounded)."""
    for _ in range(rounds):
        if not await worker.run_once():
            return


async def status_of(api: httpx.AsyncClient, sub_id: str) -> dict[str, Any]:
    resp = await api.get(f"/fhir/Subscription/{sub_id}")
    body: dict[str, Any] = resp.json()
    return body


async def plan(api: httpx.AsyncClient) -> dict[str, Any]:
    """A patient and an active CarePlan for them."""
    pat = await create(api, patient())
    return await create(api, careplan(pat["id"]))


@respx.mock
async def test_id_only_notification_is_an_empty_post(api: httpx.AsyncClient, worker: Worker) -> None:
    route = respx.post(PINNED).mock(return_value=httpx.Response(200))
    sub = await create(api, subscription(headers=["Authorization: Bearer abc"]))
    await drain(worker)
    assert (await status_of(api, sub["id"]))["status"] == "active"
    cp = await plan(api)
    await drain(worker)
    assert route.call_count == 1
    req = route.calls[0].request
    assert req.content == b""
    assert req.headers["Host"] == RECEIVER
    assert req.headers["Authorization"] == "Bearer abc"
    assert req.headers["X-Fellesplan-Event-Number"] == "1"
    assert req.headers["X-Fellesplan-Resource"] == f"CarePlan/{cp['id']}/_history/1"
    assert req.headers["X-Fellesplan-Subscription"] == f"Subscription/{sub['id']}"
    assert req.headers["X-Fellesplan-Committed-At"].endswith("+00:00")


@respx.mock
async def test_criteria_filter_what_is_notified(api: httpx.AsyncClient, worker: Worker) -> None:
    route = respx.post(PINNED).mock(return_value=httpx.Response(200))
    await create(api, subscription(criteria="CarePlan?status=active"))
    await drain(worker)
    pat = await create(api, patient())
    await create(api, careplan(pat["id"], status="draft"))
    active = await create(api, careplan(pat["id"]))
    await drain(worker)
    assert [c.request.headers["X-Fellesplan-Resource"] for c in route.calls] == [
        f"CarePlan/{active['id']}/_history/1"]


@respx.mock
async def test_payload_is_put_to_type_and_id(api: httpx.AsyncClient, worker: Worker) -> None:
    route = respx.put(url__startswith=f"https://{RECEIVER_IP}/fhir-hook/CarePlan/").mock(
        return_value=httpx.Response(201))
    gone = respx.delete(url__startswith=f"https://{RECEIVER_IP}/fhir-hook/CarePlan/").mock(
        return_value=httpx.Response(204))
    await create(api, subscription(payload="application/fhir+json"))
    await drain(worker)
    cp = await plan(api)
    await drain(worker)
    assert route.call_count == 1
    req = route.calls[0].request
    assert req.url.path == f"/fhir-hook/CarePlan/{cp['id']}"
    assert req.headers["Content-Type"] == "application/fhir+json"
    assert orjson.loads(req.content) == cp
    assert (await api.delete(f"/fhir/CarePlan/{cp['id']}")).status_code == 200
    await drain(worker)
    assert gone.call_count == 1
    assert gone.calls[0].request.headers["X-Fellesplan-Event-Number"] == "2"


@respx.mock
async def test_retry_after_500_then_delivered(api: httpx.AsyncClient, worker: Worker, clock: Clock) -> None:
    route = respx.post(PINNED).mock(side_effect=[
        httpx.Response(500, json={"resourceType": "OperationOutcome", "issue": [{
            "severity": "error", "code": "exception",
            "diagnostics": "HAPI-0389: Failed to call access method"}]}),
        httpx.Response(200)])
    await create(api, subscription())
    await drain(worker)
    await plan(api)
    await drain(worker)
    assert route.call_count == 1  # failed, now backing off
    await drain(worker)
    assert route.call_count == 1  # not due yet: the clock has not moved
    clock.advance(seconds=11)
    await drain(worker)
    assert route.call_count == 2
    assert [c.request.headers["X-Fellesplan-Event-Number"] for c in route.calls] == ["1", "1"]


@respx.mock
async def test_retry_after_timeout(api: httpx.AsyncClient, worker: Worker, clock: Clock) -> None:
    route = respx.post(PINNED).mock(side_effect=[httpx.ReadTimeout("slow receiver"), httpx.Response(202)])
    sub = await create(api, subscription())
    await drain(worker)
    await plan(api)
    await drain(worker)
    assert route.call_count == 1
    clock.advance(seconds=11)
    await drain(worker)
    assert route.call_count == 2
    assert (await status_of(api, sub["id"]))["status"] == "active"


@respx.mock
async def test_receiver_down_for_a_day_gets_every_event_in_order(
    api: httpx.AsyncClient, worker: Worker, clock: Clock
) -> None:
    up = False
    seen: list[str] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        if not up:
            return httpx.Response(503)
        seen.append(request.headers["X-Fellesplan-Event-Number"])
        return httpx.Response(200)

    route = respx.post(PINNED).mock(side_effect=receiver)
    sub = await create(api, subscription())
    await drain(worker)
    pat = await create(api, patient())
    for _ in range(6):
        await create(api, careplan(pat["id"]))
    for _ in range(24 * 6):  # a simulated day, a worker pass every 10 minutes
        await drain(worker)
        clock.advance(minutes=10)
    assert (await status_of(api, sub["id"]))["status"] == "active"
    attempts = route.call_count
    assert 24 * 6 / 2 <= attempts <= 24 * 6 + 10  # backed off (cap 10 min), never stopped
    up = True
    clock.advance(minutes=10)
    await drain(worker)
    assert seen == ["1", "2", "3", "4", "5", "6"]


@respx.mock
async def test_retry_window_exhausted_sets_error_and_resume_delivers_backlog(
    api: httpx.AsyncClient, worker: Worker, clock: Clock
) -> None:
    route = respx.post(PINNED).mock(return_value=httpx.Response(500))
    hourly = SubscriptionSettings(subscription_backoff_max_seconds=3600, subscription_retry_hours=72)
    worker = Worker(worker.db, hourly, clock=clock, client=worker.client, name="hourly")
    sub = await create(api, subscription())
    await drain(worker)
    await plan(api)
    for _ in range(75):
        await drain(worker)
        clock.advance(hours=1)
    current = await status_of(api, sub["id"])
    assert current["status"] == "error"
    assert "HTTP 500" in current["error"]
    calls = route.call_count
    clock.advance(hours=1)
    await drain(worker)
    assert route.call_count == calls  # error: no more attempts
    await plan(api)  # still recorded while in error
    route.mock(return_value=httpx.Response(200))
    current["status"] = "requested"
    current.pop("meta")
    resp = await api.put(f"/fhir/Subscription/{sub['id']}", json=current, headers=JSON_HEADERS)
    assert resp.status_code == 200, resp.text
    await drain(worker)
    numbers = [c.request.headers["X-Fellesplan-Event-Number"] for c in route.calls[calls:]]
    assert numbers == ["1", "2"]
    assert (await status_of(api, sub["id"]))["status"] == "active"


@pytest.mark.parametrize("content", ["full-resource", "id-only"])
@respx.mock
async def test_backport_notification_bundle(
    api: httpx.AsyncClient, worker: Worker, content: str
) -> None:
    route = respx.post(PINNED).mock(return_value=httpx.Response(200))
    sub = await create(api, subscription(backport=content))
    await drain(worker)
    cp = await plan(api)
    await drain(worker)
    bundle = orjson.loads(route.calls[0].request.content)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "history"
    assert bundle["meta"]["profile"][0].endswith("backport-subscription-notification-r4")
    status = bundle["entry"][0]["resource"]
    params = {p["name"]: p for p in status["parameter"]}
    assert params["subscription"]["valueReference"]["reference"].endswith(f"Subscription/{sub['id']}")
    assert params["type"]["valueCode"] == "event-notification"
    assert params["events-since-subscription-start"]["valueString"] == "1"
    parts = {p["name"]: p for p in params["notification-event"]["part"]}
    assert parts["focus"]["valueReference"]["reference"].endswith(f"CarePlan/{cp['id']}/_history/1")
    if content == "full-resource":
        assert bundle["entry"][1]["resource"] == cp
    else:
        assert len(bundle["entry"]) == 1


@respx.mock
async def test_subscription_stored_without_owner_record_waits_for_its_owner(
    api: httpx.AsyncClient, worker: Worker
) -> None:
    """As a Subscription stored before migration 0004 (no delivery state, no owner)."""
    route = respx.post(PINNED).mock(return_value=httpx.Response(200))
    resp = await api.put("/fhir/Subscription/uten-eier", json={**subscription(), "id": "uten-eier"},
                         headers=JSON_HEADERS)
    assert resp.status_code == 201, resp.text
    async with worker.db.session(write=True) as s:
        row = await ResourceRepository(s, SYSTEM).get_current("Subscription", "uten-eier")
        assert row is not None
        await subs_repo.drop_state(s, row.pk)
    await drain(worker)
    current = await status_of(api, "uten-eier")
    assert current["status"] == "error"
    assert "without recording who created it" in current["error"]
    await plan(api)
    await drain(worker)
    assert route.call_count == 0
    current["status"] = "requested"
    current.pop("meta")
    current.pop("error")
    resp = await api.put("/fhir/Subscription/uten-eier", json=current, headers=JSON_HEADERS)
    assert resp.status_code == 200, resp.text
    await drain(worker)
    assert (await status_of(api, "uten-eier"))["status"] == "active"
    await plan(api)
    await drain(worker)
    assert route.call_count == 1


@respx.mock
async def test_deleted_subscription_stops(api: httpx.AsyncClient, worker: Worker) -> None:
    route = respx.post(PINNED).mock(return_value=httpx.Response(200))
    sub = await create(api, subscription())
    await drain(worker)
    assert (await api.delete(f"/fhir/Subscription/{sub['id']}")).status_code == 200
    await plan(api)
    await drain(worker)
    assert route.call_count == 0


@respx.mock
async def test_subscription_stored_before_the_rules_goes_to_error(
    api: httpx.AsyncClient, worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Subscription written before migration 0004 (no hook) whose criteria cannot be served."""
    from app.repository import outbox

    async def no_hook(*_: object) -> None:
        return None

    with monkeypatch.context() as m:
        m.setattr(outbox, "record_change", no_hook)
        body = {**subscription(criteria="Observation?code=1975-2"), "id": "gammel"}
        resp = await api.put("/fhir/Subscription/gammel", json=body, headers=JSON_HEADERS)
        assert resp.status_code == 201, resp.text
    await drain(worker)
    current = await status_of(api, "gammel")
    assert current["status"] == "error"
    assert "Observation" in current["error"] or "without recording" in current["error"]
