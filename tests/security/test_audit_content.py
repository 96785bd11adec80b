"""Audit content per interaction (BALP shape), the per-patient split, atomicity and 503."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from app.db.engine import Database
from app.fhir.errors import ServiceUnavailable
from app.fhir.models import validate
from app.repository import audit as repo
from app.security import hooks
from app.security.interactions import AuditRecord, Interaction
from app.services.context import SYSTEM, ActorKind, RequestContext
from tests.security import factories as F

IA = Interaction


def doctor(**kw: Any) -> RequestContext:
    """Health personnel at a registered legevakt."""
    base: dict[str, Any] = {
        "kind": ActorKind.HEALTH, "request_id": "req-1", "pid": "01017012345",
        "hpr": F.HPR_DOCTOR, "org": F.ORG_LEGEVAKT, "org_ref": "Organization/lv",
        "org_name": "Bergen legevakt", "service_type": "legevakt", "client_id": "ehr-dips",
        "scopes": frozenset({"user/*.cruds"}), "purpose_of_use": "TREAT", "name": "Kari Lege",
        "address": "10.0.0.7",
    }
    base.update(kw)
    return RequestContext(**base)


async def _events_for(db: Database, patient: str) -> list[dict[str, Any]]:
    async with db.session(write=False) as s:
        rows = await repo.search(s, SYSTEM, repo.AuditQuery(patients=(patient,), limit=100))
    return [orjson.loads(r.content) for r in rows]


async def _audit_read(db: Database, ctx: RequestContext, rec: AuditRecord) -> None:
    async with db.session(write=False) as s:
        await hooks.audit(s, ctx, rec)


def _refs(ev: dict[str, Any]) -> list[str]:
    return [e["what"]["reference"] for e in ev["entity"] if "reference" in e.get("what", {})]


async def test_search_of_3_plans_of_2_patients_is_in_both_logs(db: Database) -> None:
    p1, p2 = f"Patient/{F.uid()}", f"Patient/{F.uid()}"
    plans = [F.care_plan(F.uid(), p1), F.care_plan(F.uid(), p1), F.care_plan(F.uid(), p2)]
    await F.store(db, *plans)
    rec = AuditRecord(IA.SEARCH_TYPE, "CarePlan", 200, [("CarePlan", p["id"], 1) for p in plans],
                      query="status=active&_count=10")
    await _audit_read(db, doctor(), rec)
    (e1,), (e2,) = await _events_for(db, p1), await _events_for(db, p2)
    assert sorted(_refs(e1)) == sorted([p1, *(f"CarePlan/{p['id']}/_history/1" for p in plans[:2])])
    assert _refs(e2) == [p2, f"CarePlan/{plans[2]['id']}/_history/1"]  # never p1's plans
    for ev in (e1, e2):
        validate("AuditEvent", ev)
        assert ev["action"] == "E" and ev["subtype"][0]["code"] == "search-type"
        assert ev["type"]["code"] == "rest" and ev["outcome"] == "0"
        query = next(e for e in ev["entity"] if e["role"]["code"] == "24")
        assert base64.b64decode(query["query"]) == b"status=active&_count=10"


async def test_agents_source_purpose_and_narrative(db: Database) -> None:
    p = f"Patient/{F.uid()}"
    plan = F.care_plan(F.uid(), p)
    await F.store(db, plan)
    await _audit_read(db, doctor(), AuditRecord(IA.READ, "CarePlan", 200,
                                                [("CarePlan", plan["id"], 1)],
                                                contents=[orjson.dumps(plan)]))
    (ev,) = await _events_for(db, p)
    user, org, client, server = ev["agent"]
    assert user["who"]["identifier"] == {"system": "urn:oid:2.16.578.1.12.4.1.4.4",
                                         "value": F.HPR_DOCTOR}
    assert user["requestor"] is True and user["who"]["display"] == "Kari Lege"
    assert org["who"]["identifier"]["value"] == F.ORG_LEGEVAKT
    assert org["role"][0]["coding"][0]["code"] == "legevakt"
    assert client["who"]["identifier"]["value"] == "ehr-dips"
    assert client["network"]["address"] == "10.0.0.7"
    assert server["type"]["coding"][0]["code"] == "110152"
    assert ev["source"]["observer"]["display"] == "Fellesplan"
    assert ev["purposeOfEvent"][0]["coding"][0]["code"] == "TREAT"
    assert ev["action"] == "R" and ev["extension"][0]["valueBoolean"] is False
    div = ev["text"]["div"]
    for part in ("Kari Lege", F.HPR_DOCTOR, "Bergen legevakt", "legevakt", "åpnet", "plan",
                 "Formål: behandling"):
        assert part in div
    assert "01017012345" not in ev["text"]["div"]  # the doctor's own FNR is not shown


async def test_emergency_access_is_flagged(db: Database) -> None:
    p = f"Patient/{F.uid()}"
    plan = F.care_plan(F.uid(), p)
    await F.store(db, plan)
    ctx = doctor(purpose_of_use="ETREAT", break_glass_reason="Pasient bevisstløs <akutt>")
    await _audit_read(db, ctx, AuditRecord(IA.READ, "CarePlan", 200,
                                           [("CarePlan", plan["id"], 1)]))
    (ev,) = await _events_for(db, p)
    assert ev["extension"][0]["valueBoolean"] is True
    assert ev["purposeOfEvent"][0] == {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
                    "code": "ETREAT"}], "text": "Pasient bevisstløs <akutt>"}
    assert "nødtilgang" in ev["text"]["div"]
    assert "&lt;akutt&gt;" in ev["text"]["div"]  # escaped in XHTML


async def test_patient_read_names_the_patient_once(db: Database) -> None:
    pid = F.uid()
    await F.store(db, F.patient("12345678901", pid))
    await _audit_read(db, doctor(), AuditRecord(IA.READ, "Patient", 200, [("Patient", pid, 1)]))
    (ev,) = await _events_for(db, f"Patient/{pid}")
    assert _refs(ev) == [f"Patient/{pid}/_history/1"]


async def test_empty_search_naming_a_patient_is_logged_for_that_patient(db: Database) -> None:
    pid = F.uid()
    await _audit_read(db, doctor(), AuditRecord(IA.SEARCH_TYPE, "CarePlan", 200, [],
                                                query=f"patient=Patient/{pid}"))
    (ev,) = await _events_for(db, f"Patient/{pid}")
    assert "uten treff" in ev["text"]["div"]


@pytest.mark.parametrize(("interaction", "action"),
                         [(IA.CREATE, "C"), (IA.UPDATE, "U"), (IA.PATCH, "U"), (IA.DELETE, "D")])
async def test_writes_are_audited_in_the_write_transaction(
    db: Database, interaction: Interaction, action: str
) -> None:
    p = f"Patient/{F.uid()}"
    plan = F.care_plan(F.uid(), p)
    await F.store(db, plan)
    async with db.session(write=True) as s:
        await hooks.audit(s, doctor(), AuditRecord(interaction, "CarePlan", 201,
                                                   [("CarePlan", plan["id"], 2)]))
    (ev,) = await _events_for(db, p)
    assert ev["action"] == action and ev["subtype"][0]["code"] == interaction.value


async def test_rolled_back_write_leaves_no_audit(db: Database) -> None:
    p = f"Patient/{F.uid()}"
    with pytest.raises(RuntimeError):
        async with db.session(write=True) as s:
            plan = F.care_plan(F.uid(), p)
            await hooks.audit(s, doctor(), AuditRecord(IA.CREATE, "CarePlan", 201,
                                                       [("CarePlan", plan["id"], 1)],
                                                       contents=[plan]))
            raise RuntimeError("the write failed after auditing")
    assert await _events_for(db, p) == []


async def test_failed_audit_fails_the_write(fresh_db: Database) -> None:
    await _drop_audit(fresh_db)
    plan = F.care_plan(F.uid(), "Patient/x")
    with pytest.raises(ServiceUnavailable):
        async with fresh_db.session(write=True) as s:
            await F.store_in(s, plan)
            await hooks.audit(s, doctor(), AuditRecord(IA.CREATE, "CarePlan", 201,
                                                       [("CarePlan", plan["id"], 1)]))
    async with fresh_db.session(write=False) as s:
        n = (await s.execute(text("SELECT count(*) FROM resources"))).scalar_one()
    assert n == 0


async def test_failed_read_audit_is_503(fresh_db: Database) -> None:
    await _drop_audit(fresh_db)
    with pytest.raises(ServiceUnavailable):
        await _audit_read(fresh_db, doctor(), AuditRecord(IA.READ, "CarePlan", 200,
                                                          [("CarePlan", "x", 1)]))


async def _drop_audit(db: Database) -> None:
    async with db.session(write=True) as s:
        await s.execute(text("DROP TABLE audit_event_index"))


@pytest.mark.parametrize("ctx", [SYSTEM, RequestContext(kind=ActorKind.OPEN)])
async def test_internal_work_is_not_audited(db: Database, ctx: RequestContext) -> None:
    p = f"Patient/{F.uid()}"
    await _audit_read(db, ctx, AuditRecord(IA.SEARCH_TYPE, "CarePlan", 200, [],
                                           query=f"patient={p}"))
    assert await _events_for(db, p) == []


async def test_registry_reads_are_not_audited_but_writes_are(db: Database) -> None:
    org = F.organization(F.digits(9), "phv", res_id=F.uid())
    async with db.session(write=False) as s:
        before = (await repo.head(s, SYSTEM))[0]
    await _audit_read(db, doctor(), AuditRecord(IA.READ, "Organization", 200,
                                                [("Organization", org["id"], 1)]))
    async with db.session(write=False) as s:
        assert (await repo.head(s, SYSTEM))[0] == before
    async with db.session(write=True) as s:
        await hooks.audit(s, doctor(), AuditRecord(IA.CREATE, "Organization", 201,
                                                   [("Organization", org["id"], 1)],
                                                   contents=[org]))
    async with db.session(write=False) as s:
        assert (await repo.head(s, SYSTEM))[0] == before + 1


async def test_deleted_resource_patient_comes_from_last_version(db: Database) -> None:
    from tests.security.factories import delete

    p = f"Patient/{F.uid()}"
    plan = F.care_plan(F.uid(), p)
    await F.store(db, plan)
    await delete(db, "CarePlan", plan["id"])
    async with db.session(write=True) as s:
        await hooks.audit(s, doctor(), AuditRecord(IA.DELETE, "CarePlan", 204,
                                                   [("CarePlan", plan["id"], 2)]))
    (ev,) = await _events_for(db, p)
    assert ev["action"] == "D" and "slettet" in ev["text"]["div"]
