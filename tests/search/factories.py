"""Factories: functions that build resources (bokmål content) and store them through the
resource repository, so the real write path indexes them."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.repository.resources import NewVersion, ResourceRepository
from app.services.context import SYSTEM

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"
HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
VOLVEN_9602 = "urn:oid:2.16.578.1.12.4.1.1.9602"
_ids = itertools.count(1)


def patient(pid: str | None = None, *, family: str = "Nordmann", given: str = "Ola",
            birth: str | None = "1980-05-17", fnr: str | None = None, **extra: Any
            ) -> dict[str, Any]:
    """A Patient."""
    res: dict[str, Any] = {"resourceType": "Patient", "id": pid or f"p{next(_ids)}",
                           "name": [{"family": family, "given": [given]}]}
    if birth:
        res["birthDate"] = birth
    if fnr:
        res["identifier"] = [{"system": FNR, "value": fnr}]
    res.update(extra)
    return res


def careplan(cid: str | None = None, *, subject: str = "Patient/p1", status: str = "active",
             category: str = "A01-2", period: dict[str, str] | None = None, **extra: Any
             ) -> dict[str, Any]:
    """A kriseplan CarePlan."""
    res: dict[str, Any] = {
        "resourceType": "CarePlan", "id": cid or f"cp{next(_ids)}", "status": status,
        "intent": "plan", "subject": {"reference": subject},
        "category": [{"coding": [{"system": VOLVEN_9602, "code": category,
                                  "display": "Kriseplan"}]}],
        "title": "Kriseplan",
    }
    if period:
        res["period"] = period
    res.update(extra)
    return res


async def store(session: AsyncSession, resource: dict[str, Any],
                when: dt.datetime | None = None) -> int:
    """Insert a resource through the repository (which writes its index rows); returns pk."""
    when = when or dt.datetime(2024, 1, 1, 12, 0, 0)
    repo = ResourceRepository(session, SYSTEM)
    return await repo.insert_new(NewVersion(
        res_type=resource["resourceType"], res_id=resource["id"], version_id=1,
        last_updated=when, method="POST", content=orjson.dumps(resource), resource=resource,
    ))


async def store_all(session: AsyncSession, resources: list[dict[str, Any]]) -> list[int]:
    """Store several resources in order."""
    return [await store(session, r) for r in resources]
