"""Will-see: a CarePlan keeps only the sections or domains the reader may see."""

from __future__ import annotations

import orjson

from app.db.engine import Database
from app.services.crud import ResourceService
from tests.consent import harness as H
from tests.consent import world_fixed
from tests.consent.world import DOMENE, SEKSJON, render, store


async def test_nav_sees_only_the_consented_ip_domains(fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    await store(fresh_db, render(w))
    plan = await H.read(fresh_db, a["nav"].context(), "CarePlan", ids["kari-ip"])
    assert isinstance(plan, dict)
    assert H.sections_of(plan) == [(DOMENE, "bolig"), (DOMENE, "arbeid-aktivitet")]
    assert {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
            "code": "REDACTED", "display": "redacted"} in plan["meta"]["security"]
    raw = orjson.dumps(plan).decode()
    for hidden in ("tiltak helse", "tiltak rus", "tiltak okonomi", "Hemmelig beskrivelse",
                   "Fortrolig notat", "uten seksjon"):
        assert hidden not in raw, hidden
    assert "Skjermet" in plan["text"]["div"]
    # The same plan found by search is redacted the same way, and the kriseplan stays hidden.
    found = await H.search(fresh_db, a["nav"].context(), "CarePlan", [])
    assert not isinstance(found, int)
    assert [r["id"] for r in found[1]] == [ids["kari-ip"]]
    assert H.sections_of(found[1][0]) == H.sections_of(plan)


async def test_next_of_kin_sees_contacts_and_kin_sections(fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    await store(fresh_db, render(w))
    plan = await H.read(fresh_db, a["parorende-med-samtykke"].context(), "CarePlan", ids["kari-kp"])
    assert isinstance(plan, dict)
    assert H.sections_of(plan) == [(SEKSJON, "kontakter"), (SEKSJON, "parorende")]
    assert "note" not in plan and "description" not in plan


async def test_a_section_objection_redacts_for_the_care_team_too(fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    await store(fresh_db, render(w))
    # The legevakt is objected to for the violence-risk section only; in an emergency it reads
    # the crisis plan without it, and the plan keeps its other parts (note, description).
    plan = await H.read(fresh_db, a["legevakt-nod"].context(), "CarePlan", ids["kari-kp"])
    assert isinstance(plan, dict)
    assert (SEKSJON, "voldsrisiko") not in H.sections_of(plan)
    assert len(H.sections_of(plan)) == 8 and plan["description"]
    # The team doctor (not objected to) reads the whole plan, byte for byte as stored.
    whole = await H.read(fresh_db, a["team-lege"].context(), "CarePlan", ids["kari-kp"])
    assert isinstance(whole, dict) and "security" not in whole.get("meta", {})
    assert len(H.sections_of(whole)) == 9


async def test_search_criteria_never_match_redacted_parts(fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    await store(fresh_db, render(w))
    for actor, params in (("nav", [("seksjon", "rus")]), ("nav", [("activity-code", "okonomi")]),
                          ("nav", [("seksjon:not", "bolig")]),
                          ("parorende-med-samtykke", [("seksjon", "voldsrisiko")]),
                          ("legevakt-nod", [("seksjon", "voldsrisiko")])):
        found = await H.search(fresh_db, a[actor].context(), "CarePlan", params)
        assert found == (0, []), (actor, params)
    found = await H.search(fresh_db, a["nav"].context(), "Patient",
                           [("_has:CarePlan:subject:seksjon", "rus")])
    assert found == (0, [])
    # Header criteria still work on what the reader sees, and the team finds by section.
    found = await H.search(fresh_db, a["nav"].context(), "CarePlan", [("status", "active")])
    assert not isinstance(found, int) and [r["id"] for r in found[1]] == [ids["kari-ip"]]
    found = await H.search(fresh_db, a["team-lege"].context(), "CarePlan", [("seksjon", "rus")])
    assert not isinstance(found, int) and [r["id"] for r in found[1]] == [ids["kari-ip"]]


async def test_includes_never_follow_links_out_of_redacted_parts(fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    resources = render(w)
    ip = next(r for r in resources if r["id"] == ids["kari-ip"])
    for act in ip["activity"]:
        code = ((act["detail"].get("code") or {}).get("coding") or [{"code": "none"}])[0]["code"]
        act["detail"]["performer"] = [{"reference": f"Organization/utforer-{code}"}]
        resources.append({"resourceType": "Organization", "id": f"utforer-{code}", "name": code})
    await store(fresh_db, resources)
    params = [("_id", ids["kari-ip"]), ("_include", "CarePlan:performer")]
    found = await H.search(fresh_db, a["nav"].context(), "CarePlan", params)
    assert not isinstance(found, int)
    assert {r["id"] for r in found[1]} == {ids["kari-ip"]}
    found = await H.search(fresh_db, a["team-lege"].context(), "CarePlan", params)
    assert not isinstance(found, int) and len(found[1]) == 7


async def test_conditional_create_returns_a_match_only_as_the_reader_may_see_it(
        fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    await store(fresh_db, render(w))
    async with fresh_db.session(write=True) as session:
        svc = ResourceService(session, a["nav"].context(), fresh_db.settings)
        got = await svc.create("CarePlan", {"resourceType": "CarePlan"},
                               if_none_exist=f"_id={ids['kari-ip']}")
    assert got.status == 200 and got.content is not None
    plan = orjson.loads(got.content)
    assert H.sections_of(plan) == [(DOMENE, "bolig"), (DOMENE, "arbeid-aktivitet")]
    assert "Hemmelig" not in got.content.decode()


async def test_sorting_never_orders_by_redacted_values(fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    await store(fresh_db, render(w))
    nav = a["nav"].context()
    assert await H.search(fresh_db, nav, "CarePlan", [("_sort", "-activity-date")]) == (0, [])
    found = await H.search(fresh_db, nav, "CarePlan", [("_sort", "-date")])
    assert not isinstance(found, int) and [r["id"] for r in found[1]] == [ids["kari-ip"]]
    found = await H.search(fresh_db, a["team-lege"].context(), "CarePlan",
                           [("_sort", "activity-date")])
    assert not isinstance(found, int) and len(found[1]) == 2
