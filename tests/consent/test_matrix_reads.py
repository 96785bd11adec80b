"""The access matrix: every actor kind against read, vread, search, includes, chains, _has,
history, $everything and batch reads; expected results come from tests/consent/reference.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from app.operations.everything import search_params
from tests.consent import harness as H
from tests.consent.matrix import Matrix, dispose, matrix

ACTORS = ["pasient", "parorende-med-samtykke", "parorende-uten-samtykke", "nav", "team-lege",
          "team-sykepleier", "fastlege", "utenfor-teamet", "reservert", "legevakt-nod",
          "legevakt-uten-nod", "admin"]
TYPES = ["Patient", "CarePlan", "Goal", "CareTeam", "Consent", "RelatedPerson"]


@pytest_asyncio.fixture(loop_scope="session", scope="module", autouse=True)
async def _close() -> AsyncIterator[None]:
    yield
    await dispose()


@pytest.fixture
async def m(backend: str) -> Matrix:
    return await matrix(backend)


@pytest.mark.parametrize("actor", ACTORS)
async def test_read_and_vread(m: Matrix, actor: str) -> None:
    ctx = m.actors[actor].context()
    for res_type, res_id, _ in m.world.resources():
        want = m.expect(actor, res_type, res_id)
        for got in (await H.read(m.db, ctx, res_type, res_id),
                    await H.vread(m.db, ctx, res_type, res_id)):
            if want is None:
                assert got == 404, (actor, res_type, res_id, got)
            else:
                assert isinstance(got, dict), (actor, res_type, res_id, got)
                assert H.reduce(m.world, got) == want, (actor, res_type, res_id)


@pytest.mark.parametrize("actor", ACTORS)
async def test_search_totals_and_paging(m: Matrix, actor: str) -> None:
    ctx = m.actors[actor].context()
    for res_type in TYPES:
        found = await H.search(m.db, ctx, res_type, [("_count", "2"), ("_total", "accurate")])
        assert not isinstance(found, int), found
        total, resources = found
        want = m.visible(actor, res_type)
        assert {r["id"] for r in resources} == want, (actor, res_type)
        assert len(resources) == len(want) and total == len(want), (actor, res_type, total)
        for r in resources:
            assert H.reduce(m.world, r) == m.expect(actor, res_type, r["id"]), (actor, r["id"])


@pytest.mark.parametrize("actor", ACTORS)
async def test_include_and_revinclude(m: Matrix, actor: str) -> None:
    ctx = m.actors[actor].context()
    queries = [("CarePlan", [("_include", "CarePlan:subject")]),
               ("Patient", [("_revinclude", "CarePlan:subject"), ("_revinclude", "Goal:subject"),
                            ("_revinclude", "Consent:patient")]),
               ("CareTeam", [("_include", "CareTeam:participant"), ("_include", "CareTeam:subject")]),
               ("Goal", [("_include", "Goal:subject"), ("_revinclude:iterate", "CarePlan:subject")])]
    for res_type, params in queries:
        found = await H.search(m.db, ctx, res_type, params)
        assert not isinstance(found, int), found
        for r in found[1]:
            t = r["resourceType"]
            if t in TYPES:
                assert H.reduce(m.world, r) == m.expect(actor, t, r["id"]), (actor, t, r["id"])


@pytest.mark.parametrize("actor", ACTORS)
async def test_chains_and_has_never_pass_through_hidden_resources(m: Matrix, actor: str) -> None:
    ctx = m.actors[actor].context()
    kari, ola = m.ids["kari"], m.ids["ola"]
    visible_patients = m.visible(actor, "Patient")
    plans = m.visible(actor, "CarePlan")
    for pid in (kari, ola):
        found = await H.search(m.db, ctx, "CarePlan", [("subject:Patient.given", pid)])
        assert not isinstance(found, int)
        want = {p.id for p in m.world.plans if p.patient == pid and p.id in plans
                and pid in visible_patients}
        assert {r["id"] for r in found[1]} == want, (actor, pid)
        found = await H.search(m.db, ctx, "Patient", [("_has:CarePlan:subject:status", "active"),
                                                       ("_id", pid)])
        assert not isinstance(found, int)
        has = pid in visible_patients and any(p.patient == pid for p in m.world.plans
                                              if p.id in plans)
        assert {r["id"] for r in found[1]} == ({pid} if has else set()), (actor, pid)
        found = await H.search(m.db, ctx, "Goal", [("patient._has:CarePlan:subject:status",
                                                    "active")])
        assert not isinstance(found, int)
        assert {r["id"] for r in found[1]} <= m.visible(actor, "Goal")


@pytest.mark.parametrize("actor", ACTORS)
async def test_history_at_every_level(m: Matrix, actor: str) -> None:
    ctx = m.actors[actor].context()
    for res_type, res_id, _ in m.world.resources():
        got = await H.history(m.db, ctx, res_type, res_id)
        want = m.expect(actor, res_type, res_id)
        if want is None:
            assert got == 404, (actor, res_type, res_id, got)
        else:
            assert not isinstance(got, int) and [H.reduce(m.world, r) for r in got] == [want]
    for res_type in TYPES:
        got = await H.history(m.db, ctx, res_type, None)
        assert not isinstance(got, int)
        assert {r["id"] for r in got} == m.visible(actor, res_type), (actor, res_type)
    got = await H.history(m.db, ctx, None, None)
    assert not isinstance(got, int)
    for r in got:
        if r["resourceType"] in TYPES:
            assert H.reduce(m.world, r) == m.expect(actor, r["resourceType"], r["id"])


@pytest.mark.parametrize("actor", ACTORS)
async def test_everything(m: Matrix, actor: str) -> None:
    ctx = m.actors[actor].context()
    for pid in (m.ids["kari"], m.ids["ola"]):
        found = await H.search(m.db, ctx, None, search_params([("_count", "3")]),
                               compartment=("Patient", pid))
        assert not isinstance(found, int), found
        for r in found[1]:
            t = r["resourceType"]
            if t in TYPES:
                assert H.reduce(m.world, r) == m.expect(actor, t, r["id"]), (actor, t, r["id"])
        owned = {i for t, i, o in m.world.resources() if o == pid and t in TYPES
                 and m.expect(actor, t, i) is not None}
        assert owned <= {r["id"] for r in found[1]}
