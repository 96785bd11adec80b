"""Chained parameters, reverse chaining (_has), _include/_revinclude (:iterate, *)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.fhir.errors import BadRequest
from tests.search.factories import FNR, HPR, careplan, patient, store_all
from tests.search.helpers import bundle, ids, service


def org(oid: str, name: str, part_of: str | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Organization", "id": oid, "name": name}
    if part_of:
        res["partOf"] = {"reference": f"Organization/{part_of}"}
    return res


def practitioner(pid: str, hpr: str) -> dict[str, Any]:
    return {"resourceType": "Practitioner", "id": pid, "identifier": [{"system": HPR,
                                                                      "value": hpr}],
            "name": [{"family": "Lege", "given": ["Lise"]}]}


def provenance(pid: str, target: str, agent: str) -> dict[str, Any]:
    return {"resourceType": "Provenance", "id": pid, "target": [{"reference": target}],
            "recorded": "2024-05-01T10:00:00Z", "agent": [{"who": {"reference": agent}}]}


@pytest.fixture
async def world(session: AsyncSession) -> None:
    await store_all(session, [
        org("hf", "Helse Nord HF"),
        org("dps", "DPS Tromsø", part_of="hf"),
        practitioner("lege1", "9144900"),
        patient("p1", fnr="17058012345", managingOrganization={"reference": "Organization/dps"},
                generalPractitioner=[{"reference": "Practitioner/lege1"}]),
        patient("p2", fnr="01018012345"),
        careplan("cp1", subject="Patient/p1"),
        careplan("cp2", subject="Patient/p2"),
        careplan("cp3", subject="Patient/p1", status="completed",
                 basedOn=[{"reference": "CarePlan/cp1"}]),
        provenance("prov1", "CarePlan/cp1", "Practitioner/lege1"),
        provenance("prov2", "CarePlan/cp2", "Organization/hf"),
    ])


@pytest.mark.usefixtures("world")
class TestChain:
    async def test_one_level(self, session: AsyncSession) -> None:
        assert await ids(session, "CarePlan",
                         f"subject:Patient.identifier={FNR}|17058012345") == {"cp1", "cp3"}

    async def test_without_type_uses_targets_that_have_the_parameter(
            self, session: AsyncSession) -> None:
        assert await ids(session, "CarePlan", "patient.identifier=01018012345") == {"cp2"}

    async def test_three_levels(self, session: AsyncSession) -> None:
        q = "subject:Patient.organization.partof.name=helse nord"
        assert await ids(session, "CarePlan", q) == {"cp1", "cp3"}

    async def test_chain_to_string(self, session: AsyncSession) -> None:
        assert await ids(session, "Patient", "general-practitioner:Practitioner.name=lise") == {
            "p1"}

    async def test_unknown_chain_target_is_400(self, session: AsyncSession) -> None:
        with pytest.raises(BadRequest, match=r"subject:Patient\.nope"):
            await ids(session, "CarePlan", "subject:Patient.nope=1")
        with pytest.raises(BadRequest, match=r"status\.name"):
            await ids(session, "CarePlan", "status.name=1")


@pytest.mark.usefixtures("world")
class TestHas:
    async def test_has(self, session: AsyncSession) -> None:
        assert await ids(session, "CarePlan",
                         "_has:Provenance:target:agent=Practitioner/lege1") == {"cp1"}

    async def test_nested_has(self, session: AsyncSession) -> None:
        q = "_has:CarePlan:subject:_has:Provenance:target:agent=Organization/hf"
        assert await ids(session, "Patient", q) == {"p2"}

    async def test_has_with_chain_inside(self, session: AsyncSession) -> None:
        q = f"_has:CarePlan:patient:status=completed&identifier={FNR}|17058012345"
        assert await ids(session, "Patient", q) == {"p1"}

    async def test_has_bad_reference_is_400(self, session: AsyncSession) -> None:
        with pytest.raises(BadRequest, match="_has:CarePlan:status"):
            await ids(session, "Patient", "_has:CarePlan:status:status=active")


def _entries(b: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f"{e['resource']['resourceType']}/{e['resource']['id']}", e["search"]["mode"])
            for e in b.get("entry", [])]


@pytest.mark.usefixtures("world")
class TestInclude:
    async def test_include(self, session: AsyncSession) -> None:
        b = await bundle(session, "CarePlan", "_id=cp1,cp3&_include=CarePlan:subject")
        assert sorted(_entries(b)) == [("CarePlan/cp1", "match"), ("CarePlan/cp3", "match"),
                                       ("Patient/p1", "include")]

    async def test_include_with_target_type(self, session: AsyncSession) -> None:
        b = await bundle(session, "Patient", "_id=p1&_include=Patient:general-practitioner:Organization")
        assert _entries(b) == [("Patient/p1", "match")]

    async def test_revinclude(self, session: AsyncSession) -> None:
        b = await bundle(session, "CarePlan", "_id=cp1&_revinclude=Provenance:target")
        assert _entries(b) == [("CarePlan/cp1", "match"), ("Provenance/prov1", "include")]

    async def test_include_iterate(self, session: AsyncSession) -> None:
        q = ("_id=cp1&_include=CarePlan:subject&_include:iterate=Patient:organization"
             "&_include:iterate=Organization:partof")
        b = await bundle(session, "CarePlan", q)
        assert sorted(_entries(b)) == [
            ("CarePlan/cp1", "match"), ("Organization/dps", "include"),
            ("Organization/hf", "include"), ("Patient/p1", "include")]

    async def test_without_iterate_no_second_hop(self, session: AsyncSession) -> None:
        q = "_id=cp1&_include=CarePlan:subject&_include=Patient:organization"
        assert sorted(_entries(await bundle(session, "CarePlan", q))) == [
            ("CarePlan/cp1", "match"), ("Patient/p1", "include")]

    async def test_include_star(self, session: AsyncSession) -> None:
        b = await bundle(session, "Patient", "_id=p1&_include=*")
        assert sorted(_entries(b)) == [("Organization/dps", "include"), ("Patient/p1", "match"),
                                       ("Practitioner/lege1", "include")]

    async def test_revinclude_iterate(self, session: AsyncSession) -> None:
        q = "_id=p1&_revinclude=CarePlan:subject&_revinclude:iterate=Provenance:target"
        b = await bundle(session, "Patient", q)
        assert sorted(_entries(b)) == [
            ("CarePlan/cp1", "include"), ("CarePlan/cp3", "include"), ("Patient/p1", "match"),
            ("Provenance/prov1", "include")]

    async def test_match_is_not_repeated_as_include(self, session: AsyncSession) -> None:
        b = await bundle(session, "CarePlan", "_include=CarePlan:based-on")
        assert sorted(_entries(b)) == [("CarePlan/cp1", "match"), ("CarePlan/cp2", "match"),
                                       ("CarePlan/cp3", "match")]

    async def test_include_limit_is_reported(self, session: AsyncSession) -> None:
        svc = service(session, search_max_includes=1)
        b = orjson.loads(await svc.search("Patient", [("_id", "p1"), ("_include", "*")]))
        modes = [e["search"]["mode"] for e in b["entry"]]
        assert modes == ["match", "include", "outcome"]
        assert "stopped at 1" in b["entry"][-1]["resource"]["issue"][0]["diagnostics"]

    async def test_bad_include_is_400(self, session: AsyncSession) -> None:
        with pytest.raises(BadRequest, match="_include"):
            await bundle(session, "CarePlan", "_include=CarePlan:status")
