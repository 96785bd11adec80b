"""Profile Questionnaires are stored at start-up, once."""

from __future__ import annotations

import httpx

from app.db.engine import Database
from app.services.seed import seed_profile_resources
from app.validation.hook import profile_questionnaires


async def test_seed_is_idempotent(client: httpx.AsyncClient, db: Database) -> None:
    expected = profile_questionnaires()
    assert expected, "the profiles define at least the kriseplan-skjema Questionnaire"
    await seed_profile_resources(db)
    await seed_profile_resources(db)
    for q in expected:
        resp = await client.get(f"/fhir/Questionnaire/{q['id']}")
        assert resp.status_code == 200
        assert resp.json()["meta"]["versionId"] == "1"
        assert resp.json()["url"] == q["url"]


async def test_profile_questionnaires_are_read_only(client: httpx.AsyncClient, db: Database) -> None:
    await seed_profile_resources(db)
    q = profile_questionnaires()[0]
    stored = (await client.get(f"/fhir/Questionnaire/{q['id']}")).json()
    stored["title"] = "Overskrevet"
    resp = await client.put(f"/fhir/Questionnaire/{q['id']}", json=stored)
    assert resp.status_code == 405 and resp.json()["resourceType"] == "OperationOutcome"
    assert (await client.delete(f"/fhir/Questionnaire/{q['id']}")).status_code == 405
    assert (await client.get(f"/fhir/Questionnaire/{q['id']}")).json()["title"] == q["title"]
