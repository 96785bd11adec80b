"""No leak, as a property: random care teams, consents, plans and actors; every answer of the
server (search pages, totals, includes, reads) is checked against the reference function."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db.engine import Database
from tests.consent import harness as H
from tests.consent.reference import decide
from tests.consent.world import (
    DOMENE,
    SEKSJON,
    Actor,
    ConsentM,
    Org,
    Plan,
    Prac,
    Team,
    World,
    number,
    render,
    store,
    uid,
)

SERVICES = ["kommune", "phv", "tsb", "fastlege", "legevakt", "nav", "annen"]
SECTIONS = [(SEKSJON, "kontakter"), (SEKSJON, "parorende"), (SEKSJON, "voldsrisiko"),
            (DOMENE, "bolig"), (DOMENE, "rus"), (DOMENE, "arbeid-aktivitet")]
TYPES = ["Patient", "CarePlan", "Goal", "CareTeam", "Consent", "RelatedPerson"]


@st.composite
def scenario(draw: st.DrawFn) -> tuple[World, Actor]:
    """A random world and one actor in it; teams and consents often name that actor."""
    orgs = [Org(uid("o"), number(9), draw(st.sampled_from(SERVICES))) for _ in range(3)]
    pracs = [Prac(uid("p"), number(9), draw(st.sampled_from(orgs)),
                  uid("r") if draw(st.booleans()) else None) for _ in range(3)]
    patients = [uid("pas") for _ in range(draw(st.integers(1, 2)))]
    w = World(orgs=orgs, pracs=pracs)
    w.patients = {p: draw(st.sampled_from([None, *[x.id for x in pracs]])) for p in patients}
    w.related = {uid("rp"): draw(st.sampled_from(patients)) for _ in range(draw(st.integers(0, 2)))}
    actor = draw(actors(w))
    mine = own_refs(actor)
    member = st.sampled_from([("Practitioner", x.id) for x in pracs]
                             + [("PractitionerRole", x.role) for x in pracs if x.role]
                             + [("Organization", o.id) for o in orgs]
                             + [("onBehalfOf", o.id) for o in orgs])
    if mine:
        member = st.one_of(member, st.sampled_from(mine))
    w.teams = [Team(uid("t"), draw(st.sampled_from(patients)),
                    draw(st.sampled_from(["active", "active", "inactive", "proposed"])),
                    draw(st.lists(member, min_size=1, max_size=3)))
               for _ in range(draw(st.integers(0, 3)))]
    refs = ([("Organization", o.id) for o in orgs] + [("Practitioner", x.id) for x in pracs]
            + [("PractitionerRole", x.role) for x in pracs if x.role]
            + [("CareTeam", t.id) for t in w.teams]
            + [("RelatedPerson", r) for r in w.related] + [("service", s) for s in SERVICES])
    named = st.sampled_from(refs)
    if mine or w.teams:
        named = st.one_of(named, st.sampled_from(
            [r for r in mine if r[0] != "onBehalfOf"] + [("CareTeam", t.id) for t in w.teams]
            or refs))
    w.consents = [ConsentM(
        uid("c"), draw(st.sampled_from(patients)), draw(st.sampled_from(["permit", "deny"])),
        draw(named),
        tuple(draw(st.lists(st.sampled_from(TYPES), max_size=2, unique=True))),
        tuple(draw(st.lists(st.sampled_from(["kriseplan", "individuell-plan"]), max_size=1))),
        tuple(draw(st.lists(st.sampled_from(SECTIONS), max_size=2, unique=True))),
        draw(st.sampled_from([True, True, False])), draw(st.booleans()),
    ) for _ in range(draw(st.integers(0, 4)))]
    w.plans = [Plan(uid("cp"), draw(st.sampled_from(patients)),
                    draw(st.sampled_from(["kriseplan", "individuell-plan", "plan"])),
                    draw(st.lists(st.sampled_from(SECTIONS), max_size=4, unique=True)))
               for _ in range(draw(st.integers(1, 3)))]
    w.goals = {uid("g"): draw(st.sampled_from(patients)) for _ in range(draw(st.integers(0, 2)))}
    return w, actor


def own_refs(a: Actor) -> list[tuple[str, str]]:
    """References that name the actor (so random teams and consents often concern it)."""
    out: list[tuple[str, str]] = []
    if a.prac is not None:
        out.append(("Practitioner", a.prac.id))
        if a.prac.role:
            out.append(("PractitionerRole", a.prac.role))
    if a.org is not None and a.kind != "person":
        out += [("Organization", a.org.id), ("onBehalfOf", a.org.id)]
        if a.org.service:
            out.append(("service", a.org.service))
    out += [("RelatedPerson", r) for r in a.related]
    return out


def actors(w: World) -> st.SearchStrategy[Actor]:
    """An actor of any kind in the world."""
    health = st.builds(lambda p, e: Actor("h", "health", org=p.org, prac=p, emergency=e),
                       st.sampled_from(w.pracs), st.booleans())
    client = st.builds(lambda o: Actor("c", "client", org=o), st.sampled_from(w.orgs))
    staff = st.builds(lambda o: Actor("s", "staff", org=o, pid=number(11)), st.sampled_from(w.orgs))
    person = st.builds(lambda p: Actor("pp", "person", pid=number(11), patient=p),
                       st.sampled_from(list(w.patients)))
    kin = (st.builds(lambda r: Actor("k", "person", pid=number(11), related=(r,)),
                     st.sampled_from(list(w.related))) if w.related else person)
    return st.one_of(health, client, staff, person, kin, st.just(Actor("a", "admin")))


class Cumulative:
    """Everything stored so far in this test's database (earlier examples stay visible)."""

    def __init__(self) -> None:
        self.world = World()

    def add(self, w: World) -> None:
        for name in ("orgs", "pracs", "teams", "consents", "plans"):
            getattr(self.world, name).extend(getattr(w, name))
        for name in ("patients", "related", "goals"):
            getattr(self.world, name).update(getattr(w, name))


def expected(world: World, actor: Actor) -> dict[tuple[str, str], Any]:
    """The reference decision for every stored compartment resource."""
    return {(t, i): decide(world, actor, t, i, o) for t, i, o in world.resources()}


async def check(db: Database, world: World, actor: Actor) -> None:
    """Search (paged, with totals and includes) and read agree with the reference."""
    want = expected(world, actor)
    ctx = actor.context()
    for res_type in TYPES:
        found = await H.search(db, ctx, res_type, [("_count", "2"), ("_total", "accurate")])
        if found == 403:
            assert actor.kind in ("health", "client", "staff") and not (actor.org and actor.org.service)
            return
        assert not isinstance(found, int), found
        total, resources = found
        ids = {i for (t, i), v in want.items() if t == res_type and v is not None}
        assert {r["id"] for r in resources} == ids and total == len(ids), res_type
        for r in resources:
            assert H.reduce(world, r) == want[(res_type, r["id"])], r["id"]
    inc = await H.search(db, ctx, "Patient", [("_revinclude", "CarePlan:subject"),
                                              ("_revinclude", "Goal:subject")])
    assert not isinstance(inc, int)
    for r in inc[1]:
        assert want[(r["resourceType"], r["id"])] is not None
    plans = {i for (t, i), v in want.items() if t == "CarePlan" and v is not None}
    history = await H.history(db, ctx, "CarePlan", None)
    assert not isinstance(history, int) and {r["id"] for r in history} == plans
    for r in history:
        assert H.reduce(world, r) == want[("CarePlan", r["id"])]
    has = await H.search(db, ctx, "Patient", [("_has:CarePlan:subject:status", "active")])
    assert not isinstance(has, int)
    owners = {p.patient for p in world.plans if p.id in plans}
    assert {r["id"] for r in has[1]} == {i for (t, i), v in want.items()
                                         if t == "Patient" and v is not None and i in owners}
    for (t, i), v in want.items():
        if t in ("CarePlan", "Goal"):
            got = await H.read(db, ctx, t, i)
            assert (got == 404) if v is None else (H.reduce(world, got) == v)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=scenario())
async def test_no_response_contains_what_the_reference_denies(fresh_db: Database, case: Any) -> None:
    w, actor = case
    state = _STATE.setdefault(id(fresh_db), Cumulative())
    await store(fresh_db, render(w))
    state.add(w)
    await check(fresh_db, state.world, actor)


_STATE: dict[int, Cumulative] = {}
