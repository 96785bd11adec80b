"""$validate: type and instance level, modes, profile parameter; always 200 + OperationOutcome."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from app.api import errors
from app.config import Settings
from app.operations import validate
from app.operations.registry import OperationCall, registry
from app.services.context import SYSTEM

EXAMPLES = Path(__file__).resolve().parents[2] / "profiles" / "examples"
SD = "https://fellesplan.no/fhir/StructureDefinition/"


def example(name: str) -> dict[str, Any]:
    """A product example instance."""
    return json.loads((EXAMPLES / name).read_text())


@pytest_asyncio.fixture(loop_scope="session")
async def direct() -> AsyncIterator[httpx.AsyncClient]:
    """The handler behind a bare route (type level; no database involved)."""
    app = FastAPI()

    @app.post("/fhir/{res_type}/$validate")
    async def route(request: Request, res_type: str) -> Response:
        body = json.loads(await request.body() or b"null")
        call = OperationCall(request, None, SYSTEM, Settings(), res_type, None,  # type: ignore[arg-type]
                             list(request.query_params.multi_items()), body)
        return await validate.handle(call)

    errors.install(app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def issues(resp: httpx.Response) -> list[dict[str, Any]]:
    """The OperationOutcome issues of a 200 $validate answer."""
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["resourceType"] == "OperationOutcome"
    return list(body["issue"])


async def test_valid_kriseplan_gives_information_only(direct: httpx.AsyncClient) -> None:
    plan = example("CarePlan-kriseplan-kari.json")
    found = issues(await direct.post("/fhir/CarePlan/$validate", json=plan))
    assert all(i["severity"] in ("information", "warning") for i in found), found


async def test_invalid_kriseplan_is_200_with_expression(direct: httpx.AsyncClient) -> None:
    bad = example("CarePlan-kriseplan-ansvar-uten-ansvarlig.json")
    found = issues(await direct.post("/fhir/CarePlan/$validate", json=bad))
    errs = [i for i in found if i["severity"] == "error"]
    assert any("kp-2" in i["diagnostics"] and i["expression"] == ["CarePlan"] for i in errs), errs


async def test_parameters_with_profile_and_mode(direct: httpx.AsyncClient) -> None:
    plain = {"resourceType": "CarePlan", "status": "active", "intent": "plan",
             "subject": {"reference": "Patient/kari"}}
    params = {"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": plain},
        {"name": "mode", "valueCode": "create"},
        {"name": "profile", "valueUri": SD + "kriseplan"}]}
    errs = [i for i in issues(await direct.post("/fhir/CarePlan/$validate", json=params))
            if i["severity"] == "error"]
    assert any("CarePlan.category" in i["expression"][0] for i in errs), errs
    # Without the profile the same plan is a valid base CarePlan.
    params["parameter"] = params["parameter"][:2]
    errs = [i for i in issues(await direct.post("/fhir/CarePlan/$validate", json=params))
            if i["severity"] == "error"]
    assert errs == []


async def test_update_mode_needs_id_and_bad_mode_is_400(direct: httpx.AsyncClient) -> None:
    plan = example("CarePlan-kriseplan-kari.json")
    del plan["id"]
    resp = await direct.post("/fhir/CarePlan/$validate", params={"mode": "update"}, json=plan)
    assert any(i["expression"] == ["CarePlan.id"] for i in issues(resp))
    resp = await direct.post("/fhir/CarePlan/$validate", params={"mode": "replace"}, json=plan)
    assert resp.status_code == 400


async def test_unknown_profile_and_structure_errors(direct: httpx.AsyncClient) -> None:
    plan = example("CarePlan-kriseplan-kari.json")
    resp = await direct.post("/fhir/CarePlan/$validate", params={"profile": SD + "ukjent"}, json=plan)
    assert any(i["code"] == "not-found" for i in issues(resp))
    plan["ukjentFelt"] = 1
    found = issues(await direct.post("/fhir/CarePlan/$validate", json=plan))
    assert any(i["code"] == "structure" for i in found), found


async def test_wrong_type_for_url_is_400(direct: httpx.AsyncClient) -> None:
    resp = await direct.post("/fhir/Patient/$validate", json=example("CarePlan-kriseplan-kari.json"))
    assert resp.status_code == 400


needs_registration = pytest.mark.skipif(
    "validate" not in registry(), reason="lead: add 'validate' to operations.registry.MODULES"
)


@needs_registration
async def test_type_level_through_the_api(client: httpx.AsyncClient) -> None:
    plan = example("CarePlan-kriseplan-mangler-seksjon.json")
    resp = await client.post("/fhir/CarePlan/$validate", json=plan,
                             headers={"Content-Type": "application/fhir+json"})
    assert any("kp-4" in i["diagnostics"] for i in issues(resp))


@needs_registration
async def test_instance_level_validates_the_stored_resource(client: httpx.AsyncClient) -> None:
    headers = {"Content-Type": "application/fhir+json"}
    patient = example("Patient-kari.json")
    assert (await client.put("/fhir/Patient/kari", json=patient, headers=headers)).status_code in (200, 201)
    resp = await client.post("/fhir/Patient/kari/$validate", headers=headers,
                             params={"profile": SD + "fellesplan-patient"})
    assert all(i["severity"] != "error" for i in issues(resp))
    patient["identifier"][0]["value"] = "13057444850"
    resp = await client.post("/fhir/Patient/kari/$validate", headers=headers, json=patient,
                             params={"profile": SD + "fellesplan-patient", "mode": "update"})
    assert any("fp-pid-1" in i["diagnostics"] for i in issues(resp))
    resp = await client.post("/fhir/Patient/kari/$validate", headers=headers,
                             params={"profile": SD + "fellesplan-practitioner"})
    assert any(i["code"] == "invalid" for i in issues(resp))
