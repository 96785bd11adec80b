"""Refused access attempts leave a trace in the patient's log (for the error handler)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import orjson
from starlette.requests import Request

from app.db.engine import Database
from app.repository import audit as repo
from app.security.refusals import record_refusal
from app.services.context import SYSTEM, RequestContext
from tests.security import factories as F
from tests.security.test_audit_content import doctor


def _request(db: Database, method: str, path: str, ctx: RequestContext | None) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(db=db))
    scope: dict[str, Any] = {"type": "http", "method": method, "path": path, "app": app,
                             "headers": [], "query_string": b"", "state": {}}
    req = Request(scope)
    if ctx is not None:
        req.state.fellesplan_ctx = ctx
    return req


async def _log(db: Database, patient: str) -> list[dict[str, Any]]:
    async with db.session(write=False) as s:
        rows = await repo.search(s, SYSTEM, repo.AuditQuery(patients=(patient,)))
    return [orjson.loads(r.content) for r in rows]


async def test_refused_read_of_hidden_plan_is_in_patients_log(db: Database) -> None:
    pat = f"Patient/{F.uid()}"
    plan = F.care_plan(F.uid(), pat)
    await F.store(db, plan)
    await record_refusal(_request(db, "GET", f"/fhir/CarePlan/{plan['id']}", doctor()), 404)
    (ev,) = await _log(db, pat)
    assert ev["outcome"] == "4" and ev["outcomeDesc"] == "HTTP 404"
    assert "avvist" in ev["text"]["div"] and "Kari Lege" in ev["text"]["div"]


async def test_registry_unauthenticated_and_other_paths_are_not_recorded(db: Database) -> None:
    async with db.session(write=False) as s:
        before = (await repo.head(s, SYSTEM))[0]
    for method, path, ctx in [("GET", "/fhir/Organization/x", doctor()),
                              ("GET", "/fhir/CarePlan/x", None),
                              ("GET", "/fhir/CarePlan/x", SYSTEM),
                              ("GET", "/fhir/metadata", doctor())]:
        await record_refusal(_request(db, method, path, ctx), 403)
    async with db.session(write=False) as s:
        assert (await repo.head(s, SYSTEM))[0] == before


async def test_refused_search_is_recorded_for_supervision(db: Database) -> None:
    async with db.session(write=False) as s:
        before = (await repo.head(s, SYSTEM))[0]
    await record_refusal(_request(db, "GET", "/fhir/Goal", doctor()), 403)
    async with db.session(write=False) as s:
        assert (await repo.head(s, SYSTEM))[0] == before + 1
