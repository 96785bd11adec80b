"""Every entry is authorised as if it were its own request (the security hooks run per entry)."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import func, select

from app.db.audit_tables import AuditEventRow
from app.db.engine import Database
from app.fhir.errors import Forbidden
from app.services.bundles import BundleService
from app.services.context import ActorKind, RequestContext
from tests.factories.bundles import bundle, entry
from tests.factories.resources import patient, uid

# A client whose token carries no scope at all: every interaction is refused.
NO_SCOPES = RequestContext(kind=ActorKind.CLIENT, request_id="t", client_id="no-scopes")
OPEN = RequestContext(kind=ActorKind.OPEN, request_id="t")


def audit_event() -> dict[str, object]:
    return {"resourceType": "AuditEvent", "type": {"code": "rest"}, "recorded": "2026-11-01T10:00:00Z",
            "agent": [{"requestor": True}], "source": {"observer": {"display": "x"}}}


async def test_transaction_entries_are_each_authorised(db: Database) -> None:
    body = bundle("transaction", [entry(patient(), "POST", "Patient")])
    async with db.session(write=True) as session:
        with pytest.raises(Forbidden) as info:
            await BundleService(session, NO_SCOPES, db.settings).process(body)
    assert info.value.issues[0].expression == ("Bundle.entry[0]",)


async def test_batch_entries_are_each_authorised(db: Database) -> None:
    pid = uid()
    body = bundle("batch", [entry(patient(id=pid), "PUT", f"Patient/{pid}"),
                            entry(None, "GET", f"Patient/{pid}"),
                            entry(None, "GET", "Patient?gender=female")])
    async with db.session(write=True) as session:
        answer = orjson.loads(await BundleService(session, NO_SCOPES, db.settings).process(body))
    assert [e["response"]["status"] for e in answer["entry"]][:2] == ["403 Forbidden"] * 2


async def test_the_audit_log_cannot_be_written_through_a_bundle(db: Database) -> None:
    body = bundle("batch", [entry(audit_event(), "POST", "AuditEvent"),
                            entry(patient(), "POST", "Patient")])
    async with db.session(write=True) as session:
        answer = orjson.loads(await BundleService(session, OPEN, db.settings).process(body))
    assert [e["response"]["status"] for e in answer["entry"]] == ["403 Forbidden", "201 Created"]
    tx = bundle("transaction", body["entry"])
    async with db.session(write=True) as session:
        with pytest.raises(Forbidden):
            await BundleService(session, OPEN, db.settings).process(tx)


# Health personnel acting for a registered service, allowed to create and read patients.
NURSE = RequestContext(kind=ActorKind.HEALTH, request_id="t", hpr="9144900", org="970000038",
                       service_type="phv", scopes=frozenset({"user/Patient.cruds"}))


async def audit_count(db: Database) -> int:
    async with db.session(write=False) as session:
        return int((await session.execute(select(func.count()).select_from(AuditEventRow))).scalar()
                   or 0)


async def test_each_write_in_a_transaction_is_audited(db: Database) -> None:
    before = await audit_count(db)
    body = bundle("transaction", [entry(patient(), "POST", "Patient") for _ in range(3)])
    async with db.session(write=True) as session:
        await BundleService(session, NURSE, db.settings).process(body)
    assert await audit_count(db) == before + 3


async def test_a_refused_batch_entry_leaves_no_audit_of_its_own(db: Database) -> None:
    before = await audit_count(db)
    body = bundle("batch", [entry(patient(), "POST", "Patient"),
                            entry(patient(hairColour="red"), "POST", "Patient"),
                            entry({"resourceType": "Goal", "lifecycleStatus": "active",
                                   "description": {"text": "x"}, "subject": {"reference": "Patient/x"}},
                                  "POST", "Goal")])
    async with db.session(write=True) as session:
        answer = orjson.loads(await BundleService(session, NURSE, db.settings).process(body))
    assert [e["response"]["status"][:3] for e in answer["entry"]] == ["201", "400", "403"]
    assert await audit_count(db) == before + 1
