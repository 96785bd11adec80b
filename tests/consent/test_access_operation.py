"""$access: admins and the patient see which rule or Consent grants or denies what."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.consent.explain import explain
from app.db.engine import Database
from app.fhir.errors import FhirError
from app.main import create_app
from tests.consent import world_fixed
from tests.consent.world import render, store


def parts(params: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The named parts as {part name: value} dicts."""
    out = []
    for p in params["parameter"]:
        if p["name"] == name:
            d: dict[str, Any] = {}
            for x in p["part"]:
                value = next(v for k, v in x.items() if k.startswith("value"))
                d.setdefault(x["name"], []).append(value)
            out.append(d)
    return out


async def run(db: Database, ctx: Any, patient: str, actor: str, **kw: str) -> dict[str, Any] | int:
    async with db.session(write=False) as session:
        try:
            return await explain(session, ctx, patient, [("actor", actor), *kw.items()])
        except FhirError as exc:
            return exc.status


async def test_explains_nav_objection_care_and_emergency(fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    await store(fresh_db, render(w))
    kari = ids["kari"]
    admin, patient = a["admin"].context(), a["pasient"].context()
    nav = a["nav"].org
    assert nav is not None
    answer = await run(fresh_db, patient, kari, f"Organization/{nav.id}")
    assert isinstance(answer, dict)
    by_type = {p["type"][0]: p for p in parts(answer, "access")}
    assert by_type["CarePlan"]["decision"] == ["conditional"]
    assert by_type["Goal"]["decision"] == ["deny"]
    assert any("consent-permit" in r for r in by_type["CarePlan"]["rule"])
    views = {p["plan"][0]["reference"]: p for p in parts(answer, "careplan")}
    ip = views[f"CarePlan/{ids['kari-ip']}"]
    assert ip["view"] == ["redacted"] and [c["code"] for c in ip["section"]] == [
        "bolig", "arbeid-aktivitet"]
    assert views[f"CarePlan/{ids['kari-kp']}"]["view"] == ["hidden"]
    # The objected-to TSB doctor: denied by the objection although the team includes TSB.
    tsb = a["reservert"].prac
    assert tsb is not None
    answer = await run(fresh_db, admin, kari, f"Practitioner/{tsb.id}",
                       organization=f"Organization/{tsb.org.id}")
    assert isinstance(answer, dict)
    for p in parts(answer, "access"):
        assert p["decision"] == ["deny"] and p["deniedBy"], p
    # The team doctor: the care relationship.
    doc = a["team-lege"].prac
    assert doc is not None
    answer = await run(fresh_db, admin, kari, f"Practitioner/{doc.id}",
                       organization=f"Organization/{doc.org.id}")
    assert isinstance(answer, dict)
    goal = next(p for p in parts(answer, "access") if p["type"] == ["Goal"])
    assert goal["decision"] == ["permit"] and any("care-relationship" in r for r in goal["rule"])


@pytest.mark.parametrize("who", ["team-lege", "nav", "parorende-med-samtykke", "legevakt-nod"])
async def test_only_admins_and_the_patient_may_ask(fresh_db: Database, who: str) -> None:
    w, a, ids = world_fixed.build()
    await store(fresh_db, render(w))
    assert await run(fresh_db, a[who].context(), ids["kari"], "Organization/x") == 403
    # The patient may ask about themselves only.
    assert await run(fresh_db, a["pasient"].context(), ids["ola"], "Organization/x") == 403


async def test_access_over_http(fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    await store(fresh_db, render(w))
    nav = a["nav"].org
    assert nav is not None
    app = create_app(fresh_db.settings, fresh_db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.get(f"/fhir/Patient/{ids['kari']}/$access",
                        params={"actor": f"Organization/{nav.id}"})
        assert r.status_code == 200, r.text
        assert r.json()["resourceType"] == "Parameters"
        r = await c.get(f"/fhir/Patient/{ids['kari']}/$access")
        assert r.status_code == 400
        meta = (await c.get("/fhir/metadata")).json()
        ops = {o["name"] for res in meta["rest"][0]["resource"] for o in res.get("operation", ())}
        assert "access" in ops


async def test_explains_next_of_kin_and_a_practitioner_role(fresh_db: Database) -> None:
    w, a, ids = world_fixed.build()
    await store(fresh_db, render(w))
    admin = a["admin"].context()
    answer = await run(fresh_db, admin, ids["kari"], f"RelatedPerson/{ids['bror']}")
    assert isinstance(answer, dict)
    views = {p["plan"][0]["reference"]: p for p in parts(answer, "careplan")}
    kp = views[f"CarePlan/{ids['kari-kp']}"]
    assert kp["view"] == ["redacted"] and [c["code"] for c in kp["section"]] == [
        "kontakter", "parorende"]
    role = a["team-sykepleier"].prac
    assert role is not None and role.role is not None
    answer = await run(fresh_db, admin, ids["kari"], f"PractitionerRole/{role.role}")
    assert isinstance(answer, dict)
    assert all(p["decision"] == ["permit"] for p in parts(answer, "access"))
    assert await run(fresh_db, admin, ids["kari"], "Goal/x") == 400
