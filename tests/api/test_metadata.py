"""The CapabilityStatement, _summary/_elements and the committed OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import httpx

from app.openapi import render
from tests.factories.resources import patient
from tests.helpers import outcome

ROOT = Path(__file__).resolve().parents[2]


async def test_capability_statement(client: httpx.AsyncClient) -> None:
    resp = await client.get("/fhir/metadata")
    assert resp.status_code == 200
    cap = resp.json()
    assert cap["resourceType"] == "CapabilityStatement" and cap["fhirVersion"] == "4.0.1"
    rest = cap["rest"][0]
    types = {r["type"]: r for r in rest["resource"]}
    assert {"CarePlan", "Consent", "Patient", "QuestionnaireResponse", "Subscription"} <= set(types)
    codes = {i["code"] for i in types["CarePlan"]["interaction"]}
    assert {"read", "vread", "update", "delete", "create", "history-instance", "history-type"} <= codes
    assert "patch" not in codes  # not routed, so not declared
    assert types["CarePlan"]["conditionalDelete"] == "single"
    assert {i["code"] for i in rest["interaction"]} >= {"history-system"}
    for res in rest["resource"]:  # an operation on both type and instance is declared once
        names = [o["name"] for o in res.get("operation", [])]
        assert len(names) == len(set(names)), res["type"]
    assert {"validate", "document"} <= {o["name"] for o in types["CarePlan"]["operation"]}


async def test_pretty(client: httpx.AsyncClient) -> None:
    created = (await client.post("/fhir/Patient", json=patient())).json()
    resp = await client.get(f"/fhir/Patient/{created['id']}", params={"_pretty": "true"})
    assert b'\n  "resourceType"' in resp.content and resp.json() == created


async def test_summary_and_elements_on_read(client: httpx.AsyncClient) -> None:
    created = (await client.post("/fhir/Patient", json=patient(
        text={"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Kari</div>'},
        contact=[{"name": {"family": "Nordmann"}}]))).json()
    url = f"/fhir/Patient/{created['id']}"
    summary = (await client.get(url, params={"_summary": "true"})).json()
    assert "contact" not in summary and "text" not in summary and summary["identifier"]
    assert any(t["code"] == "SUBSETTED" for t in summary["meta"]["tag"])
    text = (await client.get(url, params={"_summary": "text"})).json()
    assert set(text) == {"resourceType", "id", "meta", "text"}
    data = (await client.get(url, params={"_summary": "data"})).json()
    assert "text" not in data and "contact" in data
    elements = (await client.get(url, params={"_elements": "gender,birthDate"})).json()
    assert set(elements) == {"resourceType", "id", "meta", "gender", "birthDate"}
    outcome(await client.get(url, params={"_summary": "bogus"}), 400, expression="_summary")


def test_openapi_is_current() -> None:
    committed = (ROOT / "openapi" / "openapi.json").read_text("utf-8")
    assert committed == render(), "openapi/openapi.json is stale: run `make openapi`"
