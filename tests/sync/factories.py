"""A crisis plan and an individual plan with everything they reference (Fellesplan's own examples)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from app.db.engine import Database
from app.services.context import SYSTEM
from app.services.crud import ResourceService
from tests.factories.bundles import orgnr

EXAMPLES = Path(__file__).resolve().parents[2] / "profiles" / "examples"
FILES = ("Organization-dps", "Organization-kommune-rus-psykisk", "Organization-nav", "Patient-kari",
         "Practitioner-lege-hansen", "RelatedPerson-bror-per", "CareTeam-ansvarsgruppe-kari",
         "Consent-samtykke-kari", "CarePlan-kriseplan-kari", "CarePlan-individuell-plan-kari")
PLANS = (("CarePlan", "kriseplan-kari"), ("CarePlan", "individuell-plan-kari"))


def goal() -> dict[str, Any]:
    """The goal the individual plan points to."""
    return {"resourceType": "Goal", "id": "egen-bolig", "lifecycleStatus": "active",
            "description": {"text": "Egen bolig innen ett år"}, "subject": {"reference": "Patient/kari"}}


def plan_set() -> list[dict[str, Any]]:
    """Every resource of the two plans, dependencies first."""
    out = [json.loads((EXAMPLES / f"{name}.json").read_text("utf-8")) for name in FILES]
    # The examples give NAV the same orgnr as the DPS; business identifiers must be unique.
    out[2]["identifier"][0]["value"] = orgnr(random.Random(9))
    return [*out[:6], goal(), *out[6:]]


async def load(db: Database, resources: list[dict[str, Any]]) -> None:
    """Write resources with their ids through the normal write path (SYSTEM)."""
    async with db.session(write=True) as s:
        service = ResourceService(s, SYSTEM, db.settings)
        for res in resources:
            await service.update(res["resourceType"], res["id"], dict(res))


async def current(db: Database, res_type: str, res_id: str) -> dict[str, Any] | None:
    """The current content of one resource."""
    from app.repository.resources import ResourceRepository

    async with db.session(write=False) as s:
        row = await ResourceRepository(s, SYSTEM).get_current(res_type, res_id)
    if row is None or row.content is None:
        return None
    body: dict[str, Any] = json.loads(row.content)
    return body
