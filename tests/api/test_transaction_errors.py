"""Every way a transaction is refused, with the status and the FHIRPath of the cause.

https://hl7.org/fhir/R4/http.html#transaction: a failing entry fails the whole transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.db.engine import Database
from tests.factories.bundles import CrisisPlan, bundle, bundle_client, entry, hpr_number, urn
from tests.factories.resources import FNR, HPR, patient, synthetic_fnr, uid
from tests.helpers import history_count, outcome


@pytest_asyncio.fixture(loop_scope="session")
async def fhir(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """A client with POST /fhir available."""
    async with bundle_client(db) as client:
        yield client


async def post(client: httpx.AsyncClient, body: Any) -> httpx.Response:
    return await client.post("/fhir", json=body, headers={"Content-Type": "application/fhir+json"})


def goal(subject: str) -> dict[str, Any]:
    return {"resourceType": "Goal", "lifecycleStatus": "active",
            "description": {"text": "Færre innleggelser"}, "subject": {"reference": subject}}


@pytest.mark.parametrize(("request_", "status", "expression"), [
    (None, 400, "Bundle.entry[0].request"),
    ({"url": "Patient"}, 400, "Bundle.entry[0].request.method"),
    ({"method": "FETCH", "url": "Patient"}, 400, "Bundle.entry[0].request.method"),
    ({"method": "POST"}, 400, "Bundle.entry[0].request.url"),
    ({"method": "POST", "url": "Patient/123"}, 400, "Bundle.entry[0].request.url"),
    ({"method": "POST", "url": "Patient?name=x"}, 400, "Bundle.entry[0].request.url"),
    ({"method": "PUT", "url": "Patient"}, 400, "Bundle.entry[0].request.url"),
    ({"method": "PUT", "url": "Patient/bad!id"}, 400, "Bundle.entry[0].request.url"),
    ({"method": "DELETE", "url": "Patient/1/_history/1"}, 400, "Bundle.entry[0].request.url"),
    ({"method": "GET", "url": "patient/1"}, 400, "Bundle.entry[0].request.url"),
    ({"method": "GET", "url": "Observation/1"}, 404, "Bundle.entry[0].request.url"),
    ({"method": "GET", "url": "Patient/1/$everything"}, 404, "Bundle.entry[0].request.url"),
    ({"method": "PATCH", "url": "Patient/1"}, 405, "Bundle.entry[0].request.method"),
    ({"method": "POST", "url": "Patient", "ifMatch": 'W/"1"'}, 400, "Bundle.entry[0].request.ifMatch"),
    ({"method": "PUT", "url": "Patient/a", "ifMatch": "soon"}, 400, "Bundle.entry[0].request.ifMatch"),
    ({"method": "GET", "url": "Patient/a", "ifNoneExist": "name=x"}, 400,
     "Bundle.entry[0].request.ifNoneExist"),
])
async def test_bad_requests(fhir: httpx.AsyncClient, request_: dict[str, str] | None, status: int,
                            expression: str) -> None:
    item: dict[str, Any] = {"resource": patient(id="a")}
    if request_ is not None:
        item["request"] = request_
    outcome(await post(fhir, bundle("transaction", [item])), status, expression=expression)


async def test_missing_or_mismatched_resource(fhir: httpx.AsyncClient) -> None:
    outcome(await post(fhir, bundle("transaction", [entry(None, "POST", "Patient")])), 400,
            expression="Bundle.entry[0].resource")
    outcome(await post(fhir, bundle("transaction", [entry(goal("Patient/x"), "POST", "Patient")])),
            400, expression="Bundle.entry[0].resource.resourceType")
    not_an_entry = {"resourceType": "Bundle", "type": "transaction", "entry": ["not an entry"]}
    outcome(await post(fhir, not_an_entry), 400, expression="Bundle.entry[0]")


async def test_structure_errors_point_into_the_bundle(fhir: httpx.AsyncClient) -> None:
    body = bundle("transaction", [entry(patient(), "POST", "Patient"),
                                  entry(patient(gender="female", hairColour="brown"), "POST", "Patient")])
    outcome(await post(fhir, body), 400, code="structure",
            expression="Bundle.entry[1].resource.hairColour")


async def test_put_body_id_must_match_url(fhir: httpx.AsyncClient) -> None:
    body = bundle("transaction", [entry(patient(id="b"), "PUT", "Patient/a")])
    outcome(await post(fhir, body), 400, expression="Bundle.entry[0].resource.id")


@pytest.mark.parametrize("kind", ["collection", "document", "searchset", "history", None])
async def test_other_bundle_types_are_refused(fhir: httpx.AsyncClient, kind: str | None) -> None:
    body: dict[str, Any] = {"resourceType": "Bundle", "entry": [{"resource": patient()}]}
    if kind:
        body["type"] = kind
    outcome(await post(fhir, body), 400, expression="Bundle.type")


async def test_not_a_bundle(fhir: httpx.AsyncClient) -> None:
    outcome(await post(fhir, patient()), 400)
    outcome(await post(fhir, [bundle("transaction", [])]), 400)
    outcome(await post(fhir, {"resourceType": "Bundle", "type": "batch", "entry": {}}), 400,
            expression="Bundle.entry")
    resp = await fhir.post("/fhir", content=b'{"resourceType": "Bundle", ',
                           headers={"Content-Type": "application/fhir+json"})
    outcome(resp, 400)
    resp = await fhir.post("/fhir", content=b"<Bundle/>", headers={"Content-Type": "application/xml"})
    outcome(resp, 415)


async def test_too_many_entries(db: Database) -> None:
    async with bundle_client(db, max_bundle_entries=3) as fhir:
        body = bundle("batch", [entry(patient(), "POST", "Patient") for _ in range(4)])
        out = outcome(await post(fhir, body), 413, code="too-costly", expression="Bundle.entry")
        assert "at most 3" in out["issue"][0]["diagnostics"]
        body["entry"].pop()
        assert (await post(fhir, body)).status_code == 200


async def test_two_entries_touching_one_resource(fhir: httpx.AsyncClient) -> None:
    pid = uid()
    twice = bundle("transaction", [entry(patient(id=pid), "PUT", f"Patient/{pid}"),
                                   entry(None, "DELETE", f"Patient/{pid}")])
    outcome(await post(fhir, twice), 400, expression="Bundle.entry[1]")
    same_url = urn()
    dup = bundle("transaction", [entry(patient(), "POST", "Patient", full_url=same_url),
                                 entry(patient(), "POST", "Patient", full_url=same_url)])
    outcome(await post(fhir, dup), 400, expression="Bundle.entry[1].fullUrl")
    assert (await fhir.get(f"/fhir/Patient/{pid}")).status_code == 404


async def test_conditional_entries_resolving_to_one_resource(fhir: httpx.AsyncClient) -> None:
    fnr = synthetic_fnr()
    ident = [{"system": FNR, "value": fnr}]
    pid = (await fhir.post("/fhir/Patient", json=patient(identifier=ident))).json()["id"]
    body = bundle("transaction", [
        entry(patient(identifier=ident, gender="male"), "PUT", f"Patient?identifier={FNR}|{fnr}"),
        entry(patient(id=pid, identifier=ident), "PUT", f"Patient/{pid}"),
    ])
    outcome(await post(fhir, body), 400, expression="Bundle.entry[0]")
    same_criteria = bundle("transaction", [
        entry(patient(identifier=ident), "POST", "Patient", ifNoneExist=f"identifier={FNR}|{fnr}"),
        entry(patient(identifier=ident), "POST", "Patient", ifNoneExist=f"identifier={FNR}|{fnr}"),
    ])
    outcome(await post(fhir, same_criteria), 400, expression="Bundle.entry[1]")
    deleted_and_updated = bundle("transaction", [
        entry(None, "DELETE", f"Patient?identifier={FNR}|{fnr}"),
        entry(patient(id=pid, identifier=ident), "PUT", f"Patient/{pid}"),
    ])
    outcome(await post(fhir, deleted_and_updated), 400)
    assert (await fhir.get(f"/fhir/Patient/{pid}")).json()["meta"]["versionId"] == "1"


async def test_unresolvable_placeholders(fhir: httpx.AsyncClient) -> None:
    before = await history_count(fhir, "Patient")
    body = bundle("transaction", [entry(patient(), "POST", "Patient", full_url=urn()),
                                  entry(goal(urn()), "POST", "Goal")])
    out = outcome(await post(fhir, body), 400, expression="Bundle.entry[1].resource.subject.reference")
    assert "does not match the fullUrl" in out["issue"][0]["diagnostics"]
    oid = bundle("transaction", [entry(goal("urn:oid:2.16.578.1.12.4.1.999"), "POST", "Goal")])
    outcome(await post(fhir, oid), 400, expression="Bundle.entry[0].resource.subject.reference")
    bad_urn = bundle("transaction", [entry(patient(), "POST", "Patient", full_url="urn:uuid:nope")])
    outcome(await post(fhir, bad_urn), 400, expression="Bundle.entry[0].fullUrl")
    assert await history_count(fhir, "Patient") == before


async def test_conditional_reference_needs_exactly_one_match(fhir: httpx.AsyncClient) -> None:
    hpr = hpr_number()
    criteria = f"Practitioner?identifier={HPR}|{hpr}"
    none = bundle("transaction", [entry(goal("Patient/x") | {"expressedBy": {"reference": criteria}},
                                        "POST", "Goal")])
    out = outcome(await post(fhir, none), 412, expression="Bundle.entry[0].resource.expressedBy.reference")
    assert "matches no resource" in out["issue"][0]["diagnostics"]
    doctor = CrisisPlan(hpr=hpr).practitioner_resource()
    await fhir.post("/fhir/Practitioner", json=doctor)
    ok = await post(fhir, none)
    assert ok.status_code == 200, ok.text
    await fhir.post("/fhir/Practitioner", json=doctor)  # now two doctors share the HPR-nummer
    out = outcome(await post(fhir, none), 412, expression="Bundle.entry[0].resource.expressedBy.reference")
    assert "more than one" in out["issue"][0]["diagnostics"]


async def test_conditional_reference_to_an_unserved_type(fhir: httpx.AsyncClient) -> None:
    body = bundle("transaction", [entry(goal("Patient/x") | {"addresses": [
        {"reference": "Condition?code=F20"}]}, "POST", "Goal")])
    outcome(await post(fhir, body), 400, expression="Bundle.entry[0].resource.addresses[0].reference")


async def test_conditional_create_with_two_matches(fhir: httpx.AsyncClient) -> None:
    fnr = synthetic_fnr()
    ident = [{"system": FNR, "value": fnr}]
    for _ in range(2):
        await fhir.post("/fhir/Patient", json=patient(identifier=ident))
    body = bundle("transaction", [entry(patient(identifier=ident), "POST", "Patient",
                                        ifNoneExist=f"identifier={FNR}|{fnr}")])
    outcome(await post(fhir, body), 412, expression="Bundle.entry[0]")


async def test_delete_of_unknown_resource_fails_the_transaction(fhir: httpx.AsyncClient) -> None:
    body = bundle("transaction", [entry(patient(), "POST", "Patient"),
                                  entry(None, "DELETE", f"Patient/{uid()}")])
    before = await history_count(fhir, "Patient")
    outcome(await post(fhir, body), 404, expression="Bundle.entry[1]")
    assert await history_count(fhir, "Patient") == before


async def test_read_of_unknown_resource_fails_the_transaction(fhir: httpx.AsyncClient) -> None:
    body = bundle("transaction", [entry(patient(), "POST", "Patient"),
                                  entry(None, "GET", f"Patient/{uid()}")])
    outcome(await post(fhir, body), 404, expression="Bundle.entry[1]")


async def test_bad_search_in_an_entry(fhir: httpx.AsyncClient) -> None:
    body = bundle("transaction", [entry(None, "GET", "Patient?birthdate=yesterday")])
    out = outcome(await post(fhir, body), 400)
    assert all(x.startswith("Bundle.entry[0]") for i in out["issue"] for x in i.get("expression", []))
