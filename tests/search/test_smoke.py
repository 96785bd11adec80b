"""First end-to-end checks of the search service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tests.search.factories import FNR, careplan, patient, store_all
from tests.search.helpers import bundle, ids, service


async def test_token_and_chain_and_find_matches(session: AsyncSession) -> None:
    await store_all(session, [
        patient("p1", fnr="17058012345", family="Bjørnstad"),
        patient("p2", fnr="01018012345", family="Hansen"),
        careplan("cp1", subject="Patient/p1"),
        careplan("cp2", subject="Patient/p2", status="draft"),
    ])
    assert await ids(session, "Patient", f"identifier={FNR}|17058012345") == {"p1"}
    assert await ids(session, "CarePlan", "status=active") == {"cp1"}
    assert await ids(session, "CarePlan",
                     f"subject:Patient.identifier={FNR}|01018012345") == {"cp2"}
    assert await ids(session, "Patient", "family=bjorn") == {"p1"}
    b = await bundle(session, "CarePlan", "_include=CarePlan:subject&status=active")
    assert [(e["resource"]["id"], e["search"]["mode"]) for e in b["entry"]] == [
        ("cp1", "match"), ("p1", "include")]
    assert b["total"] == 1
    rows = await service(session).find_matches("Patient", f"identifier={FNR}|17058012345")
    assert [r.res_id for r in rows] == ["p1"]
