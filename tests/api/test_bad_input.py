"""Bad input: each gets a clear 4xx OperationOutcome, the server stays up, nothing is written."""

from __future__ import annotations

import httpx
import pytest

from tests.factories.resources import patient
from tests.helpers import JSON_HEADERS, history_count, outcome


async def _rejected(client: httpx.AsyncClient, content: bytes, status: int, *,
                    headers: dict[str, str] | None = None, url: str = "/fhir/Patient",
                    expression: str | None = None, code: str | None = None) -> None:
    """POST content, expect the error, and prove no Patient version was written."""
    before = await history_count(client, "Patient")
    resp = await client.post(url, content=content, headers=headers or JSON_HEADERS)
    outcome(resp, status, expression=expression, code=code)
    assert await history_count(client, "Patient") == before
    assert (await client.get("/fhir/metadata")).status_code == 200


async def test_malformed_json(client: httpx.AsyncClient) -> None:
    await _rejected(client, b'{"resourceType": "Patient", ', 400, code="invalid")


async def test_json_array(client: httpx.AsyncClient) -> None:
    await _rejected(client, b'[{"resourceType": "Patient"}]', 400)


async def test_empty_body(client: httpx.AsyncClient) -> None:
    await _rejected(client, b"", 400)


async def test_wrong_resource_type_for_url(client: httpx.AsyncClient) -> None:
    await _rejected(client, b'{"resourceType": "Goal"}', 400, expression="resourceType")


async def test_missing_resource_type(client: httpx.AsyncClient) -> None:
    await _rejected(client, b'{"name": []}', 400, expression="resourceType")


async def test_unknown_resource_type(client: httpx.AsyncClient) -> None:
    await _rejected(client, b'{"resourceType": "Unicorn"}', 404, url="/fhir/Unicorn")


async def test_bad_id(client: httpx.AsyncClient) -> None:
    before = await history_count(client, "Patient")
    bad = "a" * 65
    outcome(await client.put(f"/fhir/Patient/{bad}", json=patient(id=bad)), 400)
    outcome(await client.get("/fhir/Patient/has_underscore"), 400)
    assert await history_count(client, "Patient") == before


async def test_body_over_limit(client: httpx.AsyncClient) -> None:
    limit = client._transport.app.state.settings.max_body_bytes  # type: ignore[attr-defined]
    big = b'{"resourceType":"Patient","name":[{"text":"' + b"x" * limit + b'"}]}'
    await _rejected(client, big, 413, code="too-costly")


async def test_deeply_nested(client: httpx.AsyncClient) -> None:
    nested = b'{"resourceType":"Patient","extension":' + b'[{"extension":' * 200 + b"[]" + b"}]" * 200 + b"}"
    await _rejected(client, nested, 400)


async def test_invalid_utf8(client: httpx.AsyncClient) -> None:
    await _rejected(client, b'{"resourceType":"Patient","name":[{"text":"\xff\xfe"}]}', 400)


async def test_unknown_element(client: httpx.AsyncClient) -> None:
    await _rejected(client, b'{"resourceType":"Patient","favouriteColour":"blue"}', 400,
                    expression="Patient.favouriteColour", code="structure")


async def test_wrong_data_type(client: httpx.AsyncClient) -> None:
    await _rejected(client, b'{"resourceType":"Patient","active":"yes"}', 400, expression="Patient.active")


async def test_nested_wrong_type(client: httpx.AsyncClient) -> None:
    await _rejected(client, b'{"resourceType":"Patient","name":[{"given":"Kari"}]}', 400,
                    expression="Patient.name[0].given")


@pytest.mark.parametrize("date", ["1985-13-01", "1985-02-30", "85-01-01", "1985-1-1"])
async def test_bad_date(client: httpx.AsyncClient, date: str) -> None:
    body = b'{"resourceType":"Patient","birthDate":"' + date.encode() + b'"}'
    await _rejected(client, body, 400, expression="Patient.birthDate")


async def test_unsupported_media_type(client: httpx.AsyncClient) -> None:
    await _rejected(client, b"<Patient xmlns='http://hl7.org/fhir'/>", 415,
                    headers={"Content-Type": "application/fhir+xml"})


async def test_not_acceptable(client: httpx.AsyncClient) -> None:
    outcome(await client.get("/fhir/metadata", params={"_format": "xml"}), 406)
    outcome(await client.get("/fhir/metadata", headers={"Accept": "application/fhir+xml"}), 406)
    ok = await client.get("/fhir/metadata", headers={"Accept": "application/fhir+json;q=0.9, */*;q=0.1"})
    assert ok.status_code == 200


async def test_method_not_allowed(client: httpx.AsyncClient) -> None:
    outcome(await client.patch("/fhir/Patient/abc", content=b"[]"), 405)


async def test_unknown_path(client: httpx.AsyncClient) -> None:
    outcome(await client.get("/fhir/Patient/a/b/c/d/e"), 404)


async def test_contained_resource_of_unknown_type(client: httpx.AsyncClient) -> None:
    body = b'{"resourceType":"Patient","contained":[{"resourceType":"Unicorn","id":"u"}]}'
    await _rejected(client, body, 400)
