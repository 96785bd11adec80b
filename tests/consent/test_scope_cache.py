"""Lazy, patient-scoped access scopes and the cross-request cache: every change to who may see
what shows on the next request, also on another app node sharing the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from app.consent import cache
from app.consent.policy import current
from app.consent.searched import searched_patients
from app.db.engine import Database
from app.repository.resources import NewVersion, ResourceRepository
from app.services.context import SYSTEM
from tests.conftest import make_settings
from tests.consent import harness as H
from tests.consent.world import (
    Actor,
    ConsentM,
    Org,
    Plan,
    Prac,
    Team,
    World,
    consent_res,
    number,
    render,
    store,
    team_res,
    uid,
)


def _world() -> tuple[World, Actor, dict[str, str]]:
    """Two patients in the care of one team; the actor is the team's practitioner."""
    org = Org(uid("kommune"), number(9), "kommune")
    prac = Prac(uid("lege"), number(9), org)
    kari, ola = uid("kari"), uid("ola")
    w = World(orgs=[org], pracs=[prac], patients={kari: None, ola: None})
    team = Team(uid("team"), kari, "active", [("Organization", org.id)])
    w.teams = [team, Team(uid("team"), ola, "active", [("Organization", org.id)])]
    w.plans = [Plan(uid("kp"), kari, "kriseplan", []), Plan(uid("kp"), ola, "kriseplan", [])]
    ids = {"kari": kari, "ola": ola, "team": team.id, "kari-kp": w.plans[0].id,
           "ola-kp": w.plans[1].id, "org": org.id}
    return w, Actor("lege", "health", org=org, prac=prac), ids


async def _write(db: Database, res: dict[str, Any], deleted: bool = False) -> None:
    """Write a new version (or a delete) through the core repository, as another node would."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    async with db.session(write=True) as session:
        repo = ResourceRepository(session, SYSTEM)
        row = await repo.get_current(res["resourceType"], res["id"])
        content = None if deleted else orjson.dumps(res)
        v = NewVersion(res["resourceType"], res["id"], (row.version_id + 1) if row else 1, now,
                       "DELETE" if deleted else "PUT", content, None if deleted else res)
        if row is None:
            await repo.insert_new(v)
        else:
            assert await repo.replace(row.pk, row.version_id, v)


async def _seen(db: Database, actor: Actor, ids: dict[str, str]) -> dict[str, bool]:
    """Which of the plans the actor reads and finds by a patient search."""
    ctx = actor.context()
    out = {}
    for who in ("kari", "ola"):
        read = await H.read(db, ctx, "CarePlan", ids[f"{who}-kp"])
        found = await H.search(db, ctx, "CarePlan", [("patient", ids[who])])
        assert not isinstance(found, int)
        listed = {r["id"] for r in found[1]} == {ids[f"{who}-kp"]}
        assert isinstance(read, dict) == listed, (who, read, found)
        out[who] = listed
    return out


@pytest.fixture
async def two_nodes(fresh_db: Database) -> AsyncIterator[tuple[Database, Database]]:
    """Two app nodes (Database objects with caches of their own) on one database."""
    other = Database(make_settings(fresh_db.url), fresh_db.url)
    yield fresh_db, other
    await other.dispose()


async def test_objection_written_on_another_node_applies_at_once(
        two_nodes: tuple[Database, Database]) -> None:
    node_a, node_b = two_nodes
    w, actor, ids = _world()
    await store(node_a, render(w))
    assert await _seen(node_a, actor, ids) == {"kari": True, "ola": True}  # warms node A's cache
    objection = ConsentM(uid("reservasjon"), ids["kari"], "deny", ("Organization", ids["org"]))
    await _write(node_b, consent_res(objection))
    assert await _seen(node_a, actor, ids) == {"kari": False, "ola": True}
    await _write(node_b, consent_res(objection), deleted=True)
    assert await _seen(node_a, actor, ids) == {"kari": True, "ola": True}


async def test_objection_naming_a_team_follows_team_changes(
        two_nodes: tuple[Database, Database]) -> None:
    node_a, node_b = two_nodes
    w, actor, ids = _world()
    assert actor.prac is not None
    w.patients[ids["kari"]] = actor.prac.id  # the actor is Kari's GP: care without the team
    w.consents = [ConsentM(uid("reservasjon"), ids["kari"], "deny", ("CareTeam", ids["team"]))]
    await store(node_a, render(w))
    assert await _seen(node_a, actor, ids) == {"kari": False, "ola": True}
    # The actor leaves the named team: the objection no longer names it.
    team = team_res(Team(ids["team"], ids["kari"], "active", [("Practitioner", uid("annen"))]))
    await _write(node_b, team)
    assert await _seen(node_a, actor, ids) == {"kari": True, "ola": True}
    # Back in the team, but the team is inactive: still not named.
    team = team_res(Team(ids["team"], ids["kari"], "inactive", [("Organization", ids["org"])]))
    await _write(node_b, team)
    assert await _seen(node_a, actor, ids) == {"kari": True, "ola": True}
    team["status"] = "active"
    await _write(node_b, team)
    assert await _seen(node_a, actor, ids) == {"kari": False, "ola": True}


async def test_care_relationship_ends_on_the_next_request(
        two_nodes: tuple[Database, Database]) -> None:
    node_a, node_b = two_nodes
    w, actor, ids = _world()
    await store(node_a, render(w))
    assert await _seen(node_a, actor, ids) == {"kari": True, "ola": True}
    await _write(node_b, team_res(Team(w.teams[1].id, ids["ola"], "inactive",
                                       [("Organization", ids["org"])])))
    assert await _seen(node_a, actor, ids) == {"kari": True, "ola": False}


async def test_patient_search_hides_other_named_patients_in_includes(fresh_db: Database) -> None:
    """A search restricted to Kari never shows Ola's objected resources through an include."""
    w, actor, ids = _world()
    w.consents = [ConsentM(uid("reservasjon"), ids["ola"], "deny", ("Organization", ids["org"]))]
    await store(fresh_db, render(w))
    found = await H.search(fresh_db, actor.context(), "Patient",
                           [("_id", ids["kari"]), ("_revinclude", "CarePlan:subject")])
    assert not isinstance(found, int)
    assert {r["id"] for r in found[1]} == {ids["kari"], ids["kari-kp"]}
    found = await H.search(fresh_db, actor.context(), "CarePlan", [("patient", ids["kari"]),
                                                                   ("_include", "CarePlan:subject")])
    assert not isinstance(found, int)
    assert {r["id"] for r in found[1]} == {ids["kari"], ids["kari-kp"]}


async def test_cache_entries_follow_the_generation(fresh_db: Database,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A request that read an older generation never replaces (or uses) a newer entry; write
    sessions never use the cache."""
    gens = iter([(2,) * 7, (1,) * 7, (2,) * 7, (3,) * 7])

    async def generation(session: Any, types: Any) -> tuple[int, ...]:
        return next(gens)
    monkeypatch.setattr(cache, "generation", generation)
    policy = current()
    async with fresh_db.session(write=False) as s:
        newer = await cache.entry(s, policy)
        older = await cache.entry(s, policy)
        again = await cache.entry(s, policy)
        newest = await cache.entry(s, policy)
    assert newer is not None and older is not None and newest is not None
    assert older is not newer and again is newer and newest is not newer
    assert older.gen == (1,) * 7 and newest.gen == (3,) * 7
    async with fresh_db.session(write=True) as s:
        assert await cache.entry(s, policy) is None
        assert cache.parsed(s) is None


def test_searched_patients() -> None:
    policy = current()
    assert searched_patients(policy, "CarePlan", [("patient", "a,Patient/b")]) == ["a", "b"]
    assert searched_patients(policy, "CarePlan", [("subject:Patient", "http://x/fhir/Patient/c")]
                             ) == ["c"]
    assert searched_patients(policy, "Patient", [("_id", "a")]) == ["a"]
    assert searched_patients(policy, "CarePlan", [("subject", "Group/g")]) is None
    assert searched_patients(policy, "CarePlan", [("patient.identifier", "x|1")]) is None
    assert searched_patients(policy, "CarePlan", [("category", "A01-2")]) is None
    assert searched_patients(policy, None, [("patient", "a")]) is None
    assert searched_patients(policy, "Practitioner", [("_id", "a")]) is None


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()
