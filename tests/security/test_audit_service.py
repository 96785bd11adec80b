"""The patient-facing access log: who sees which AuditEvents, search parameters, paging."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from app.db.engine import Database
from app.fhir.errors import BadRequest, Forbidden, NotFound
from app.security import hooks
from app.security.audit_service import AuditService
from app.security.interactions import AuditRecord, Interaction
from app.services.context import ActorKind, RequestContext
from tests.security import factories as F
from tests.security.test_audit_content import doctor


def person(patient: str, **kw: Any) -> RequestContext:
    """A citizen matched to one Patient."""
    return RequestContext(kind=ActorKind.PERSON, pid=F.digits(), patient_refs=(patient,),
                          request_id="r", name="Ola Nordmann", **kw)


SUPERVISOR = RequestContext(kind=ActorKind.CLIENT, org="974760673", client_id="helsetilsynet",
                            scopes=frozenset({"fellesplan/audit"}), request_id="t")


async def _seed(db: Database, n: int = 1, **ctx_kw: Any) -> tuple[str, list[str]]:
    """A patient with n plans, each read once by the doctor."""
    pat = f"Patient/{F.uid()}"
    plans = [F.care_plan(F.uid(), pat) for _ in range(n)]
    for plan in plans:
        async with db.session(write=False) as s:
            await hooks.audit(s, doctor(**ctx_kw), AuditRecord(
                Interaction.READ, "CarePlan", 200, [("CarePlan", plan["id"], 1)],
                contents=[plan]))
    return pat, [p["id"] for p in plans]


async def _search(db: Database, ctx: RequestContext, params: list[tuple[str, str]]) -> Any:
    async with db.session(write=False) as s:
        return orjson.loads(await AuditService(s, ctx, db.settings).search(params))


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def _who(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["agent"][0]["who"].get("display", "") for e in bundle["entry"]]


async def test_person_reads_own_log_with_emergency_access(db: Database) -> None:
    pat, _ = await _seed(db, purpose_of_use="ETREAT", break_glass_reason="Bevisstløs")
    bundle = await _search(db, person(pat), [("patient", pat)])
    assert bundle["type"] == "searchset" and len(bundle["entry"]) == 1
    ev = bundle["entry"][0]["resource"]
    assert ev["extension"][0]["valueBoolean"] is True
    div = ev["text"]["div"]
    assert "Kari Lege" in div and "Bergen legevakt" in div and "nødtilgang" in div
    assert "Bevisstløs" in div


async def test_person_without_patient_param_gets_own_log(db: Database) -> None:
    pat, _ = await _seed(db)
    assert len((await _search(db, person(pat), []))["entry"]) == 1


async def test_person_never_sees_another_patients_log(db: Database) -> None:
    mine, _ = await _seed(db)
    theirs, _ = await _seed(db)
    bundle = await _search(db, person(mine), [("patient", theirs)])
    assert bundle.get("entry", []) == []
    other = (await _search(db, SUPERVISOR, [("patient", theirs)]))["entry"][0]["resource"]["id"]
    async with db.session(write=False) as s:
        with pytest.raises(NotFound):
            await AuditService(s, person(mine), db.settings).read(other)
        with pytest.raises(NotFound):
            await AuditService(s, person(mine), db.settings).read("does-not-exist")
        assert orjson.loads(await AuditService(s, person(theirs), db.settings).read(other))


async def test_person_without_patient_sees_nothing(db: Database) -> None:
    await _seed(db)
    ctx = RequestContext(kind=ActorKind.PERSON, pid=F.digits())
    assert (await _search(db, ctx, [])).get("entry", []) == []


async def test_health_personnel_cannot_read_the_log(db: Database) -> None:
    async with db.session(write=False) as s:
        with pytest.raises(Forbidden):
            await AuditService(s, doctor(), db.settings).search([])


async def test_reading_the_log_is_logged(db: Database) -> None:
    pat, _ = await _seed(db)
    await _search(db, person(pat), [("patient", pat)])
    bundle = await _search(db, SUPERVISOR, [("patient", pat)])
    subtypes = [e["resource"]["subtype"][0]["code"] for e in bundle["entry"]]
    assert subtypes[0] == "search-type" and "read" in subtypes  # newest first
    assert "Du" in bundle["entry"][0]["resource"]["text"]["div"]


async def test_paging_and_agent_filter(db: Database) -> None:
    pat, _ = await _seed(db, n=5)
    page1 = await _search(db, SUPERVISOR, [("patient", pat), ("_count", "2"),
                                           ("agent", F.HPR_DOCTOR)])
    assert len(page1["entry"]) == 2
    nxt = next(link["url"] for link in page1["link"] if link["relation"] == "next")
    from urllib.parse import parse_qsl, urlsplit

    page2 = await _search(db, SUPERVISOR, parse_qsl(urlsplit(nxt).query))
    assert len(page2["entry"]) == 2 and not set(_ids(page1)) & set(_ids(page2))
    none = await _search(db, SUPERVISOR, [("patient", pat), ("agent", "000")])
    assert none.get("entry", []) == []


async def test_date_filter(db: Database) -> None:
    pat, _ = await _seed(db)
    assert len((await _search(db, SUPERVISOR, [("patient", pat),
                                               ("date", "ge2020-01-01")]))["entry"]) == 1
    assert (await _search(db, SUPERVISOR, [("patient", pat), ("date", "lt2020-01-01")])
            ).get("entry", []) == []


@pytest.mark.parametrize("params", [[("entity", "x")], [("_count", "x")], [("date", "nope")]])
async def test_bad_parameters(db: Database, params: list[tuple[str, str]]) -> None:
    async with db.session(write=False) as s:
        with pytest.raises(BadRequest):
            await AuditService(s, SUPERVISOR, db.settings).search(params)
