"""The read-only conformance router: read, search by url/name/_id, 405 on writes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest_asyncio
from fastapi import APIRouter, FastAPI

from app.api import conformance, errors
from tests.helpers import outcome

KRISEPLAN = "https://fellesplan.no/fhir/StructureDefinition/kriseplan"


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A client on an app with only the conformance router (no database needed)."""
    app = FastAPI()
    fhir = APIRouter(prefix="/fhir")
    fhir.include_router(conformance.router)
    app.include_router(fhir)
    errors.install(app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_read_profile_has_differential_and_generated_snapshot(http: httpx.AsyncClient) -> None:
    resp = await http.get("/fhir/StructureDefinition/kriseplan")
    assert resp.status_code == 200, resp.text
    sd = resp.json()
    assert sd["url"] == KRISEPLAN
    assert sd["differential"]["element"]
    ids = {e["id"] for e in sd["snapshot"]["element"]}
    assert "CarePlan.activity:kontakter.detail.code" in ids


async def test_search_by_url_name_and_id(http: httpx.AsyncClient) -> None:
    by_url = (await http.get("/fhir/StructureDefinition", params={"url": KRISEPLAN})).json()
    assert by_url["type"] == "searchset" and by_url["total"] == 1
    assert by_url["entry"][0]["resource"]["id"] == "kriseplan"
    by_name = (await http.get("/fhir/CodeSystem", params={"name": "kriseplan"})).json()
    assert [e["resource"]["id"] for e in by_name["entry"]] == ["kriseplan-seksjon"]
    by_id = (await http.get("/fhir/ValueSet", params={"_id": "tjenestetype"})).json()
    assert by_id["total"] == 1
    none = (await http.get("/fhir/SearchParameter", params={"url": "https://x.example/none"})).json()
    assert none["total"] == 0 and none["entry"] == []


async def test_no_basis_is_published(http: httpx.AsyncClient) -> None:
    resp = await http.get("/fhir/StructureDefinition/no-basis-Patient")
    assert resp.status_code == 200


async def test_unknown_id_and_unknown_parameter(http: httpx.AsyncClient) -> None:
    outcome(await http.get("/fhir/CodeSystem/finnes-ikke"), 404)
    outcome(await http.get("/fhir/CodeSystem", params={"title": "x"}), 400)


async def test_writes_are_refused(http: httpx.AsyncClient) -> None:
    body = {"resourceType": "CodeSystem", "id": "plantype", "status": "draft", "content": "complete"}
    outcome(await http.put("/fhir/CodeSystem/plantype", json=body), 405)
    outcome(await http.post("/fhir/CodeSystem", json=body), 405)
    outcome(await http.delete("/fhir/StructureDefinition/kriseplan"), 405)


async def test_mounted_in_the_application(client: httpx.AsyncClient) -> None:
    resp = await client.get("/fhir/StructureDefinition/samtykke")
    assert resp.status_code == 200, resp.text
    assert resp.json()["type"] == "Consent"
    outcome(await client.put("/fhir/ValueSet/tjenestetype", json={"resourceType": "ValueSet"}), 405)
