"""Emergency access: health personnel with ETREAT/BTG and a reason read the Kriseplan and the
Patient only; the access is audited as emergency in the patient's log; an objection still wins."""

from __future__ import annotations

import dataclasses

import orjson
from sqlalchemy import select

from app.db.audit_tables import AuditEventRow
from app.db.engine import Database
from app.services.context import ActorKind, CareRelationship
from tests.consent import harness as H
from tests.consent import world_fixed
from tests.consent.world import ConsentM, render, store, uid

EMERGENCY_EXT = "https://fellesplan.no/fhir/StructureDefinition/emergency-access"


async def test_emergency_reads_crisis_plan_and_patient_only(fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    await store(fresh_db, render(w))
    ctx = a["legevakt-nod"].context()
    assert isinstance(await H.read(fresh_db, ctx, "CarePlan", ids["ola-kp"]), dict)
    assert isinstance(await H.read(fresh_db, ctx, "Patient", ids["ola"]), dict)
    for t, i in (("CarePlan", ids["kari-ip"]), ("Goal", ids["ola-goal"]),
                 ("RelatedPerson", ids["venn"])):
        assert await H.read(fresh_db, ctx, t, i) == 404
    async with fresh_db.session(write=False) as session:
        events = [orjson.loads(c) for c in
                  (await session.execute(select(AuditEventRow.content))).scalars()]
    flagged = [e for e in events if {"url": EMERGENCY_EXT, "valueBoolean": True} in e["extension"]
               and f"Patient/{ids['ola']}" in orjson.dumps(e).decode()]
    assert flagged and all(e["purposeOfEvent"][0]["text"] for e in flagged)


async def test_emergency_needs_purpose_reason_and_health_personnel(fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    await store(fresh_db, render(w))
    base = a["legevakt-nod"].context()
    for ctx in (dataclasses.replace(base, break_glass_reason=None),
                dataclasses.replace(base, purpose_of_use="TREAT"),
                dataclasses.replace(base, kind=ActorKind.STAFF, hpr=None),
                dataclasses.replace(base, service_type=None)):
        got = await H.read(fresh_db, ctx, "CarePlan", ids["ola-kp"])
        assert got in (403, 404), ctx
    # The break-glass scope stands in for the purpose when the token carries it.
    scoped = dataclasses.replace(base, purpose_of_use=None,
                                 scopes=base.scopes | {"fellesplan/break-glass"})
    assert isinstance(await H.read(fresh_db, scoped, "CarePlan", ids["ola-kp"]), dict)


async def test_an_objection_wins_over_emergency(fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    org = a["legevakt-nod"].org
    assert org is not None
    w.consents.append(ConsentM(uid("nei"), ids["ola"], "deny", ("Organization", org.id)))
    await store(fresh_db, render(w))
    ctx = a["legevakt-nod"].context()
    assert await H.read(fresh_db, ctx, "CarePlan", ids["ola-kp"]) == 404
    assert await H.read(fresh_db, ctx, "Patient", ids["ola"]) == 404


async def test_emergency_is_limited_to_the_patients_the_token_names(fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    resources = render(w)
    pid = next(r for r in resources if r["id"] == ids["ola"])["identifier"][0]["value"]
    await store(fresh_db, resources)
    ctx = dataclasses.replace(a["legevakt-nod"].context(),
                              care=CareRelationship(purpose_of_use="ETREAT", patients=(pid,)))
    assert isinstance(await H.read(fresh_db, ctx, "CarePlan", ids["ola-kp"]), dict)
    assert await H.read(fresh_db, ctx, "CarePlan", ids["kari-kp"]) == 404
    found = await H.search(fresh_db, ctx, "CarePlan", [])
    assert not isinstance(found, int) and [r["id"] for r in found[1]] == [ids["ola-kp"]]
