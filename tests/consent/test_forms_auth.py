"""Plans from forms under authentication: a care-team doctor persists an extracted Kriseplan."""

from __future__ import annotations

import httpx

from app.db.engine import Database
from app.main import create_app
from app.repository.resources import ResourceRepository
from app.services.context import SYSTEM
from tests.consent.test_http import auth_db, token, world  # noqa: F401 (auth_db is a fixture)
from tests.forms.factories import kriseplan_response, seed_form

JSON = {"Content-Type": "application/fhir+json"}


async def test_team_doctor_persists_extracted_plan_with_provenance(auth_db: Database) -> None:  # noqa: F811
    _, a, ids = await world(auth_db)
    await seed_form(auth_db)
    doc, outsider = a["team-lege"], a["utenfor-teamet"]
    assert doc.prac is not None
    qr = kriseplan_response(f"Patient/{ids['kari']}", author={"reference": f"Practitioner/{doc.prac.id}"})
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "questionnaire-response", "resource": qr}, {"name": "persist", "valueBoolean": True}]}
    app = create_app(auth_db.settings, auth_db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/fhir") as c:
        refused = await c.post("/QuestionnaireResponse/$extract", json=body,
                               headers={**JSON, **token(outsider)})
        assert refused.status_code in (403, 404), refused.text
        resp = await c.post("/QuestionnaireResponse/$extract", json=body, headers={**JSON, **token(doc)})
        assert resp.status_code == 200, resp.text
        result = resp.json()["parameter"][0]["resource"]
        plan_loc, prov_loc = (e["response"]["location"] for e in result["entry"])
        assert plan_loc.startswith("CarePlan/") and prov_loc.startswith("Provenance/")
        plan = await c.get("/" + plan_loc.split("/_history")[0], headers=token(doc))
        assert plan.status_code == 200 and plan.json()["subject"]["reference"] == f"Patient/{ids['kari']}"
    async with auth_db.session(write=False) as s:  # hidden from clients: read it as the server
        prov_id = prov_loc.split("/")[1]
        row = await ResourceRepository(s, SYSTEM).get_current("Provenance", prov_id)
        assert row is not None and plan_loc.encode() in (row.content or b"")
