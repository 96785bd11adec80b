"""Two systems sending the same crisis plan at once must leave exactly one plan behind.

Conditional creates and conditional references inside transactions take the same locks as
single conditional creates (advisory locks on PostgreSQL; SQLite writes are serialised).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest_asyncio

from app.db.engine import Database
from tests.factories.bundles import FP, CrisisPlan, bundle, bundle_client, entry
from tests.factories.resources import FNR, HPR, patient, synthetic_fnr, uid


@pytest_asyncio.fixture(loop_scope="session")
async def fhir(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client with POST /fhir available."""
    async with bundle_client(db) as client:
        yield client


async def total(client: httpx.AsyncClient, res_type: str, criteria: str) -> int:
    resp = await client.get(f"/fhir/{res_type}?{criteria}&_total=accurate")
    assert resp.status_code == 200, resp.text
    return int(resp.json()["total"])


async def test_two_clients_send_the_same_plan(fhir: httpx.AsyncClient, db: Database) -> None:
    plan = CrisisPlan()
    async with bundle_client(db) as other:
        results = await asyncio.gather(
            fhir.post("/fhir", json=plan.transaction()), other.post("/fhir", json=plan.transaction()))
    assert [r.status_code for r in results] == [200, 200], [r.text for r in results]
    statuses = sorted(tuple(e["response"]["status"] for e in r.json()["entry"]) for r in results)
    assert statuses == [("200 OK",) * 7, ("201 Created",) * 7]
    ids = [[e["response"]["location"].split("/_history")[0] for e in r.json()["entry"]]
           for r in results]
    assert ids[0] == ids[1]
    assert await total(fhir, "Patient", plan.patient_criteria) == 1
    assert await total(fhir, "Practitioner", f"identifier={HPR}|{plan.hpr}") == 1
    assert await total(fhir, "CarePlan", f"identifier={FP}/sid/plan|{plan.plan_id}") == 1
    for key, res_type in [("brother", "RelatedPerson"), ("team", "CareTeam"), ("goal0", "Goal"),
                          ("goal1", "Goal")]:
        assert await total(fhir, res_type, plan.criteria(key)) == 1, res_type
    stored = (await fhir.get(f"/fhir/{ids[0][6]}")).json()
    assert stored["subject"]["reference"] == ids[0][1]


async def test_many_senders_one_patient(fhir: httpx.AsyncClient) -> None:
    """Several transactions whose conditional creates overlap in different orders."""
    fnrs = [synthetic_fnr() for _ in range(3)]

    def body(order: list[str]) -> dict[str, object]:
        return bundle("transaction", [
            entry(patient(identifier=[{"system": FNR, "value": f}]), "POST", "Patient",
                  ifNoneExist=f"identifier={FNR}|{f}") for f in order])

    orders = [fnrs, fnrs[::-1], fnrs[1:] + fnrs[:1], fnrs[::-1]]
    results = await asyncio.gather(*[fhir.post("/fhir", json=body(o)) for o in orders])
    assert [r.status_code for r in results] == [200] * 4, [r.text for r in results]
    for f in fnrs:
        assert await total(fhir, "Patient", f"identifier={FNR}|{f}") == 1


async def test_crossing_transactions_queue_instead_of_deadlocking(fhir: httpx.AsyncClient) -> None:
    """[DELETE a, PUT b] against [DELETE b, PUT a]: without one lock order they deadlock."""
    pairs = []
    for _ in range(4):
        a, b = uid(), uid()
        for pid in (a, b):
            await fhir.put(f"/fhir/Patient/{pid}", json=patient(id=pid))
        pairs.append((a, b))

    def crossing(gone: str, kept: str) -> dict[str, object]:
        return bundle("transaction", [entry(None, "DELETE", f"Patient/{gone}"),
                                      entry(patient(id=kept, gender="male"), "PUT", f"Patient/{kept}")])

    results = await asyncio.gather(*[fhir.post("/fhir", json=crossing(x, y))
                                     for a, b in pairs for x, y in ((a, b), (b, a))])
    assert [r.status_code for r in results] == [200] * len(results), [r.text for r in results]
