"""Authentication, scopes and audit through HTTP on the real app (auth on)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from app.db.engine import Database
from app.repository import audit as repo
from app.security import claims as C
from app.services.context import SYSTEM
from tests.security import factories as F

JSON = {"Content-Type": "application/fhir+json"}
Bearer = Callable[..., dict[str, str]]


def admin_claims() -> dict[str, Any]:
    return F.claims(scope="fellesplan/admin user/*.cruds", client_id="fellesplan-admin")


async def _register_org(client: httpx.AsyncClient, bearer: Bearer, service_type: str,
                        ) -> tuple[str, str]:
    """Register an organisation through the API (admin); returns (orgnr, resource id)."""
    orgnr = F.orgnr()
    org = F.organization(orgnr, service_type, f"Test {service_type}", f"o{F.uid()}")
    resp = await client.put(f"/fhir/Organization/{org['id']}", content=orjson.dumps(org),
                            headers={**JSON, **bearer(admin_claims())})
    assert resp.status_code in (200, 201), resp.text
    return orgnr, org["id"]


async def _in_care(db: Database, org_id: str, fnr: str | None = None) -> str:
    """A Patient with an active CareTeam that has the organisation as member; returns its id."""
    pid = f"p{F.uid()}"
    team = {"resourceType": "CareTeam", "id": f"t{F.uid()}", "status": "active",
            "subject": {"reference": f"Patient/{pid}"},
            "participant": [{"member": {"reference": f"Organization/{org_id}"}}]}
    await F.store(db, F.patient(fnr or F.fnr(), pid), team)
    return pid


def _assert_401(resp: httpx.Response, error: str | None) -> None:
    assert resp.status_code == 401, resp.text
    challenge = resp.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    if error:
        assert f'error="{error}"' in challenge
    body = resp.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == "login"


async def test_public_endpoints_need_no_token(client: httpx.AsyncClient) -> None:
    resp = await client.get("/fhir/metadata")
    assert resp.status_code == 200


@pytest.mark.parametrize("path", ["/fhir/CarePlan", "/fhir/Patient/x", "/fhir/Organization",
                                  "/fhir/AuditEvent", "/fhir/_history", "/fhir/Nope/1"])
async def test_missing_token_is_401(client: httpx.AsyncClient, path: str) -> None:
    resp = await client.get(path)
    _assert_401(resp, None)


@pytest.mark.parametrize("header", ["Basic dXNlcjpwdw==", "Bearer", "Bearer a b", "token"])
async def test_malformed_authorization_is_401(client: httpx.AsyncClient, header: str) -> None:
    resp = await client.get("/fhir/CarePlan", headers={"Authorization": header})
    _assert_401(resp, "invalid_request")


@pytest.mark.parametrize(
    "claims",
    [F.claims(exp=int(time.time()) - 3600), F.claims(iss="https://evil"), F.claims(aud="x")],
)
async def test_bad_token_is_401_invalid_token(client: httpx.AsyncClient, bearer: Bearer,
                                              claims: dict[str, Any]) -> None:
    resp = await client.get("/fhir/CarePlan/does-not-matter", headers=bearer(claims))
    _assert_401(resp, "invalid_token")
    assert "does-not-matter" not in resp.text


async def test_forged_signature_is_401(client: httpx.AsyncClient) -> None:
    token = F.sign(admin_claims(), F.rsa_key("attacker"), "rsa1")
    resp = await client.get("/fhir/Organization", headers={"Authorization": f"Bearer {token}"})
    _assert_401(resp, "invalid_token")


async def test_unreachable_jwks_is_503(db: Database, tmp_path: Any) -> None:
    from app.main import create_app
    from tests.security.conftest import auth_settings

    settings = auth_settings(db.url, str(tmp_path / "missing-jwks.json"))
    app = create_app(settings, Database(settings, db.url))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        token = F.sign(F.claims(), F.rsa_key(), "rsa1")
        resp = await c.get("/fhir/CarePlan", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 503
    assert resp.json()["resourceType"] == "OperationOutcome"


async def test_registry_readable_by_anyone_writable_by_admin(
    client: httpx.AsyncClient, bearer: Bearer
) -> None:
    person = bearer(F.claims(**{C.PID: F.digits()}, scope=""))
    assert (await client.get("/fhir/Organization", headers=person)).status_code == 200
    org = F.organization(F.orgnr(), "kommune", res_id=f"o{F.uid()}")
    doctor = bearer(F.health_claims(scope="user/*.cruds"))
    resp = await client.put(f"/fhir/Organization/{org['id']}", content=orjson.dumps(org),
                            headers={**JSON, **doctor})
    assert resp.status_code == 403
    resp = await client.put(f"/fhir/Organization/{org['id']}", content=orjson.dumps(org),
                            headers={**JSON, **bearer(admin_claims())})
    assert resp.status_code in (200, 201), resp.text


async def test_audit_event_is_not_writable(client: httpx.AsyncClient, bearer: Bearer) -> None:
    ev = {"resourceType": "AuditEvent", "type": {"code": "rest"}, "recorded": "2026-01-01T00:00:00Z",
          "agent": [{"requestor": True}], "source": {"observer": {"display": "x"}}}
    admin = bearer(F.claims(scope="fellesplan/admin fellesplan/audit system/*.cruds"))
    resp = await client.post("/fhir/AuditEvent", content=orjson.dumps(ev), headers={**JSON, **admin})
    assert resp.status_code == 403


async def test_scopes_limit_interactions(client: httpx.AsyncClient, bearer: Bearer,
                                         db: Database) -> None:
    orgnr, org_id = await _register_org(client, bearer, "phv")
    pid = await _in_care(db, org_id)
    reader = bearer(F.health_claims(org=orgnr, scope="user/CarePlan.rs"))
    writer = bearer(F.health_claims(org=orgnr, scope="user/CarePlan.cruds user/Patient.c"))
    resp = await client.put(f"/fhir/Patient/{pid}", content=orjson.dumps(F.patient(F.fnr(), pid)),
                            headers={**JSON, **writer})
    assert resp.status_code == 403  # update needs u on Patient
    plan = F.care_plan(f"c{F.uid()}", f"Patient/{pid}")
    resp = await client.post("/fhir/CarePlan", content=orjson.dumps(plan), headers={**JSON, **reader})
    assert resp.status_code == 403
    resp = await client.post("/fhir/CarePlan", content=orjson.dumps(plan), headers={**JSON, **writer})
    assert resp.status_code == 201, resp.text
    new_id = resp.json()["id"]
    assert (await client.get(f"/fhir/CarePlan/{new_id}", headers=reader)).status_code == 200
    assert (await client.delete(f"/fhir/CarePlan/{new_id}", headers=reader)).status_code == 403
    assert (await client.get(f"/fhir/Goal/{new_id}", headers=reader)).status_code == 403


async def test_search_needs_search_scope(client: httpx.AsyncClient, bearer: Bearer) -> None:
    orgnr, _ = await _register_org(client, bearer, "phv")
    reader = bearer(F.health_claims(org=orgnr, scope="user/CarePlan.rs"))
    assert (await client.get("/fhir/CarePlan?_count=1", headers=reader)).status_code == 200
    assert (await client.get("/fhir/Goal?_count=1", headers=reader)).status_code == 403
    assert (await client.get("/fhir/?_type=Goal", headers=reader)).status_code == 403
    person = bearer(F.claims(**{C.PID: F.digits()}, scope=""))
    assert (await client.get("/fhir/CarePlan", headers=person)).status_code == 403


@pytest.mark.parametrize("who", ["person", "unknown-org", "staff"])
async def test_who_may_not_reach_compartment_data(client: httpx.AsyncClient, bearer: Bearer,
                                                  who: str) -> None:
    claims = {
        "person": F.claims(**{C.PID: F.digits()}, scope="patient/*.rs user/*.rs"),
        "unknown-org": F.health_claims(org=F.ORG_UNKNOWN, scope="user/*.cruds"),
        "staff": F.claims(**{C.PID: F.digits(), C.ORG_CHILD: F.ORG_UNKNOWN}, scope="user/*.rs"),
    }[who]
    resp = await client.get(f"/fhir/CarePlan/{F.uid()}", headers=bearer(claims))
    # The start phase refuses unregistered organisations (403); consent hides the rest (404).
    assert resp.status_code == (404 if who == "person" else 403)


async def test_search_audit_reaches_both_patients(client: httpx.AsyncClient, bearer: Bearer,
                                                  db: Database) -> None:
    orgnr, org_id = await _register_org(client, bearer, "tsb")
    doctor = bearer(F.health_claims(org=orgnr, scope="user/*.cruds"))
    tag = F.uid()
    p1, p2 = await _in_care(db, org_id), await _in_care(db, org_id)
    for pid, n in ((p1, 2), (p2, 1)):
        for _ in range(n):
            plan = F.care_plan(f"c{F.uid()}", f"Patient/{pid}")
            plan["identifier"] = [{"system": "urn:test", "value": tag}]
            resp = await client.post("/fhir/CarePlan", content=orjson.dumps(plan),
                                     headers={**JSON, **doctor})
            assert resp.status_code == 201, resp.text
    resp = await client.get(f"/fhir/CarePlan?identifier=urn:test|{tag}", headers=doctor)
    assert resp.status_code == 200, resp.text
    assert len(resp.json()["entry"]) == 3
    async with db.session(write=False) as s:
        for pid, n in ((p1, 2), (p2, 1)):
            rows = await repo.search(s, SYSTEM, repo.AuditQuery(patients=(f"Patient/{pid}",)))
            events = [orjson.loads(r.content) for r in rows]
            search = [e for e in events if e["subtype"][0]["code"] == "search-type"]
            creates = [e for e in events if e["action"] == "C"]
            assert len(search) == 1 and len(creates) == n
            refs = [e["what"]["reference"] for e in search[0]["entity"] if "reference" in
                    e.get("what", {}) and e["what"]["reference"].startswith("CarePlan/")]
            assert len(refs) == n


async def test_metadata_declares_smart_security(client: httpx.AsyncClient) -> None:
    cap = (await client.get("/fhir/metadata")).json()
    security = cap["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    assert security["extension"][0]["url"].endswith("oauth-uris")
    resp = await client.get("/fhir/.well-known/smart-configuration")
    assert resp.status_code == 200 and resp.json()["issuer"] == F.ISSUER


async def test_patient_reads_own_access_log_over_http(client: httpx.AsyncClient,
                                                      bearer: Bearer, db: Database) -> None:
    orgnr, org_id = await _register_org(client, bearer, "legevakt")
    fnr = F.fnr()
    pid, other = await _in_care(db, org_id, fnr), await _in_care(db, org_id)
    doctor = bearer(F.health_claims(org=orgnr, scope="user/*.rs", **{C.TRUST_FRAMEWORK: {
        "care_relationship": {"purpose_of_use": "ETREAT"}}}))
    resp = await client.get(f"/fhir/Patient/{pid}",
                            headers={**doctor, "X-Fellesplan-Break-Glass": "Bevisstløs".encode()})
    assert resp.status_code == 200, resp.text
    me = bearer(F.claims(**{C.PID: fnr, "name": "Ola Nordmann"}, scope=""))
    log = (await client.get("/fhir/AuditEvent", params={"patient": f"Patient/{pid}"},
                            headers=me)).json()
    reads = [e["resource"] for e in log["entry"] if e["resource"]["action"] == "R"]
    assert len(reads) == 1
    ev = reads[0]
    assert ev["extension"][0]["valueBoolean"] is True
    assert "Kari Lege" in ev["text"]["div"] and "legevakt" in ev["text"]["div"]
    one = await client.get(f"/fhir/AuditEvent/{ev['id']}", headers=me)
    assert one.status_code == 200 and one.json()["id"] == ev["id"]
    theirs = (await client.get("/fhir/AuditEvent", params={"patient": f"Patient/{other}"},
                               headers=me)).json()
    assert theirs.get("entry", []) == []
    assert (await client.get("/fhir/AuditEvent", headers=doctor)).status_code == 403
    supervisor = bearer(F.claims(scope="fellesplan/audit"))
    sup = await client.get("/fhir/AuditEvent", params={"agent": orgnr}, headers=supervisor)
    assert sup.status_code == 200
    assert {e["resource"]["id"] for e in sup.json()["entry"]} >= {ev["id"]}


async def _patient_events(db: Database, pid: str) -> list[dict[str, Any]]:
    async with db.session(write=False) as s:
        rows = await repo.search(s, SYSTEM, repo.AuditQuery(patients=(f"Patient/{pid}",),
                                                            limit=100))
    return [orjson.loads(r.content) for r in reversed(rows)]


async def test_every_interaction_is_in_the_patients_log(client: httpx.AsyncClient,
                                                        bearer: Bearer, db: Database) -> None:
    orgnr, org_id = await _register_org(client, bearer, "kommune")
    doc = bearer(F.health_claims(org=orgnr, scope="user/*.cruds"))
    pid, cid = await _in_care(db, org_id), f"c{F.uid()}"
    plan = F.care_plan(cid, f"Patient/{pid}")
    steps = [
        ("PUT", f"/fhir/CarePlan/{cid}", plan, "update", "U"),  # update-as-create
        ("GET", f"/fhir/CarePlan/{cid}", None, "read", "R"),
        ("GET", f"/fhir/CarePlan/{cid}/_history/1", None, "vread", "R"),
        ("GET", f"/fhir/CarePlan/{cid}/_history", None, "history-instance", "R"),
        ("GET", f"/fhir/CarePlan?subject=Patient/{pid}", None, "search-type", "E"),
        ("DELETE", f"/fhir/CarePlan/{cid}", None, "delete", "D"),
    ]
    for method, url, body, *_ in steps:
        headers = {**doc, "If-Match": 'W/"1"'} if method == "DELETE" else doc
        resp = await client.request(method, url, headers={**JSON, **headers},
                                    content=orjson.dumps(body) if body else None)
        assert resp.status_code < 300, (url, resp.text)
    got = [(e["subtype"][0]["code"], e["action"]) for e in await _patient_events(db, pid)]
    want = [(sub, act) for *_, sub, act in steps]
    want[0] = (got[0][0], "C") if got and got[0][0] == "create" else want[0]
    assert got == want


async def test_no_access_without_a_log(fresh_db: Database, bearer: Bearer) -> None:
    from sqlalchemy import text

    from app.main import create_app

    app = create_app(fresh_db.settings, fresh_db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        orgnr, org_id = await _register_org(c, bearer, "phv")
        pid = await _in_care(fresh_db, org_id)
        plan = F.care_plan(f"c{F.uid()}", f"Patient/{pid}")
        plan["description"] = "Hemmelig innhold"
        await F.store(fresh_db, plan)
        doctor = bearer(F.health_claims(org=orgnr, scope="user/*.cruds"))
        assert (await c.get(f"/fhir/CarePlan/{plan['id']}", headers=doctor)).status_code == 200
        async with fresh_db.session(write=True) as s:
            await s.execute(text("DROP TABLE audit_event_index"))
        for url in (f"/fhir/CarePlan/{plan['id']}", f"/fhir/CarePlan?subject=Patient/{pid}"):
            resp = await c.get(url, headers=doctor)
            assert resp.status_code == 503, resp.text
            assert "Hemmelig" not in resp.text
        resp = await c.post("/fhir/CarePlan", content=orjson.dumps(F.care_plan("n", f"Patient/{pid}")),
                            headers={**JSON, **doctor})
        assert resp.status_code == 503
        async with fresh_db.session(write=False) as s:
            n = (await s.execute(text(
                "SELECT count(*) FROM resources WHERE res_type = 'CarePlan'"))).scalar_one()
        assert n == 1  # the write was rolled back with its audit
        count = await c.get(f"/fhir/CarePlan?subject=Patient/{pid}&_summary=count",
                            headers=bearer(F.claims(scope="fellesplan/admin system/*.cruds")))
        assert count.status_code == 503
