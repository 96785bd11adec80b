"""CarePlan/[id]/$document: a FHIR document Bundle with a Volven 9602 typed Composition."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from app.fhir.models import validate
from tests.factories.resources import uid
from tests.forms.factories import put, seed_network
from tests.helpers import outcome

EXAMPLES = Path(__file__).resolve().parents[2] / "profiles" / "examples"
VOLVEN_9602 = "urn:oid:2.16.578.1.12.4.1.1.9602"


async def stored_plan(
    client: httpx.AsyncClient, name: str, **over: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """A product example plan stored for a fresh patient network (references rewired)."""
    ids = await seed_network(client)
    text = (EXAMPLES / name).read_text()
    for old, new in (
        ("Patient/kari", f"Patient/{ids['patient']}"),
        ("RelatedPerson/bror-per", f"RelatedPerson/{ids['brother']}"),
        ("Organization/dps", f"Organization/{ids['dps']}"),
        ("Practitioner/lege-hansen", f"Practitioner/{ids['lege']}"),
        ("Organization/kommune-rus-psykisk", f"Organization/{ids['kommune']}"),
    ):
        text = text.replace(f'"{old}"', f'"{new}"')
    plan: dict[str, Any] = {**json.loads(text), "id": uid(), **over}
    plan.pop("text", None)
    return await put(client, plan), ids


async def document(client: httpx.AsyncClient, plan_id: str) -> dict[str, Any]:
    """GET the document."""
    resp = await client.get(f"/fhir/CarePlan/{plan_id}/$document")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def test_kriseplan_document(client: httpx.AsyncClient) -> None:
    plan, ids = await stored_plan(client, "CarePlan-kriseplan-kari.json")
    doc = await document(client, plan["id"])
    validate("Bundle", doc)  # structurally a valid R4(B) Bundle with a Composition
    assert (
        doc["type"] == "document" and doc["identifier"]["value"].startswith("urn:uuid:") and doc["timestamp"]
    )
    composition = doc["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["type"]["coding"] == [{"system": VOLVEN_9602, "code": "A01-2", "display": "Kriseplan"}]
    assert composition["status"] == "final"
    assert composition["subject"] == {"reference": f"Patient/{ids['patient']}"}
    assert composition["author"] == [{"reference": f"Practitioner/{ids['lege']}"}]
    assert composition["section"][0]["entry"] == [{"reference": doc["entry"][1]["fullUrl"]}]
    assert "Tidlige tegn" in composition["section"][0]["text"]["div"]
    carried = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in doc["entry"][1:]}
    assert carried == {
        f"CarePlan/{plan['id']}",
        f"Patient/{ids['patient']}",
        f"Practitioner/{ids['lege']}",
        f"RelatedPerson/{ids['brother']}",
        f"Organization/{ids['dps']}",
        f"Organization/{ids['kommune']}",
    }
    assert all(e["fullUrl"].startswith("http://test/fhir/") for e in doc["entry"][1:])
    assert doc["entry"][1]["resource"] == plan  # the stored version, as stored


async def test_individual_plan_document_and_draft_status(client: httpx.AsyncClient) -> None:
    plan, _ = await stored_plan(client, "CarePlan-individuell-plan-kari.json", status="draft")
    composition = (await document(client, plan["id"]))["entry"][0]["resource"]
    assert composition["type"]["coding"][0]["code"] == "A02-2"
    assert composition["status"] == "preliminary"


async def test_same_version_same_composition(client: httpx.AsyncClient) -> None:
    plan, _ = await stored_plan(client, "CarePlan-kriseplan-kari.json")
    one, two = await document(client, plan["id"]), await document(client, plan["id"])
    assert one["entry"][0]["resource"]["id"] == two["entry"][0]["resource"]["id"]
    assert one["identifier"] != two["identifier"]


async def test_unknown_or_deleted_plans(client: httpx.AsyncClient) -> None:
    outcome(await client.get(f"/fhir/CarePlan/{uid()}/$document"), 404)
    plan, _ = await stored_plan(client, "CarePlan-kriseplan-kari.json")
    assert (await client.delete(f"/fhir/CarePlan/{plan['id']}")).status_code == 200
    outcome(await client.get(f"/fhir/CarePlan/{plan['id']}/$document"), 410)
    outcome(await client.get("/fhir/Patient/x/$document"), 404)


async def test_forms_operations_are_in_the_capability_statement(client: httpx.AsyncClient) -> None:
    cap = (await client.get("/fhir/metadata")).json()
    ops = {r["type"]: {o["name"] for o in r.get("operation", [])} for r in cap["rest"][0]["resource"]}
    assert "document" in ops["CarePlan"]
    assert "populate" in ops["Questionnaire"]
    assert "extract" in ops["QuestionnaireResponse"]


async def test_references_to_types_not_served_are_left_out(client: httpx.AsyncClient) -> None:
    detail = {
        "code": {
            "coding": [
                {
                    "system": "https://fellesplan.no/fhir/CodeSystem/kriseplan-seksjon",
                    "code": "tjenesteansvar",
                }
            ]
        },
        "status": "in-progress",
        "description": "Hjemmetjenesten.",
        "performer": [{"reference": "HealthcareService/hjemme"}],
    }
    plan, _ = await stored_plan(
        client, "CarePlan-kriseplan-kari.json", status="draft", activity=[{"detail": detail}]
    )
    doc = await document(client, plan["id"])
    assert "HealthcareService" not in {e["resource"]["resourceType"] for e in doc["entry"]}
    assert "HealthcareService/hjemme" in doc["entry"][0]["resource"]["section"][0]["text"]["div"]
