"""The read front (app/api/front.py) and the lean reader behave exactly like the FastAPI routes."""

from __future__ import annotations

import datetime as dt

import httpx

from app.api.front import _read_key, core_read_types
from app.config import Settings
from app.db.engine import Database
from app.db.lean import lean_for
from app.fhir.models import SERVED
from app.main import create_app
from app.repository.resources import ResourceRepository
from app.services.context import SYSTEM
from tests.factories.resources import patient, uid
from tests.helpers import outcome


def _scope(path: str, method: str = "GET") -> dict[str, object]:
    return {"type": "http", "method": method, "path": path, "root_path": ""}


def test_front_takes_only_core_reads_and_vreads() -> None:
    types = frozenset({"Patient", "CarePlan"})
    assert _read_key(_scope("/fhir/Patient/p1"), types) == ("Patient", "p1", None)
    assert _read_key(_scope("/fhir/Patient/p1/_history/2"), types) == ("Patient", "p1", "2")
    for path in ("/fhir/Patient/_history", "/fhir/Patient/$everything", "/fhir/Patient/p1/$validate",
                 "/fhir/Patient/p1/_history", "/fhir/Patient/p1/Consent", "/fhir/Patient",
                 "/fhir/AuditEvent/a1", "/fhir/Patient/p1/", "/other/Patient/p1"):
        assert _read_key(_scope(path), types) is None, path
    assert _read_key(_scope("/fhir/Patient/p1", "HEAD"), types) is None
    assert _read_key({**_scope("/fhir/Patient/p1"), "root_path": "/api"}, types) is None


def test_types_owned_by_other_routers_are_left_to_them() -> None:
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", env="test"))
    types = core_read_types(list(app.routes), SERVED)
    assert "CarePlan" in types and "Patient" in types
    assert not types & {"AuditEvent", "StructureDefinition", "ValueSet", "CodeSystem", "SearchParameter"}


async def test_read_behaviour_through_the_front(client: httpx.AsyncClient) -> None:
    created = (await client.post("/fhir/Patient", json=patient())).json()
    url = f"/fhir/Patient/{created['id']}"
    resp = await client.get(url)
    assert resp.status_code == 200 and resp.json() == created
    assert resp.headers["etag"] == 'W/"1"' and resp.headers["last-modified"].endswith("GMT")
    assert (await client.get(url, headers={"If-None-Match": 'W/"1"'})).status_code == 304
    assert (await client.get(url, params={"_elements": "gender"})).json().get("name") is None
    assert b"\n" in (await client.get(url, params={"_pretty": "true"})).content
    outcome(await client.get(url, params={"_format": "xml"}), 406)
    outcome(await client.get(url, params={"_summary": "count"}), 400)
    outcome(await client.get(f"/fhir/Patient/{uid()}"), 404, code="not-found")
    outcome(await client.get(f"{url}/_history/x"), 400)
    outcome(await client.get(f"{url}/_history/9"), 404, code="not-found")
    assert (await client.get(f"{url}/_history/1")).json() == created
    assert (await client.delete(url)).status_code in (200, 204)
    outcome(await client.get(url), 410)
    outcome(await client.get(f"{url}/_history/2"), 410)
    assert (await client.head(url)).status_code == 405  # HEAD was never routed to read


async def test_lean_read_returns_typed_detached_rows(db: Database, client: httpx.AsyncClient) -> None:
    created = (await client.post("/fhir/Patient", json=patient())).json()
    async with db.session(write=False) as session:
        repo = ResourceRepository(session, SYSTEM)
        row = await repo.get_current("Patient", created["id"])
        version = await repo.get_version("Patient", created["id"], 1)
        assert not session.in_transaction()  # nothing ran on the session's connection
    assert row is not None and version is not None
    assert isinstance(row.last_updated, dt.datetime) and row.deleted is False
    assert isinstance(row.content, bytes) and row.version_id == 1 and row.pk == version.res_pk
    assert version.method == "POST" and version.content == row.content


async def test_write_sessions_read_their_own_writes(db: Database, client: httpx.AsyncClient) -> None:
    created = (await client.post("/fhir/Patient", json=patient())).json()
    async with db.session(write=True) as session:
        repo = ResourceRepository(session, SYSTEM)
        assert lean_for(session) is None
        assert await repo.get_current("Patient", created["id"]) is not None
