"""Assertion helpers shared by the HTTP tests."""

from __future__ import annotations

from typing import Any

import httpx

FHIR_JSON = "application/fhir+json"
JSON_HEADERS = {"Content-Type": FHIR_JSON}


def outcome(resp: httpx.Response, status: int, *, code: str | None = None,
            expression: str | None = None) -> dict[str, Any]:
    """Assert an OperationOutcome error response and return it."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(FHIR_JSON)
    body: dict[str, Any] = resp.json()
    assert body["resourceType"] == "OperationOutcome", body
    issues = body["issue"]
    assert issues and all(i.get("diagnostics") for i in issues)
    if code is not None:
        assert any(i["code"] == code for i in issues), issues
    if expression is not None:
        exprs = [e for i in issues for e in i.get("expression", [])]
        assert expression in exprs, exprs
    return body


def without_meta(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource without meta (for round-trip comparisons)."""
    return {k: v for k, v in resource.items() if k != "meta"}


async def history_count(client: httpx.AsyncClient, res_type: str) -> int:
    """How many versions of a type exist (to prove nothing was written)."""
    resp = await client.get(f"/fhir/{res_type}/_history", params={"_count": "500"})
    assert resp.status_code == 200, resp.text
    return len(resp.json().get("entry", []))
