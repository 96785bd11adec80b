"""Create, read, vread, update, delete through HTTP (https://hl7.org/fhir/R4/http.html)."""

from __future__ import annotations

import httpx

from tests.factories.resources import careplan, patient, uid
from tests.helpers import JSON_HEADERS, outcome, without_meta


async def test_create_sets_id_meta_and_headers(client: httpx.AsyncClient) -> None:
    body = patient(id="client-chosen", meta={"versionId": "99", "lastUpdated": "2001-01-01T00:00:00Z",
                                             "tag": [{"system": "urn:test", "code": "t"}]})
    resp = await client.post("/fhir/Patient", json=body, headers=JSON_HEADERS)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["id"] != "client-chosen"
    assert created["meta"]["versionId"] == "1"
    assert created["meta"]["lastUpdated"] != "2001-01-01T00:00:00Z"
    assert created["meta"]["tag"] == [{"system": "urn:test", "code": "t"}]
    assert resp.headers["etag"] == 'W/"1"'
    assert resp.headers["location"] == f"http://test/fhir/Patient/{created['id']}/_history/1"
    assert resp.headers["last-modified"].endswith("GMT")
    assert without_meta(created) == {**without_meta(body), "id": created["id"]}


async def test_read_returns_stored_bytes(client: httpx.AsyncClient) -> None:
    created = (await client.post("/fhir/Patient", json=patient())).json()
    resp = await client.get(f"/fhir/Patient/{created['id']}")
    assert resp.status_code == 200
    assert resp.json() == created
    assert resp.headers["etag"] == 'W/"1"'
    assert resp.headers["content-type"] == "application/fhir+json; charset=utf-8"


async def test_read_unknown_is_404(client: httpx.AsyncClient) -> None:
    outcome(await client.get(f"/fhir/Patient/{uid()}"), 404, code="not-found")


async def test_unknown_type_is_404(client: httpx.AsyncClient) -> None:
    outcome(await client.get("/fhir/Observation/1"), 404, code="not-supported")
    outcome(await client.post("/fhir/Observation", json={"resourceType": "Observation"}), 404)


async def test_update_as_create_then_update_and_vread(client: httpx.AsyncClient) -> None:
    pid = uid()
    first = await client.put(f"/fhir/Patient/{pid}", json=patient(id=pid))
    assert first.status_code == 201 and first.json()["meta"]["versionId"] == "1"
    second = await client.put(f"/fhir/Patient/{pid}", json=patient(id=pid, gender="male"))
    assert second.status_code == 200 and second.json()["meta"]["versionId"] == "2"
    v1 = await client.get(f"/fhir/Patient/{pid}/_history/1")
    assert v1.status_code == 200 and v1.json()["gender"] == "female"
    v2 = await client.get(f"/fhir/Patient/{pid}/_history/2")
    assert v2.json()["gender"] == "male" and v2.headers["etag"] == 'W/"2"'
    outcome(await client.get(f"/fhir/Patient/{pid}/_history/3"), 404)
    outcome(await client.get(f"/fhir/Patient/{pid}/_history/x"), 400)


async def test_identical_update_is_not_a_new_version(client: httpx.AsyncClient) -> None:
    pid = uid()
    await client.put(f"/fhir/Patient/{pid}", json=patient(id=pid))
    again = await client.put(f"/fhir/Patient/{pid}", json=(await client.get(f"/fhir/Patient/{pid}")).json())
    assert again.status_code == 200 and again.json()["meta"]["versionId"] == "1"


async def test_update_id_rules(client: httpx.AsyncClient) -> None:
    pid = uid()
    outcome(await client.put(f"/fhir/Patient/{pid}", json=patient(id="other")), 400, expression="Patient.id")
    outcome(await client.put(f"/fhir/Patient/{pid}", json=patient()), 400, expression="Patient.id")
    outcome(await client.put("/fhir/Patient/bad_id!", json=patient(id="bad_id!")), 400)


async def test_if_match(client: httpx.AsyncClient) -> None:
    pid = uid()
    await client.put(f"/fhir/Patient/{pid}", json=patient(id=pid))
    stale = await client.put(f"/fhir/Patient/{pid}", json=patient(id=pid, gender="male"),
                             headers={"If-Match": 'W/"7"'})
    outcome(stale, 412, code="conflict")
    ok = await client.put(f"/fhir/Patient/{pid}", json=patient(id=pid, gender="male"),
                          headers={"If-Match": 'W/"1"'})
    assert ok.status_code == 200 and ok.headers["etag"] == 'W/"2"'
    nope = {"If-Match": "nope"}
    outcome(await client.put(f"/fhir/Patient/{pid}", json=patient(id=pid), headers=nope), 400)
    new = uid()  # If-Match on a resource that does not exist cannot hold
    v1 = {"If-Match": 'W/"1"'}
    outcome(await client.put(f"/fhir/Patient/{new}", json=patient(id=new), headers=v1), 412)


async def test_careplan_and_consent_updates_require_if_match(client: httpx.AsyncClient) -> None:
    p = (await client.post("/fhir/Patient", json=patient())).json()
    plan = (await client.post("/fhir/CarePlan", json=careplan(p["id"]))).json()
    plan["title"] = "Endret"
    outcome(await client.put(f"/fhir/CarePlan/{plan['id']}", json=plan), 428)
    ok = await client.put(f"/fhir/CarePlan/{plan['id']}", json=plan, headers={"If-Match": 'W/"1"'})
    assert ok.status_code == 200 and ok.json()["title"] == "Endret"


async def test_delete_then_gone_then_idempotent(client: httpx.AsyncClient) -> None:
    created = (await client.post("/fhir/Patient", json=patient())).json()
    url = f"/fhir/Patient/{created['id']}"
    first = await client.delete(url)
    assert first.status_code == 200 and first.json()["resourceType"] == "OperationOutcome"
    assert first.headers["etag"] == 'W/"2"'
    outcome(await client.get(url), 410, code="deleted")
    again = await client.delete(url)
    assert again.status_code == 200
    outcome(await client.get(f"{url}/_history/2"), 410)
    assert (await client.get(f"{url}/_history/1")).status_code == 200
    outcome(await client.delete(f"/fhir/Patient/{uid()}"), 404)


async def test_recreate_after_delete_continues_versions(client: httpx.AsyncClient) -> None:
    pid = uid()
    await client.put(f"/fhir/Patient/{pid}", json=patient(id=pid))
    await client.delete(f"/fhir/Patient/{pid}")
    back = await client.put(f"/fhir/Patient/{pid}", json=patient(id=pid))
    assert back.status_code == 201 and back.json()["meta"]["versionId"] == "3"


async def test_prefer_return(client: httpx.AsyncClient) -> None:
    minimal = await client.post("/fhir/Patient", json=patient(), headers={"Prefer": "return=minimal"})
    assert minimal.status_code == 201 and minimal.content == b"" and minimal.headers["location"]
    oo = await client.post("/fhir/Patient", json=patient(), headers={"Prefer": "return=OperationOutcome"})
    assert oo.status_code == 201 and oo.json()["resourceType"] == "OperationOutcome"
    full = await client.post("/fhir/Patient", json=patient(), headers={"Prefer": "return=representation"})
    assert full.json()["resourceType"] == "Patient"


async def test_conditional_read_headers(client: httpx.AsyncClient) -> None:
    created = await client.post("/fhir/Patient", json=patient())
    url = f"/fhir/Patient/{created.json()['id']}"
    assert (await client.get(url, headers={"If-None-Match": 'W/"1"'})).status_code == 304
    assert (await client.get(url, headers={"If-None-Match": 'W/"2"'})).status_code == 200
    lm = created.headers["last-modified"]
    assert (await client.get(url, headers={"If-Modified-Since": lm})).status_code == 304
    old = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert (await client.get(url, headers={"If-Modified-Since": old})).status_code == 200


async def test_decimal_precision_is_kept(client: httpx.AsyncClient) -> None:
    p = (await client.post("/fhir/Patient", json=patient())).json()
    raw = b'{"resourceType":"Goal","lifecycleStatus":"active","description":{"text":"x"},' \
          b'"subject":{"reference":"Patient/' + p["id"].encode() + b'"},' \
          b'"target":[{"measure":{"text":"Alkohol per dag"},"detailQuantity":{"value":1.50,"unit":"l"}}]}'
    resp = await client.post("/fhir/Goal", content=raw, headers=JSON_HEADERS)
    assert resp.status_code == 201, resp.text
    got = await client.get(f"/fhir/Goal/{resp.json()['id']}")
    assert b'"value":1.50' in got.content
