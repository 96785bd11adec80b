"""Batches: every entry on its own; failures answer in their entry (https://hl7.org/fhir/R4/http.html#transaction)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio

from app.db.engine import Database
from tests.factories.bundles import CrisisPlan, bundle, bundle_client, entry, urn
from tests.factories.resources import FNR, patient, synthetic_fnr, uid


@pytest_asyncio.fixture(loop_scope="session")
async def fhir(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client with POST /fhir available."""
    async with bundle_client(db) as client:
        yield client


async def post_batch(client: httpx.AsyncClient, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """POST a batch and return the response entries (one per request entry)."""
    resp = await client.post("/fhir", json=bundle("batch", entries),
                             headers={"Content-Type": "application/fhir+json"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["type"] == "batch-response"
    assert len(body["entry"]) == len(entries)
    return list(body["entry"])


def failed(item: dict[str, Any], status: str, expression: str | None = None) -> None:
    """Assert a failed entry: its status and an OperationOutcome pointing at it."""
    assert item["response"]["status"] == status, item
    assert "resource" not in item
    issues = item["response"]["outcome"]["issue"]
    assert issues and all(i["severity"] == "error" and i["diagnostics"] for i in issues)
    if expression is not None:
        assert expression in [x for i in issues for x in i.get("expression", [])], issues


async def test_failing_entries_do_not_stop_the_others(fhir: httpx.AsyncClient) -> None:
    pid = uid()
    fnr = synthetic_fnr()
    answers = await post_batch(fhir, [
        entry(patient(id=pid), "PUT", f"Patient/{pid}"),
        entry(patient(hairColour="brown"), "POST", "Patient"),
        entry(patient(id=pid, gender="male"), "PUT", f"Patient/{pid}", ifMatch='W/"5"'),
        entry(patient(identifier=[{"system": FNR, "value": fnr}]), "POST", "Patient"),
        entry(None, "DELETE", f"Patient/{uid()}"),
        entry(None, "PATCH", f"Patient/{pid}"),
        {"resource": patient()},
    ])
    assert answers[0]["response"]["status"] == "201 Created"
    failed(answers[1], "400 Bad Request", "Bundle.entry[1].resource.hairColour")
    failed(answers[2], "412 Precondition Failed", "Bundle.entry[2]")
    assert answers[3]["response"]["status"] == "201 Created"
    failed(answers[4], "404 Not Found", "Bundle.entry[4]")
    failed(answers[5], "405 Method Not Allowed", "Bundle.entry[5].request.method")
    failed(answers[6], "400 Bad Request", "Bundle.entry[6].request")
    assert (await fhir.get(f"/fhir/Patient/{pid}")).json()["meta"]["versionId"] == "1"
    found = await fhir.get(f"/fhir/Patient?identifier={FNR}|{fnr}")
    assert found.json()["total"] == 1


async def test_get_entries_in_a_batch(fhir: httpx.AsyncClient) -> None:
    fnr = synthetic_fnr()
    pid = uid()
    await fhir.put(f"/fhir/Patient/{pid}", json=patient(id=pid, identifier=[{"system": FNR, "value": fnr}]))
    await fhir.put(f"/fhir/Patient/{pid}", json=patient(id=pid, gender="male",
                                                         identifier=[{"system": FNR, "value": fnr}]))
    missing = uid()
    answers = await post_batch(fhir, [
        entry(None, "GET", f"Patient/{pid}"),
        entry(None, "GET", f"Patient/{pid}/_history/1"),
        entry(None, "GET", f"Patient?identifier={FNR}|{fnr}"),
        entry(None, "GET", f"Patient/{missing}"),
        entry(None, "GET", f"Patient/{pid}/_history"),
        entry(None, "GET", f"http://test/fhir/Patient/{pid}?_elements=gender"),
        entry(None, "GET", f"Patient/{pid}/CarePlan"),
        entry(None, "GET", "Patient?birthdate=not-a-date"),
    ])
    read, vread, search, unknown, history, elements, compartment, bad = answers
    assert read["resource"]["meta"]["versionId"] == "2" and read["response"]["etag"] == 'W/"2"'
    assert vread["resource"]["gender"] == "female" and vread["response"]["etag"] == 'W/"1"'
    assert search["resource"]["type"] == "searchset" and search["resource"]["total"] == 1
    assert search["resource"]["entry"][0]["resource"]["id"] == pid
    failed(unknown, "404 Not Found")
    assert history["resource"]["type"] == "history" and len(history["resource"]["entry"]) == 2
    assert elements["resource"]["gender"] == "male" and "name" not in elements["resource"]
    assert compartment["resource"]["type"] == "searchset"
    failed(bad, "400 Bad Request")


async def test_batch_entries_see_earlier_entries(fhir: httpx.AsyncClient) -> None:
    pid = uid()
    answers = await post_batch(fhir, [
        entry(patient(id=pid), "PUT", f"Patient/{pid}"),
        entry(patient(id=pid, gender="male"), "PUT", f"Patient/{pid}", ifMatch='W/"1"'),
        entry(None, "GET", f"Patient/{pid}"),
        entry(None, "DELETE", f"Patient/{pid}"),
        entry(None, "GET", f"Patient/{pid}"),
    ])
    assert [a["response"]["status"][:3] for a in answers] == ["201", "200", "200", "200", "410"]
    assert answers[2]["resource"]["gender"] == "male"


async def test_batch_entries_may_not_link_to_each_other(fhir: httpx.AsyncClient) -> None:
    patient_url = urn()
    answers = await post_batch(fhir, [
        entry(patient(), "POST", "Patient", full_url=patient_url),
        entry({"resourceType": "Goal", "lifecycleStatus": "active", "description": {"text": "Jobb"},
               "subject": {"reference": patient_url}}, "POST", "Goal"),
    ])
    assert answers[0]["response"]["status"] == "201 Created"
    failed(answers[1], "400 Bad Request", "Bundle.entry[1].resource.subject.reference")


async def test_crisis_plan_as_batch_of_independent_creates(fhir: httpx.AsyncClient) -> None:
    plan = CrisisPlan()
    body = plan.transaction(kind="batch")
    answers = await post_batch(fhir, body["entry"][:2])  # the doctor and the patient only
    assert [a["response"]["status"] for a in answers] == ["201 Created"] * 2
    again = await post_batch(fhir, body["entry"][:2])
    assert [a["response"]["status"] for a in again] == ["200 OK"] * 2
