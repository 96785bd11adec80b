"""End to end over HTTP with real tokens: emergency by header, the patient, next of kin, NAV."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio

from app.config import Settings
from app.db.engine import Database
from app.main import create_app
from app.security import claims as C
from tests.conftest import BASE, database_url
from tests.consent import world_fixed
from tests.consent.world import FNR, Actor, World, render, store
from tests.security import factories as F


@pytest_asyncio.fixture(loop_scope="session")
async def auth_db(backend: str, tmp_path: Path) -> AsyncIterator[Database]:
    """A fresh database behind an app with authentication on (test JWKS)."""
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(F.jwks((F.rsa_key(), "rsa1"))))
    url = await database_url(backend, "_consent_http")
    settings = Settings(database_url=url, base_url=BASE, env="test", auth_enabled=True,
                        jwks_file=str(jwks), token_issuer=F.ISSUER, token_audience=F.AUDIENCE,
                        dev_key_file=str(tmp_path / "none.pem"), actor_cache_seconds=0,
                        token_cache_seconds=0)
    db = Database(settings, url)
    yield db
    await db.dispose()


def token(a: Actor, scope: str = "user/*.cruds", **extra: Any) -> dict[str, str]:
    """Authorization header of a HelseID-shaped token for the actor."""
    ids = C.helseid_claims(pid=a.pid, hpr=a.prac.hpr if a.prac else None,
                           org=a.org.orgnr if a.org else None, org_parent=None, name=a.name)
    claims = F.claims(**ids, scope=scope, **extra)
    return {"Authorization": f"Bearer {F.sign(claims, F.rsa_key(), 'rsa1')}"}


async def world(db: Database) -> tuple[World, dict[str, Actor], dict[str, str]]:
    w, a, ids = world_fixed.build()
    resources = render(w)
    for r in resources:  # the patient logs in with her pid: register it on her Patient
        if r["resourceType"] == "Patient" and r["id"] == ids["kari"]:
            r["identifier"] = [{"system": FNR, "value": a["pasient"].pid}]
        if r["resourceType"] == "RelatedPerson" and r["id"] == ids["bror"]:
            r["identifier"] = [{"system": FNR, "value": a["parorende-med-samtykke"].pid}]
    await store(db, resources)
    return w, a, ids


async def test_actors_over_http(auth_db: Database) -> None:
    _, a, ids = await world(auth_db)
    app = create_app(auth_db.settings, auth_db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/fhir") as c:
        kp, ip = f"/CarePlan/{ids['kari-kp']}", f"/CarePlan/{ids['kari-ip']}"
        doc = a["legevakt-uten-nod"]
        assert (await c.get(kp, headers=token(doc))).status_code == 404
        bg = token(doc, "user/*.cruds fellesplan/break-glass")
        r = await c.get(kp, headers={**bg, "X-Purpose-Of-Use": "ETREAT",
                                     "X-Break-Glass-Reason": "Bevisstlos, ingen parorende"})
        assert r.status_code == 200, r.text
        assert (await c.get(ip, headers={**bg, "X-Purpose-Of-Use": "ETREAT",
                                         "X-Break-Glass-Reason": "x"})).status_code == 404
        # A purpose header without the break-glass scope, or without a reason, grants nothing.
        assert (await c.get(kp, headers={**token(doc), "X-Purpose-Of-Use": "ETREAT",
                                         "X-Break-Glass-Reason": "x"})).status_code == 404
        assert (await c.get(kp, headers={**bg, "X-Purpose-Of-Use": "ETREAT"})).status_code == 404
        r = await c.get(ip, headers=token(a["pasient"]))
        assert r.status_code == 200 and "security" not in r.json().get("meta", {})
        r = await c.get(kp, headers=token(a["parorende-med-samtykke"]))
        assert r.status_code == 200 and len(r.json()["activity"]) == 2
        r = await c.get("/CarePlan", headers=token(a["nav"]))
        assert [e["resource"]["id"] for e in r.json()["entry"]] == [ids["kari-ip"]]
        assert r.json()["total"] == 1
        r = await c.get("/Goal", headers=token(a["admin"], "fellesplan/admin user/*.cruds"))
        assert r.status_code == 200 and r.json()["total"] == 0
