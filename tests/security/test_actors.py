"""Actor model: kinds from claims, organisation service type, person matching, scopes."""

from __future__ import annotations

from typing import Any

import pytest

from app.db.engine import Database
from app.security import claims as C
from app.security.actors import Directory, build_context, classify
from app.security.scopes import expand
from app.services.context import ActorKind
from tests.security import factories as F


@pytest.mark.parametrize(
    ("ids", "scope", "kind"),
    [
        ({"pid": "1", "hpr": "2", "org": "3"}, "user/*.rs", ActorKind.HEALTH),
        ({"org": "3"}, "system/*.cruds", ActorKind.CLIENT),
        ({}, "system/*.rs", ActorKind.CLIENT),
        ({"pid": "1"}, "", ActorKind.PERSON),
        ({"pid": "1", "org": "3"}, "user/*.rs", ActorKind.STAFF),
        ({"pid": "1", "hpr": "2", "org": "3"}, "fellesplan/admin", ActorKind.ADMIN),
    ],
)
def test_classify(ids: dict[str, str], scope: str, kind: ActorKind) -> None:
    claims = C.helseid_claims(pid=ids.get("pid"), hpr=ids.get("hpr"), org=ids.get("org"),
                              org_parent=None, name=None)
    assert classify(claims, frozenset(scope.split())) is kind


def test_child_org_wins_and_parent_is_kept() -> None:
    claims = {C.ORG_CHILD: "111", C.ORG_PARENT: "222", C.HPR: "9"}
    assert C.text(claims, C.ORG_CHILD) == "111"
    assert classify(claims, frozenset()) is ActorKind.HEALTH


def test_scope_map_expands_helseid_api_scopes() -> None:
    out = expand({"nhn:fellesplan/api", "openid"}, {"nhn:fellesplan/api": ["user/*.cruds"]})
    assert out == {"nhn:fellesplan/api", "openid", "user/*.cruds"}


@pytest.mark.parametrize(
    "details",
    [
        {"authorization_details": [{"type": C.TRUST_FRAMEWORK, "care_relationship": {
            "purpose_of_use": {"code": "ETREAT", "system": "x"},
            "healthcare_service": {"code": "S03"}, "decision_ref": {"id": "ref-1"}}}]},
        {C.TRUST_FRAMEWORK: {"care_relationship": {"purpose_of_use": "ETREAT",
                                                   "healthcare_service": "S03",
                                                   "decision_ref": "ref-1"}}},
        {"authorization_details": {"type": C.TRUST_FRAMEWORK, "care_relationship": {
            "purpose_of_use": {"coding": {"code": "ETREAT"}}, "healthcare_service": "S03",
            "decision_ref": {"ref_id": "ref-1"}}}},
    ],
)
def test_trust_framework_in_either_placement(details: dict[str, Any]) -> None:
    care = C.care_relationship(details)
    assert care is not None
    assert care.purpose_of_use == "ETREAT"
    assert care.healthcare_service == "S03"
    assert care.decision_ref == "ref-1"


def test_no_trust_framework() -> None:
    assert C.care_relationship({"authorization_details": [{"type": "other"}]}) is None


async def _ctx(db: Database, claims: dict[str, Any], scope: str = "user/*.rs") -> Any:
    async with db.session(write=False) as session:
        return await build_context(claims, frozenset(scope.split()), session, Directory(0))


async def test_health_personnel_gets_service_type(db: Database) -> None:
    orgnr = F.digits(9)
    await F.store(db, F.organization(orgnr, "legevakt", "Bergen legevakt", f"o{F.uid()}"))
    claims = F.health_claims(org=orgnr)
    claims[C.TRUST_FRAMEWORK] = {"care_relationship": {"purpose_of_use": "TREAT"}}
    ctx = await _ctx(db, claims)
    assert ctx.kind is ActorKind.HEALTH
    assert (ctx.hpr, ctx.org, ctx.org_parent) == (F.HPR_DOCTOR, orgnr, F.ORG_PARENT)
    assert ctx.service_type == "legevakt"
    assert ctx.org_name == "Bergen legevakt"
    assert ctx.org_ref and ctx.org_ref.startswith("Organization/o")
    assert ctx.purpose_of_use == "TREAT"
    assert ctx.name == "Kari Lege"


async def test_unknown_organisation_has_no_service_type(db: Database) -> None:
    ctx = await _ctx(db, F.health_claims(org=F.ORG_UNKNOWN))
    assert ctx.kind is ActorKind.HEALTH
    assert ctx.service_type is None and ctx.org_ref is None


async def test_organisation_without_tjenestetype(db: Database) -> None:
    orgnr = F.digits(9)
    await F.store(db, F.organization(orgnr, None, res_id=f"o{F.uid()}"))
    ctx = await _ctx(db, {C.ORG_CHILD: orgnr, "client_id": "ehr"}, "system/*.rs")
    assert ctx.kind is ActorKind.CLIENT
    assert ctx.org_ref is not None and ctx.service_type is None


async def test_system_actor_acts_for_its_organisation(db: Database) -> None:
    orgnr = F.digits(9)
    await F.store(db, F.organization(orgnr, "kommune", "Bergen kommune", f"o{F.uid()}"))
    ctx = await _ctx(db, {C.ORG_PARENT: orgnr, "client_id": "ehr-1"}, "system/*.cruds")
    assert (ctx.kind, ctx.org, ctx.service_type, ctx.client_id) == (
        ActorKind.CLIENT, orgnr, "kommune", "ehr-1")


async def test_person_matched_to_patient_and_related_person(db: Database) -> None:
    pid, kin = F.digits(), F.digits()
    pat, other = f"p{F.uid()}", f"p{F.uid()}"
    await F.store(db, F.patient(pid, pat), F.patient(kin, other),
                  F.related_person(kin, f"r{F.uid()}", f"Patient/{pat}"))
    me = await _ctx(db, {C.PID: pid, "name": "Ola"}, "")
    assert me.kind is ActorKind.PERSON
    assert me.patient_refs == (f"Patient/{pat}",)
    assert me.related_person_refs == ()
    them = await _ctx(db, {C.PID: kin}, "")
    assert them.patient_refs == (f"Patient/{other}",)
    assert them.related_patient_refs == (f"Patient/{pat}",)
    assert len(them.related_person_refs) == 1


async def test_person_identifier_must_match_exactly(db: Database) -> None:
    pid = F.digits()
    res = F.patient("9" + pid, f"p{F.uid()}")  # contains pid as a substring only
    res["note"] = pid
    await F.store(db, res)
    res2 = F.patient(pid, f"p{F.uid()}")
    res2["identifier"][0]["system"] = "urn:oid:2.16.578.1.12.4.1.4.3"  # FHN, not FNR/DNR
    await F.store(db, res2)
    ctx = await _ctx(db, {C.PID: pid}, "")
    assert ctx.patient_refs == ()


async def test_directory_caches_for_ttl(db: Database) -> None:
    orgnr = F.digits(9)
    directory = Directory(3600)
    async with db.session(write=False) as s:
        assert await directory.org(s, orgnr) is None
    await F.store(db, F.organization(orgnr, "tsb", res_id=f"o{F.uid()}"))
    async with db.session(write=False) as s:
        assert await directory.org(s, orgnr) is None  # cached
        directory.invalidate()
        info = await directory.org(s, orgnr)
    assert info is not None and info.service_type == "tsb"
