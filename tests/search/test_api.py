"""Search over HTTP: GET and POST _search, compartments, strict handling, errors, paging."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.factories.resources import FNR, careplan, patient, synthetic_fnr, uid
from tests.helpers import outcome


async def _put(client: httpx.AsyncClient, res: dict[str, Any]) -> str:
    rid = uid()
    resp = await client.put(f"/fhir/{res['resourceType']}/{rid}", json={**res, "id": rid})
    assert resp.status_code in (200, 201), resp.text
    return rid


def _ids(body: dict[str, Any], mode: str = "match") -> set[str]:
    return {e["resource"]["id"] for e in body.get("entry", []) if e["search"]["mode"] == mode}


async def _family(client: httpx.AsyncClient, n: int = 3) -> tuple[str, list[str]]:
    """n patients sharing a unique family name; (name, ids)."""
    fam = "Bjørnstad" + uid()[:6]
    ids = [await _put(client, patient(name=[{"family": fam, "given": [f"Kari{i}"]}],
                                      identifier=[{"system": FNR, "value": synthetic_fnr()}]))
           for i in range(n)]
    return fam, ids


async def test_get_and_post_search(client: httpx.AsyncClient) -> None:
    fam, ids = await _family(client)
    folded = fam.lower().replace("ø", "o")
    resp = await client.get("/fhir/Patient", params={"family": folded})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/fhir+json")
    body = resp.json()
    assert body["type"] == "searchset" and _ids(body) == set(ids) and body["total"] == 3
    post = await client.post("/fhir/Patient/_search", data={"family": folded},
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert post.status_code == 200 and _ids(post.json()) == set(ids)


async def test_paging_over_http(client: httpx.AsyncClient) -> None:
    fam, ids = await _family(client, 5)
    seen: list[str] = []
    url: str | None = f"/fhir/Patient?family={fam}&_count=2"
    while url:
        body = (await client.get(url)).json()
        seen += [e["resource"]["id"] for e in body.get("entry", [])]
        nxt = [lk["url"] for lk in body["link"] if lk["relation"] == "next"]
        url = None
        if nxt:
            parts = urlsplit(nxt[0])
            url = f"{parts.path}?{parts.query}"
    assert sorted(seen) == sorted(ids) and len(seen) == 5


async def test_compartment_and_everything(client: httpx.AsyncClient) -> None:
    pid = await _put(client, patient())
    cp = await _put(client, careplan(pid))
    body = (await client.get(f"/fhir/Patient/{pid}/CarePlan")).json()
    assert _ids(body) == {cp}
    star = (await client.get(f"/fhir/Patient/{pid}/*")).json()
    assert _ids(star) == {pid, cp}
    system = (await client.get("/fhir/", params={"_id": f"{pid},{cp}"})).json()
    assert _ids(system) == {pid, cp}
    every = await client.get(f"/fhir/Patient/{pid}/$everything")
    assert every.status_code == 200, every.text
    assert _ids(every.json()) == {pid, cp}
    outcome(await client.get(f"/fhir/Patient/{uid()}/$everything"), 404)


async def test_strict_and_lenient_unknown_parameters(client: httpx.AsyncClient) -> None:
    fam, ids = await _family(client, 1)
    body = (await client.get("/fhir/Patient", params={"family": fam, "ukjent": "1"})).json()
    assert _ids(body) == set(ids)
    assert "ukjent" not in body["link"][0]["url"]
    assert any(e["search"]["mode"] == "outcome" for e in body["entry"])
    resp = await client.get("/fhir/Patient", params={"family": fam, "ukjent": "1"},
                            headers={"Prefer": "handling=strict"})
    outcome(resp, 400)
    assert "ukjent" in resp.text


async def test_malformed_values_are_400(client: httpx.AsyncClient) -> None:
    for params in ({"birthdate": "17. mai"}, {"birthdate": "xx2024"}, {"_count": "-1"},
                   {"subject:Patient.nope": "1"}, {"_sort": "ukjent"}):
        resp = await client.get("/fhir/CarePlan" if "subject" in str(params) else
                                "/fhir/Patient", params=params)
        body = outcome(resp, 400)
        assert next(iter(params)) in body["issue"][0]["diagnostics"]


async def test_unknown_type_is_404(client: httpx.AsyncClient) -> None:
    outcome(await client.get("/fhir/Observation"), 404)
