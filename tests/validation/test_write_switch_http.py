"""FELLESPLAN_VALIDATION_ON_WRITE: the benchmark's switch skips profiles, never structure."""

from __future__ import annotations

import httpx
import pytest

from app.db.engine import Database
from app.main import create_app
from tests.validation.factories import kriseplan

pytestmark = pytest.mark.asyncio(loop_scope="session")
FHIR = {"Content-Type": "application/fhir+json"}


async def _post(db: Database, on: bool, body: object) -> httpx.Response:
    settings = db.settings.model_copy(update={"validation_on_write": on})
    app = create_app(settings, db)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return await c.post("/fhir/CarePlan", json=body, headers=FHIR)


async def test_profile_failure_is_422_with_validation_and_201_without(db: Database) -> None:
    plan = kriseplan()
    del plan["period"]
    refused = await _post(db, True, plan)
    assert refused.status_code == 422
    assert refused.json()["issue"][0]["expression"] == ["CarePlan.period"]
    assert (await _post(db, False, plan)).status_code == 201


async def test_structure_is_still_checked_when_profiles_are_off(db: Database) -> None:
    plan = kriseplan()
    plan["status"] = 17
    resp = await _post(db, False, plan)
    assert resp.status_code == 400
    assert resp.json()["resourceType"] == "OperationOutcome"
