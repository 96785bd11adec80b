"""History at instance, type and system level with _since, _at, _count and paging."""

from __future__ import annotations

import asyncio

import httpx

from tests.factories.resources import patient, uid
from tests.helpers import outcome


async def _versions(client: httpx.AsyncClient, pid: str, n: int) -> list[dict[str, object]]:
    """Write n versions of one Patient."""
    out = []
    for i in range(n):
        resp = await client.put(f"/fhir/Patient/{pid}", json=patient(id=pid, birthDate=f"19{50 + i}-01-01"))
        out.append(resp.json())
    return out


async def test_instance_history_newest_first(client: httpx.AsyncClient) -> None:
    pid = uid()
    await _versions(client, pid, 3)
    await client.delete(f"/fhir/Patient/{pid}")
    bundle = (await client.get(f"/fhir/Patient/{pid}/_history")).json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "history"
    entries = bundle["entry"]
    assert [e["response"]["etag"] for e in entries] == ['W/"4"', 'W/"3"', 'W/"2"', 'W/"1"']
    assert entries[0]["request"] == {"method": "DELETE", "url": f"Patient/{pid}"}
    assert "resource" not in entries[0]
    assert entries[-1]["request"]["method"] == "PUT"
    assert entries[1]["resource"]["birthDate"] == "1952-01-01"
    assert entries[1]["fullUrl"] == f"http://test/fhir/Patient/{pid}"


async def test_history_paging_with_next_links(client: httpx.AsyncClient) -> None:
    pid = uid()
    await _versions(client, pid, 5)
    seen: list[str] = []
    url: str | None = f"/fhir/Patient/{pid}/_history?_count=2"
    pages = 0
    while url:
        bundle = (await client.get(url)).json()
        seen += [e["response"]["etag"] for e in bundle.get("entry", [])]
        nxt = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        url = nxt[0].removeprefix("http://test") if nxt else None
        pages += 1
    assert seen == [f'W/"{v}"' for v in (5, 4, 3, 2, 1)]
    assert pages == 3


async def test_paging_is_stable_while_others_write(client: httpx.AsyncClient) -> None:
    rtype = "RelatedPerson"
    pat = (await client.post("/fhir/Patient", json=patient())).json()
    for _ in range(4):
        await client.post(f"/fhir/{rtype}", json={"resourceType": rtype,
                                                  "patient": {"reference": f"Patient/{pat['id']}"}})
    first = (await client.get(f"/fhir/{rtype}/_history?_count=2")).json()
    ids = [e["resource"]["id"] for e in first["entry"]]
    await client.post(f"/fhir/{rtype}", json={"resourceType": rtype,
                                              "patient": {"reference": f"Patient/{pat['id']}"}})
    nxt = next(link["url"] for link in first["link"] if link["relation"] == "next")
    second = (await client.get(nxt.removeprefix("http://test"))).json()
    more = [e["resource"]["id"] for e in second["entry"]]
    assert not set(ids) & set(more)


async def test_since_and_at(client: httpx.AsyncClient) -> None:
    pid = uid()
    versions = await _versions(client, pid, 2)
    await asyncio.sleep(0.01)
    later = await client.put(f"/fhir/Patient/{pid}", json=patient(id=pid, gender="other"))
    since = later.json()["meta"]["lastUpdated"]
    bundle = (await client.get(f"/fhir/Patient/{pid}/_history", params={"_since": since})).json()
    assert [e["response"]["etag"] for e in bundle["entry"]] == ['W/"3"']
    at = versions[1]["meta"]["lastUpdated"]
    at_bundle = (await client.get(f"/fhir/Patient/{pid}/_history", params={"_at": at})).json()
    assert [e["response"]["etag"] for e in at_bundle["entry"]] == ['W/"2"']
    outcome(await client.get(f"/fhir/Patient/{pid}/_history", params={"_since": "yesterday"}), 400,
            expression="_since")


async def test_type_and_system_history(client: httpx.AsyncClient) -> None:
    created = (await client.post("/fhir/Organization", json={"resourceType": "Organization",
                                                             "name": "NAV Bergen"})).json()
    type_bundle = (await client.get("/fhir/Organization/_history", params={"_count": "1"})).json()
    assert type_bundle["entry"][0]["resource"]["id"] == created["id"]
    assert type_bundle["entry"][0]["request"] == {"method": "POST", "url": "Organization"}
    system = (await client.get("/fhir/_history", params={"_count": "1"})).json()
    assert system["entry"][0]["resource"]["id"] == created["id"]
    outcome(await client.get("/fhir/_history", params={"_count": "-1"}), 400, expression="_count")


async def test_history_of_unknown_is_404(client: httpx.AsyncClient) -> None:
    outcome(await client.get(f"/fhir/Patient/{uid()}/_history"), 404)
