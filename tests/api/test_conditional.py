"""Conditional create, update and delete (https://hl7.org/fhir/R4/http.html#ccreate)."""

from __future__ import annotations

import asyncio

import httpx

from tests.factories.resources import FNR, patient, synthetic_fnr, uid
from tests.helpers import outcome


def _ident(fnr: str) -> str:
    return f"identifier={FNR}|{fnr}"


async def test_conditional_create(client: httpx.AsyncClient) -> None:
    fnr = synthetic_fnr()
    body = patient(identifier=[{"system": FNR, "value": fnr}])
    first = await client.post("/fhir/Patient", json=body, headers={"If-None-Exist": _ident(fnr)})
    assert first.status_code == 201
    second = await client.post("/fhir/Patient", json=body, headers={"If-None-Exist": _ident(fnr)})
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    await client.post("/fhir/Patient", json=body)  # now there are two
    outcome(await client.post("/fhir/Patient", json=body, headers={"If-None-Exist": _ident(fnr)}), 412)


async def test_concurrent_conditional_creates_make_one(client: httpx.AsyncClient) -> None:
    fnr = synthetic_fnr()
    body = patient(identifier=[{"system": FNR, "value": fnr}])
    results = await asyncio.gather(*[
        client.post("/fhir/Patient", json=body, headers={"If-None-Exist": _ident(fnr)})
        for _ in range(8)
    ])
    assert sorted(r.status_code for r in results) == [200] * 7 + [201]
    assert len({r.json()["id"] for r in results}) == 1


async def test_concurrent_if_match_updates_one_wins(client: httpx.AsyncClient) -> None:
    pid = uid()
    await client.put(f"/fhir/Patient/{pid}", json=patient(id=pid))
    results = await asyncio.gather(*[
        client.put(f"/fhir/Patient/{pid}", json=patient(id=pid, birthDate=f"19{60 + i}-01-01"),
                   headers={"If-Match": 'W/"1"'})
        for i in range(6)
    ])
    assert sorted(r.status_code for r in results) == [200] + [412] * 5
    assert (await client.get(f"/fhir/Patient/{pid}")).json()["meta"]["versionId"] == "2"


async def test_conditional_update(client: httpx.AsyncClient) -> None:
    fnr = synthetic_fnr()
    ident = [{"system": FNR, "value": fnr}]
    created = await client.put(f"/fhir/Patient?{_ident(fnr)}", json=patient(identifier=ident))
    assert created.status_code == 201
    pid = created.json()["id"]
    updated = await client.put(f"/fhir/Patient?{_ident(fnr)}", json=patient(identifier=ident, gender="male"))
    assert updated.status_code == 200 and updated.json()["id"] == pid
    assert updated.json()["meta"]["versionId"] == "2"
    outcome(await client.put(f"/fhir/Patient?{_ident(fnr)}", json=patient(id="other", identifier=ident)), 400)
    await client.post("/fhir/Patient", json=patient(identifier=ident))
    outcome(await client.put(f"/fhir/Patient?{_ident(fnr)}", json=patient(identifier=ident)), 412)


async def test_conditional_delete(client: httpx.AsyncClient) -> None:
    fnr = synthetic_fnr()
    ident = [{"system": FNR, "value": fnr}]
    pid = (await client.post("/fhir/Patient", json=patient(identifier=ident))).json()["id"]
    resp = await client.delete(f"/fhir/Patient?{_ident(fnr)}")
    assert resp.status_code == 200
    outcome(await client.get(f"/fhir/Patient/{pid}"), 410)
    none = await client.delete(f"/fhir/Patient?{_ident(fnr)}")
    assert none.status_code == 200
    await client.post("/fhir/Patient", json=patient(identifier=ident))
    await client.post("/fhir/Patient", json=patient(identifier=ident))
    outcome(await client.delete(f"/fhir/Patient?{_ident(fnr)}"), 412)


async def test_conditional_errors(client: httpx.AsyncClient) -> None:
    outcome(await client.delete("/fhir/Patient"), 400)
    outcome(await client.put("/fhir/Patient", json=patient()), 400)
    bogus = {"If-None-Exist": "bogus-param=1"}
    outcome(await client.post("/fhir/Patient", json=patient(), headers=bogus), 400)
