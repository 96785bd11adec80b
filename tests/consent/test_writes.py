"""Writes: a care relationship, the patient's own Consents, joining a patient's care; refusals
answer 403 when the actor may see the resource and 404 when it may not."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select

from app.db.audit_tables import AuditEventRow
from app.db.engine import Database
from app.fhir.errors import FhirError
from app.repository.resources import ResourceRepository
from app.services.bundles import BundleService
from app.services.context import SYSTEM
from app.services.crud import ResourceService
from tests.consent import harness as H
from tests.consent import world_fixed
from tests.consent.world import FNR, Actor, ConsentM, World, consent_res, ref, render, store, uid


async def setup(db: Database) -> tuple[World, dict[str, Actor], dict[str, str]]:
    w, actors, ids = world_fixed.build()
    await store(db, render(w))
    return w, actors, ids


def goal(patient: str, gid: str | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Goal", "lifecycleStatus": "active",
                           "description": {"text": "Bo i egen leilighet"},
                           "subject": ref("Patient", patient)}
    return {**res, "id": gid} if gid else res


async def write(db: Database, actor: Actor, op: str, res_type: str, body: Any = None,
                res_id: str | None = None, **kw: Any) -> int:
    """Run one write as the actor; the HTTP status it answers."""
    async with db.session(write=True) as session:
        svc = ResourceService(session, actor.context(), db.settings)
        try:
            if op == "create":
                r = await svc.create(res_type, body, **kw)
            elif op == "update":
                r = await svc.update(res_type, res_id or body["id"], body, **kw)
            elif op == "delete":
                r = await svc.delete(res_type, res_id or "")
            elif op == "cond-update":
                r = await svc.conditional_update(res_type, kw.pop("query"), body, **kw)
            else:
                r = await svc.conditional_delete(res_type, kw.pop("query"))
        except FhirError as exc:
            return exc.status
        return r.status


async def test_care_team_members_write_and_outsiders_get_403_or_404(fresh_db: Database) -> None:
    _, a, ids = await setup(fresh_db)
    kari = ids["kari"]
    assert await write(fresh_db, a["team-lege"], "create", "Goal", goal(kari)) == 201
    assert await write(fresh_db, a["team-sykepleier"], "update", "Goal",
                       goal(kari, ids["kari-goal"])) == 200
    # Outsiders: the goal is hidden from them, so the refusal is 404, never 403.
    for name in ("utenfor-teamet", "reservert", "legevakt-nod", "admin", "parorende-med-samtykke"):
        assert await write(fresh_db, a[name], "update", "Goal", goal(kari, ids["kari-goal"])) == 404
        assert await write(fresh_db, a[name], "delete", "Goal", res_id=ids["kari-goal"]) == 404
        assert await write(fresh_db, a[name], "create", "Goal", goal(kari)) == 403
    # A refused PUT answers the same for a hidden id and an unused one: ids are no oracle.
    assert await write(fresh_db, a["utenfor-teamet"], "update", "Goal",
                       goal(kari, uid("ubrukt"))) == 404
    # NAV may see part of the IP, so its refused write is 403.
    plan = await H.read(fresh_db, a["nav"].context(), "CarePlan", ids["kari-ip"])
    assert isinstance(plan, dict)
    assert await write(fresh_db, a["nav"], "delete", "CarePlan", res_id=ids["kari-ip"]) == 403
    # Moving a resource into a patient one cannot write for is refused too.
    assert await write(fresh_db, a["team-lege"], "update", "Goal",
                       goal(ids["ola"], ids["kari-goal"])) == 403


async def test_the_patient_writes_own_consents_only(fresh_db: Database) -> None:
    _, a, ids = await setup(fresh_db)
    kari = ids["kari"]
    nav_org = a["nav"].org
    assert nav_org is not None
    objection = consent_res(ConsentM(uid("c"), kari, "deny", ("Organization", nav_org.id)))
    objection.pop("id")
    assert await write(fresh_db, a["pasient"], "create", "Consent", objection) == 201
    assert await write(fresh_db, a["pasient"], "create", "Goal", goal(kari)) == 403
    other = consent_res(ConsentM(uid("c"), ids["ola"], "permit", ("Organization", nav_org.id)))
    assert await write(fresh_db, a["pasient"], "update", "Consent", other) == 404  # a PUT: no oracle
    other.pop("id")
    assert await write(fresh_db, a["pasient"], "create", "Consent", other) == 403
    # The objection now wins over the earlier permit: NAV sees nothing of Kari.
    assert await H.read(fresh_db, a["nav"].context(), "CarePlan", ids["kari-ip"]) == 404


async def test_conditional_writes_never_reveal_hidden_matches(fresh_db: Database) -> None:
    _, a, ids = await setup(fresh_db)
    outsider = a["utenfor-teamet"]
    query = f"_id={ids['kari-goal']}"
    # Conditional delete: no visible match, nothing deleted.
    assert await write(fresh_db, outsider, "cond-delete", "Goal", query=query) == 200
    assert isinstance(await H.read(fresh_db, a["team-lege"].context(), "Goal", ids["kari-goal"]),
                      dict)
    # Conditional update with no visible match creates, and cannot take over the hidden id.
    assert await write(fresh_db, outsider, "cond-update", "Goal", goal(ids["kari"]),
                       query=query) == 403
    assert await write(fresh_db, outsider, "cond-update", "Goal",
                       goal(ids["kari"], ids["kari-goal"]), query=query) == 404
    # Conditional create: a hidden match is not returned (a visible one is).
    async with fresh_db.session(write=True) as session:
        svc = ResourceService(session, a["team-lege"].context(), fresh_db.settings)
        found = await svc.create("Goal", goal(ids["kari"]), if_none_exist=query)
    assert found.status == 200 and found.res_id == ids["kari-goal"]
    assert await write(fresh_db, outsider, "create", "Goal", goal(ids["ola"]),
                       if_none_exist=query) == 403


async def test_joining_a_patients_care_establishes_the_relationship(fresh_db: Database) -> None:
    _, a, ids = await setup(fresh_db)
    outsider, kari = a["utenfor-teamet"], ids["kari"]
    assert outsider.prac is not None
    assert await H.read(fresh_db, outsider.context(), "CarePlan", ids["kari-kp"]) == 404
    someone_else: dict[str, Any] = {"resourceType": "CareTeam", "status": "active",
                                    "subject": ref("Patient", kari),
                    "participant": [{"member": ref("Practitioner", outsider.prac.id)},
                                    {"member": ref("Organization", uid("annen"))}]}
    assert await write(fresh_db, outsider, "create", "CareTeam", someone_else) == 403
    only_me = {**someone_else, "participant": someone_else["participant"][:1]}
    assert await write(fresh_db, outsider, "create", "CareTeam", only_me) == 201
    assert isinstance(await H.read(fresh_db, outsider.context(), "CarePlan", ids["kari-kp"]), dict)
    async with fresh_db.session(write=False) as session:
        events = (await session.execute(select(AuditEventRow.content))).scalars().all()
    joined = [orjson.loads(e) for e in events if b"care-relationship-established" in e]
    assert len(joined) == 1 and f"Patient/{kari}" in orjson.dumps(joined[0]).decode()
    assert {"system": "https://fellesplan.no/fhir/CodeSystem/audit-hendelse",
            "code": "care-relationship-established"} in joined[0]["subtype"]


async def test_an_objection_blocks_joining(fresh_db: Database) -> None:
    _, a, ids = await setup(fresh_db)
    tsb = a["reservert"]
    assert tsb.org is not None
    team = {"resourceType": "CareTeam", "status": "active", "subject": ref("Patient", ids["kari"]),
            "participant": [{"member": ref("Organization", tsb.org.id)}]}
    assert await write(fresh_db, tsb, "create", "CareTeam", team) == 403


async def test_a_new_patient_team_and_plan_in_one_transaction(fresh_db: Database) -> None:
    _, a, _ids = await setup(fresh_db)
    doc = a["utenfor-teamet"]
    assert doc.prac is not None
    entries = [
        {"fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
         "resource": {"resourceType": "Patient", "name": [{"family": "Ny"}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222",
         "resource": {"resourceType": "CareTeam", "status": "active",
                      "subject": {"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"},
                      "participant": [{"member": ref("Practitioner", doc.prac.id)}]},
         "request": {"method": "POST", "url": "CareTeam"}},
        {"fullUrl": "urn:uuid:33333333-3333-4333-8333-333333333333",
         "resource": {"resourceType": "Goal", "lifecycleStatus": "active",
                      "description": {"text": "mål"},
                      "subject": {"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"}},
         "request": {"method": "POST", "url": "Goal"}},
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    async with fresh_db.session(write=True) as session:
        raw = await BundleService(session, doc.context(), fresh_db.settings).process(bundle)
    statuses = [e["response"]["status"][:3] for e in orjson.loads(raw)["entry"]]
    assert statuses == ["201", "201", "201"]


@pytest.mark.parametrize("actor", ["utenfor-teamet", "nav", "parorende-med-samtykke", "admin"])
async def test_batch_entries_are_each_decided(fresh_db: Database, actor: str) -> None:
    _, a, ids = await setup(fresh_db)
    entries = [{"request": {"method": "GET", "url": f"Goal/{ids['kari-goal']}"}},
               {"request": {"method": "GET", "url": f"CarePlan/{ids['kari-kp']}"}},
               {"request": {"method": "GET", "url": f"CarePlan?_id={ids['kari-kp']}"}},
               {"resource": goal(ids["kari"], ids["kari-goal"]),
                "request": {"method": "PUT", "url": f"Goal/{ids['kari-goal']}"}}]
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": entries}
    async with fresh_db.session(write=True) as session:
        raw = await BundleService(session, a[actor].context(), fresh_db.settings).process(bundle)
    answer = orjson.loads(raw)["entry"]
    kp_visible = actor == "parorende-med-samtykke"
    assert answer[0]["response"]["status"].startswith("404")
    assert answer[1]["response"]["status"].startswith("200" if kp_visible else "404")
    found = answer[2].get("resource", {}).get("entry") or []
    assert len(found) == (1 if kp_visible else 0)
    assert answer[3]["response"]["status"].startswith("404")


async def test_a_service_finds_a_patient_by_national_identifier_only(fresh_db: Database) -> None:
    _, a, ids = await setup(fresh_db)
    outsider, nav = a["utenfor-teamet"], a["nav"]
    fnr = await _fnr(fresh_db, ids["kari"])
    exact = [("identifier", f"{FNR}|{fnr}")]
    found = await H.search(fresh_db, outsider.context(), "Patient", exact)
    assert not isinstance(found, int) and [r["id"] for r in found[1]] == [ids["kari"]]
    for who, params in ((outsider, [("identifier", fnr)]), (outsider, [("name", "Nordmann")]),
                        (nav, exact), (a["parorende-uten-samtykke"], exact)):
        assert await H.search(fresh_db, who.context(), "Patient", params) in ((0, []), 403)
    # Registering the same person again finds the existing Patient instead of a duplicate.
    async with fresh_db.session(write=True) as session:
        svc = ResourceService(session, outsider.context(), fresh_db.settings)
        got = await svc.create("Patient", {"resourceType": "Patient", "identifier": [
            {"system": FNR, "value": fnr}]}, if_none_exist=f"identifier={FNR}|{fnr}")
    assert got.status == 200 and got.res_id == ids["kari"]
    # The patient's objection stops the objected-to service from finding them.
    tsb = a["reservert"]
    assert await H.search(fresh_db, tsb.context(), "Patient", exact) == (0, [])


async def _fnr(db: Database, patient: str) -> str:
    async with db.session(write=False) as session:
        row = await ResourceRepository(session, SYSTEM).get_current("Patient", patient)
    assert row is not None and row.content is not None
    return str(orjson.loads(row.content)["identifier"][0]["value"])


async def test_consents_nested_deeper_than_the_index_are_refused(fresh_db: Database) -> None:
    _, a, ids = await setup(fresh_db)
    nav = a["nav"].org
    assert nav is not None
    deep = consent_res(ConsentM(uid("c"), ids["kari"], "deny", ("Organization", nav.id)))
    deep.pop("id")
    node = deep["provision"]
    for _ in range(4):  # the actor ends up at level 5, below what the aktor index reaches
        node["provision"] = [{"type": "permit"}]
        node = node["provision"][0]
    assert await write(fresh_db, a["pasient"], "create", "Consent", deep) == 422


async def test_a_permit_consent_never_grants_writes(fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    nav = a["nav"].org
    assert nav is not None
    w.consents.append(ConsentM(uid("c"), ids["kari"], "permit", ("Organization", nav.id),
                               ("Goal",)))
    await store(fresh_db, render(w))
    assert isinstance(await H.read(fresh_db, a["nav"].context(), "Goal", ids["kari-goal"]), dict)
    assert await write(fresh_db, a["nav"], "update", "Goal", goal(ids["kari"], ids["kari-goal"])) == 403
    assert await write(fresh_db, a["nav"], "delete", "Goal", res_id=ids["kari-goal"]) == 403
