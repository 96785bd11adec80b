"""The profile examples through the real write path: valid ones are stored, invalid ones get 422
with their annotated errors, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import outcome

EXAMPLES = Path(__file__).resolve().parents[2] / "profiles" / "examples"
MANIFEST = json.loads((EXAMPLES / "manifest.json").read_text())["examples"]
HEADERS = {"Content-Type": "application/fhir+json"}


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
async def test_create_through_the_api(client: httpx.AsyncClient, entry: dict[str, Any]) -> None:
    resource = json.loads((EXAMPLES / entry["file"]).read_text())
    rtype = resource["resourceType"]
    body = {k: v for k, v in resource.items() if k != "id"}
    resp = await client.post(f"/fhir/{rtype}", json=body, headers=HEADERS)
    if entry["valid"]:
        assert resp.status_code == 201, resp.text
        return
    found = outcome(resp, 422)
    for expected in entry["errors"]:
        assert any(expected["expression"] in i.get("expression", [])
                   and expected.get("key", "") in i["diagnostics"]
                   and expected.get("text", "") in i["diagnostics"] for i in found["issue"]), found
    # Nothing was written: an update-as-create with the example's id is refused the same way.
    resp = await client.put(f"/fhir/{rtype}/{resource['id']}", json=resource, headers=HEADERS)
    outcome(resp, 422)
    assert (await client.get(f"/fhir/{rtype}/{resource['id']}")).status_code == 404
