"""A subscriber learns only what its owner may see: criteria and payloads run as the owner.

Uses the real consent engine (app/consent) and the consent suite's fixed world: the team doctor
has a care relationship with Kari, not with Ola; leaving the team ends it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import orjson
import pytest
import respx

from app.db.engine import Database
from app.fhir.dates import utcnow
from app.repository import subscriptions as repo
from app.repository.resources import NewVersion, ResourceRepository
from app.services.context import SYSTEM, ActorKind, RequestContext
from app.services.crud import ResourceService
from app.subscriptions import owner
from app.subscriptions.worker import Worker
from tests.consent import world_fixed
from tests.consent.world import render, store
from tests.factories.resources import careplan, patient
from tests.subscriptions.factories import RECEIVER_IP, Clock, subscription
from tests.subscriptions.test_delivery import drain

HPR = "565501872"
DOCTOR = RequestContext(
    kind=ActorKind.HEALTH, request_id="t", hpr=HPR, org="974633574", service_type="psykisk-helsevern",
    scopes=frozenset({"user/Subscription.cruds", "user/CarePlan.rs", "user/Patient.rs"}), name="Lege Test")
async def write(db: Database, ctx: RequestContext, resource: dict[str, Any]) -> dict[str, Any]:
    async with db.session(write=True) as s:
        result = await ResourceService(s, ctx, db.settings).create(resource["resourceType"], resource)
    assert result.content is not None
    body: dict[str, Any] = orjson.loads(result.content)
    return body


async def test_owner_identity_is_stored_without_request_facts(sdb: Database, resolver: object) -> None:
    ctx = dataclasses.replace(DOCTOR, address="10.0.0.1", break_glass_reason="akutt")
    sub = await write(sdb, ctx, subscription())
    async with sdb.session(write=False) as s:
        from app.repository.resources import ResourceRepository

        row = await ResourceRepository(s, ctx).get_current("Subscription", sub["id"])
        assert row is not None
        state = await repo.get_state(s, row.pk)
    assert state is not None
    back = owner.load(state.owner, sub["id"])
    assert (back.kind, back.hpr, back.scopes, back.service_type) == (
        ActorKind.HEALTH, HPR, DOCTOR.scopes, DOCTOR.service_type)
    assert back.address is None and back.break_glass_reason is None


async def test_forbidden_criteria_type_is_refused(sdb: Database, resolver: object) -> None:
    from app.fhir.errors import Forbidden

    with pytest.raises(Forbidden):
        await write(sdb, DOCTOR, subscription(criteria="Goal?lifecycle-status=active"))


async def world(db: Database) -> tuple[dict[str, RequestContext], dict[str, str], dict[str, dict[str, Any]]]:
    """The consent suite's fixed world (Kari's team, consents, outsiders), stored."""
    w, actors, ids = world_fixed.build()
    resources = render(w)
    await store(db, resources)
    return ({name: a.context() for name, a in actors.items()}, ids,
            {r["id"]: r for r in resources})


async def rewrite(db: Database, resource: dict[str, Any], **change: Any) -> None:
    """A new version, stored as the consent suite stores its world (its plans are not profile-valid)."""
    body = {**resource, **change}
    async with db.session(write=True) as s:
        repo = ResourceRepository(s, SYSTEM)
        row = await repo.get_current(body["resourceType"], body["id"])
        assert row is not None
        version = NewVersion(row.res_type, row.res_id, row.version_id + 1, utcnow(), "PUT",
                             orjson.dumps(body), body)
        assert await repo.replace(row.pk, row.version_id, version)


@respx.mock
async def test_criteria_and_payload_run_as_the_owner(
    sdb: Database, worker: Worker, clock: Clock, resolver: object
) -> None:
    put = respx.put(url__startswith=f"https://{RECEIVER_IP}/fhir-hook/CarePlan/").mock(
        return_value=httpx.Response(200))
    ctx, ids, res = await world(sdb)
    await write(sdb, ctx["team-lege"], subscription(criteria="CarePlan?status=active",
                                                    payload="application/fhir+json"))
    await drain(worker)
    for plan in ("ola-kp", "kari-kp"):  # Ola is not the team doctor's patient
        await rewrite(sdb, res[ids[plan]], title="Revidert kl. 02:00")
    await drain(worker)
    assert [c.request.url.path.rsplit("/", 1)[1] for c in put.calls] == [ids["kari-kp"]]
    sent = orjson.loads(put.calls[0].request.content)
    async with sdb.session(write=False) as s:
        row = await ResourceService(s, ctx["team-lege"], sdb.settings).vread("CarePlan", ids["kari-kp"], 2)
    assert row.content is not None and sent == orjson.loads(row.content)  # exactly the owner's view


@respx.mock
async def test_access_lost_before_delivery_withholds_the_event(
    sdb: Database, worker: Worker, clock: Clock, resolver: object
) -> None:
    up = False

    def receiver(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200 if up else 503)

    route = respx.post(f"https://{RECEIVER_IP}/fhir-hook").mock(side_effect=receiver)
    ctx, ids, res = await world(sdb)
    await write(sdb, ctx["team-lege"], subscription(criteria="CarePlan?status=active"))
    await drain(worker)
    await rewrite(sdb, res[ids["kari-kp"]], title="Revidert")
    await drain(worker)  # fanned out while the doctor was on the team; the receiver is down
    assert route.call_count == 1
    await rewrite(sdb, res[ids["team"]], status="inactive")  # the doctor leaves Kari's team
    up = True
    clock.advance(minutes=15)
    await drain(worker)
    assert all(c.response is not None and c.response.status_code == 503 for c in route.calls)
    async with sdb.session(write=False) as s:
        from sqlalchemy import select

        from app.db.subscription_tables import EventRow

        outcomes = (await s.execute(select(EventRow.outcome))).scalars().all()
    assert "withheld" in outcomes


@respx.mock
async def test_consent_engine_hides_plans_from_an_owner_without_care_relationship(
    sdb: Database, worker: Worker, clock: Clock, resolver: object
) -> None:
    """The real consent policy (app/consent), no stand-in: a doctor outside the patient's care
    relationship subscribes to CarePlans and learns nothing; a privileged subscriber does."""
    doctor = respx.put(url__startswith=f"https://{RECEIVER_IP}/doctor/").mock(return_value=httpx.Response(200))
    system_hook = respx.put(url__startswith=f"https://{RECEIVER_IP}/system/").mock(
        return_value=httpx.Response(200))
    await write(sdb, DOCTOR, subscription(endpoint="https://receiver.example.no/doctor",
                                          payload="application/fhir+json"))
    system = RequestContext(kind=ActorKind.SYSTEM)
    await write(sdb, system, subscription(endpoint="https://receiver.example.no/system",
                                          payload="application/fhir+json"))
    await drain(worker)
    pat = await write(sdb, system, patient())
    plan = await write(sdb, system, careplan(pat["id"]))
    await drain(worker)
    assert [c.request.url.path for c in system_hook.calls] == [f"/system/CarePlan/{plan['id']}"]
    assert doctor.call_count == 0
