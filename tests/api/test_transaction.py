"""Transactions: atomicity, processing order, link rewriting, conditions and Prefer.

https://hl7.org/fhir/R4/http.html#transaction, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio

from app.db.engine import Database
from app.fhir.models import validate
from tests.factories.bundles import FP, CrisisPlan, bundle, bundle_client, entry, organization, urn
from tests.factories.resources import FNR, patient, synthetic_fnr, uid
from tests.helpers import history_count, outcome


@pytest_asyncio.fixture(loop_scope="session")
async def fhir(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client with POST /fhir available."""
    async with bundle_client(db) as client:
        yield client


async def post(client: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    """POST a Bundle to the base."""
    return await client.post("/fhir", json=body, headers={"Content-Type": "application/fhir+json",
                                                           **headers})


def ok(resp: httpx.Response, kind: str = "transaction-response") -> list[dict[str, Any]]:
    """Assert a response Bundle and return its entries."""
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["resourceType"] == "Bundle" and body["type"] == kind
    return list(body.get("entry", []))


def ref_id(entry_: dict[str, Any]) -> str:
    """'Type/id' of a response entry, from its location."""
    location = str(entry_["response"]["location"])
    return "/".join(location.split("/")[:2])


async def read(client: httpx.AsyncClient, ref: str) -> dict[str, Any]:
    resp = await client.get(f"/fhir/{ref}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def count(client: httpx.AsyncClient, res_type: str, query: str) -> int:
    resp = await client.get(f"/fhir/{res_type}?{query}&_total=accurate")
    assert resp.status_code == 200, resp.text
    return int(resp.json()["total"])


async def test_crisis_plan_links_resolve_everywhere(fhir: httpx.AsyncClient) -> None:
    plan = CrisisPlan()
    entries = ok(await post(fhir, plan.transaction()))
    assert [e["response"]["status"] for e in entries] == ["201 Created"] * 7
    doctor, pat, brother, team, goal0, goal1, careplan = (ref_id(e) for e in entries)
    assert entries[1]["resource"]["id"] == pat.split("/")[1]
    assert entries[1]["fullUrl"] == f"http://test/fhir/{pat}"
    assert entries[1]["response"]["etag"] == 'W/"1"' and entries[1]["response"]["lastModified"]

    stored = await read(fhir, careplan)
    assert stored["subject"] == {"reference": pat}
    assert stored["author"] == {"reference": doctor}  # conditional reference, created in-Bundle
    assert stored["careTeam"] == [{"reference": team}]
    assert stored["goal"] == [{"reference": goal0}, {"reference": goal1}]
    assert stored["contributor"] == [{"reference": pat}, {"reference": brother}]
    performers = [p["reference"] for a in stored["activity"] for p in a["detail"].get("performer", [])]
    assert performers and set(performers) == {brother}
    assert f'<a href="{pat}">' in stored["text"]["div"]
    assert plan.patient not in str(stored)

    care_team = await read(fhir, team)
    assert care_team["contained"][0]["patient"] == {"reference": pat}  # inside a contained resource
    members = [p["member"]["reference"] for p in care_team["participant"]]
    assert members == [doctor, brother, "#nabo"]
    assert f'<a href="{pat}">' in care_team["text"]["div"]
    assert (await read(fhir, brother))["patient"] == {"reference": pat}


async def test_sending_the_same_plan_twice_changes_nothing(fhir: httpx.AsyncClient) -> None:
    plan = CrisisPlan()
    first = ok(await post(fhir, plan.transaction()))
    again = ok(await post(fhir, plan.transaction()))
    assert [e["response"]["status"] for e in again] == ["200 OK"] * 7
    assert [ref_id(e) for e in again] == [ref_id(e) for e in first]
    assert await count(fhir, "Patient", plan.patient_criteria) == 1


async def test_a_failing_last_entry_rolls_back_everything(fhir: httpx.AsyncClient) -> None:
    plan = CrisisPlan()
    body = plan.transaction()
    # A PUT of a crisis plan that does not exist, claiming a version: 412 at the very end.
    body["entry"].append(entry(patient(id="kari-x"), "PUT", "Patient/kari-x", ifMatch='W/"3"'))
    before = {t: await history_count(fhir, t) for t in ("Patient", "CarePlan", "Goal", "CareTeam")}
    out = outcome(await post(fhir, body), 412, expression="Bundle.entry[7]")
    assert "does not exist" in out["issue"][0]["diagnostics"]
    assert {t: await history_count(fhir, t) for t in before} == before
    assert await count(fhir, "Patient", plan.patient_criteria) == 0
    assert (await fhir.get("/fhir/Patient/kari-x")).status_code == 404


async def test_a_failing_entry_reports_its_own_status_and_path(fhir: httpx.AsyncClient) -> None:
    plan = CrisisPlan()
    body = plan.transaction()
    body["entry"][1]["resource"]["identifier"][0]["value"] = "13057444850"  # bad check digits
    out = outcome(await post(fhir, body), 422)
    exprs = [x for i in out["issue"] for x in i.get("expression", [])]
    assert exprs and all(x.startswith("Bundle.entry[1].resource") for x in exprs), exprs
    assert await count(fhir, "CarePlan", f"identifier={FP}/sid/plan|{plan.plan_id}") == 0


async def test_entries_run_delete_post_put_get_in_that_order(fhir: httpx.AsyncClient) -> None:
    fnr = synthetic_fnr()
    gone = (await fhir.post("/fhir/Patient", json=patient(
        identifier=[{"system": FNR, "value": fnr}]))).json()["id"]
    kept = uid()
    await fhir.put(f"/fhir/Patient/{kept}", json=patient(id=kept))
    body = bundle("transaction", [
        entry(None, "GET", f"Patient/{kept}"),  # listed first, answered last: sees the PUT
        entry(patient(id=kept, gender="male"), "PUT", f"Patient/{kept}"),
        # Matches `gone` only if it runs before the DELETE; it must create a new Patient.
        entry(patient(identifier=[{"system": FNR, "value": fnr}]), "POST", "Patient",
              ifNoneExist=f"identifier={FNR}|{fnr}"),
        entry(None, "DELETE", f"Patient/{gone}"),
    ])
    read_, put, post_, delete = ok(await post(fhir, body))
    assert read_["response"]["status"] == "200 OK"
    assert read_["resource"]["gender"] == "male" and read_["resource"]["meta"]["versionId"] == "2"
    assert put["response"]["status"] == "200 OK" and put["response"]["etag"] == 'W/"2"'
    assert post_["response"]["status"] == "201 Created" and post_["resource"]["id"] != gone
    assert delete["response"]["status"] == "200 OK" and "outcome" in delete["response"]
    assert (await fhir.get(f"/fhir/Patient/{gone}")).status_code == 410


async def test_conditional_update_and_delete_entries(fhir: httpx.AsyncClient) -> None:
    fnr, other = synthetic_fnr(), synthetic_fnr()
    existing = (await fhir.post("/fhir/Patient", json=patient(
        identifier=[{"system": FNR, "value": fnr}]))).json()["id"]
    doomed = (await fhir.post("/fhir/Patient", json=patient(
        identifier=[{"system": FNR, "value": other}]))).json()["id"]
    full_url = urn()
    body = bundle("transaction", [
        entry(patient(identifier=[{"system": FNR, "value": fnr}], gender="other"), "PUT",
              f"Patient?identifier={FNR}|{fnr}", full_url=full_url),
        entry({"resourceType": "Goal", "lifecycleStatus": "active",
               "description": {"text": "Sove bedre"}, "subject": {"reference": full_url}},
              "POST", "Goal"),
        entry(None, "DELETE", f"Patient?identifier={FNR}|{other}"),
    ])
    update, goal, delete = ok(await post(fhir, body))
    assert ref_id(update) == f"Patient/{existing}" and update["response"]["etag"] == 'W/"2"'
    assert goal["resource"]["subject"] == {"reference": f"Patient/{existing}"}
    assert delete["response"]["status"] == "200 OK"
    assert (await fhir.get(f"/fhir/Patient/{doomed}")).status_code == 410


async def test_if_match_on_entries(fhir: httpx.AsyncClient) -> None:
    pid = uid()
    await fhir.put(f"/fhir/Patient/{pid}", json=patient(id=pid))
    stale = bundle("transaction", [entry(patient(id=pid, gender="male"), "PUT", f"Patient/{pid}",
                                         ifMatch='W/"7"')])
    outcome(await post(fhir, stale), 412, expression="Bundle.entry[0]")
    fresh = bundle("transaction", [entry(patient(id=pid, gender="male"), "PUT", f"Patient/{pid}",
                                         ifMatch='W/"1"')])
    assert ok(await post(fhir, fresh))[0]["response"]["etag"] == 'W/"2"'
    delete = bundle("transaction", [entry(None, "DELETE", f"Patient/{pid}", ifMatch='W/"1"')])
    outcome(await post(fhir, delete), 412)
    delete["entry"][0]["request"]["ifMatch"] = 'W/"2"'
    ok(await post(fhir, delete))
    assert (await fhir.get(f"/fhir/Patient/{pid}")).status_code == 410


async def test_careplan_updates_need_if_match_inside_bundles_too(fhir: httpx.AsyncClient) -> None:
    plan = CrisisPlan()
    created = ok(await post(fhir, plan.transaction()))
    cp = created[6]["resource"]
    cp["title"] = "Min kriseplan (revidert)"
    put = bundle("transaction", [entry(cp, "PUT", f"CarePlan/{cp['id']}")])
    outcome(await post(fhir, put), 428)
    put["entry"][0]["request"]["ifMatch"] = 'W/"1"'
    assert ok(await post(fhir, put))[0]["resource"]["title"] == "Min kriseplan (revidert)"


async def test_conditional_reads(fhir: httpx.AsyncClient) -> None:
    pid = uid()
    await fhir.put(f"/fhir/Patient/{pid}", json=patient(id=pid))
    body = bundle("transaction", [
        entry(None, "GET", f"Patient/{pid}", ifNoneMatch='W/"1"'),
        entry(None, "GET", f"Patient/{pid}", ifNoneMatch='W/"0"'),
        entry(None, "GET", f"Patient/{pid}/_history/1", ifModifiedSince="2999-01-01T00:00:00Z"),
        entry(None, "GET", f"Patient/{pid}", ifModifiedSince="2000-01-01T00:00:00Z"),
        entry(None, "HEAD", f"Patient/{pid}"),
    ])
    same, changed, vread, modified, head = ok(await post(fhir, body))
    assert same["response"]["status"] == "304 Not Modified" and "resource" not in same
    assert changed["resource"]["id"] == pid
    assert vread["response"]["status"] == "304 Not Modified"
    assert modified["response"]["status"] == "200 OK" and modified["resource"]["id"] == pid
    assert head["response"]["status"] == "200 OK" and "resource" not in head


async def test_prefer_return(fhir: httpx.AsyncClient) -> None:
    minimal = ok(await post(fhir, bundle("transaction", [entry(patient(), "POST", "Patient")]),
                            Prefer="return=minimal"))[0]
    assert "resource" not in minimal and minimal["response"]["location"].startswith("Patient/")
    oo = ok(await post(fhir, bundle("transaction", [entry(patient(), "POST", "Patient")]),
                       Prefer="return=OperationOutcome"))[0]
    assert "resource" not in oo
    assert oo["response"]["outcome"]["resourceType"] == "OperationOutcome"
    full = ok(await post(fhir, bundle("transaction", [entry(patient(), "POST", "Patient")])))[0]
    assert full["resource"]["resourceType"] == "Patient"


async def test_empty_transaction(fhir: httpx.AsyncClient) -> None:
    assert ok(await post(fhir, bundle("transaction", []))) == []


async def test_urn_oid_full_urls(fhir: httpx.AsyncClient) -> None:
    org_url = "urn:oid:2.16.578.1.12.4.1.9.4711"
    body = bundle("transaction", [
        entry(patient(managingOrganization={"reference": org_url}), "POST", "Patient"),
        entry(organization(), "POST", "Organization", full_url=org_url),
    ])
    pat, org = ok(await post(fhir, body))
    assert pat["resource"]["managingOrganization"] == {"reference": ref_id(org)}


async def test_the_base_with_a_trailing_slash_works_too(fhir: httpx.AsyncClient) -> None:
    resp = await fhir.post("/fhir/", json=bundle("batch", [entry(patient(), "POST", "Patient")]))
    assert ok(resp, "batch-response")[0]["response"]["status"] == "201 Created"


async def test_response_bundles_are_valid_fhir(fhir: httpx.AsyncClient) -> None:
    """Both response kinds parse as R4 Bundles: outcomes, instants and etags in the right shape."""
    pid = uid()
    tx = await post(fhir, CrisisPlan().transaction(), Prefer="return=OperationOutcome")
    validate("Bundle", tx.json())
    batch = await post(fhir, bundle("batch", [
        entry(patient(id=pid), "PUT", f"Patient/{pid}"),
        entry(None, "GET", f"Patient/{pid}"),
        entry(None, "GET", "Patient?gender=female&_count=1"),
        entry(None, "DELETE", f"Patient/{uid()}"),
        entry(None, "DELETE", f"Patient/{pid}"),
    ]))
    body = batch.json()
    validate("Bundle", body)
    assert [e["response"]["status"][:3] for e in body["entry"]] == ["201", "200", "200", "404", "200"]
