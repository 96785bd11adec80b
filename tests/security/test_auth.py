"""authenticate(): open mode, bearer parsing, per-request facts, the verified-token cache."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from app.config import Settings
from app.db.engine import Database
from app.fhir.errors import Unauthorized
from app.security import claims as C
from app.security.actors import classify
from app.security.auth import authenticate
from app.services.context import ActorKind
from tests.security import factories as F
from tests.security.conftest import auth_settings


def _request(db: Any, headers: dict[str, str]) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(db=db))
    scope = {"type": "http", "method": "GET", "path": "/fhir/CarePlan", "app": app,
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("192.0.2.10", 5555), "query_string": b""}
    return Request(scope)


async def test_disabled_auth_is_open(db: Database) -> None:
    ctx = await authenticate(_request(db, {"X-Request-Id": "abc"}), Settings(env="test"))
    assert ctx.kind is ActorKind.OPEN and ctx.request_id == "abc" and ctx.privileged


async def test_per_request_facts(db: Database) -> None:
    tok = F.sign(F.health_claims(**{C.TRUST_FRAMEWORK: {"care_relationship": {
        "purpose_of_use": "ETREAT"}}}), F.rsa_key(), "rsa1")
    req = _request(db, {"Authorization": f"bearer {tok}", "X-Request-Id": "r-1",
                        "X-Fellesplan-Break-Glass": "  Bevisstløs pasient  "})
    ctx = await authenticate(req, db.settings)
    assert ctx.kind is ActorKind.HEALTH
    assert (ctx.request_id, ctx.address) == ("r-1", "192.0.2.10")
    assert ctx.break_glass_reason == "Bevisstløs pasient" and ctx.emergency


async def test_verified_token_cache(db: Database, tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(F.jwks((F.rsa_key(), "rsa1"))))
    s = auth_settings(db.url, str(jwks), token_cache_seconds=60, jwks_min_refresh_seconds=0)
    tok = F.sign(F.health_claims(), F.rsa_key(), "rsa1")
    first = await authenticate(_request(db, {"Authorization": f"Bearer {tok}"}), s)
    jwks.unlink()  # keys gone: only the cache can answer now
    again = await authenticate(_request(db, {"Authorization": f"Bearer {tok}"}), s)
    assert again.hpr == first.hpr and again.request_id != first.request_id
    other = F.sign(F.health_claims(hpr="1"), F.rsa_key("b"), "rsa2")
    with pytest.raises(Unauthorized):
        await authenticate(_request(db, {"Authorization": f"Bearer {other}"}), s)


async def test_cache_never_outlives_the_token(db: Database, tmp_path: Path) -> None:
    import time

    from app.security.auth import authenticator_for

    (tmp_path / "j.json").write_text(json.dumps(F.jwks((F.rsa_key(), "rsa1"))))
    s = auth_settings(db.url, str(tmp_path / "j.json"), token_cache_seconds=600)
    exp = int(time.time()) + 10
    tok = F.sign(F.health_claims(exp=exp), F.rsa_key(), "rsa1")
    await authenticate(_request(db, {"Authorization": f"Bearer {tok}"}), s)
    (until, _), = authenticator_for(s)._cache.values()
    assert until == exp


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from([C.PID, C.HPR, C.ORG_CHILD, C.ORG_PARENT, "scope",
                                        "authorization_details", C.TRUST_FRAMEWORK, "name"]),
                       json_values))
def test_odd_claim_shapes_never_crash(claims: dict[str, Any]) -> None:
    kind = classify(claims, C.scopes(claims))
    assert kind in ActorKind
    C.care_relationship(claims)


@pytest.mark.parametrize(("level", "ok"), [("4", True), (None, False), ("3", False),
                                           ("high", False)])
async def test_minimum_security_level_for_persons(db: Database, tmp_path: Path,
                                                  level: str | None, ok: bool) -> None:
    (tmp_path / "j.json").write_text(json.dumps(F.jwks((F.rsa_key(), "rsa1"))))
    s = auth_settings(db.url, str(tmp_path / "j.json"), min_security_level=4)
    claims = F.claims(**{C.PID: F.digits(), C.SECURITY_LEVEL: level})
    req = _request(db, {"Authorization": f"Bearer {F.sign(claims, F.rsa_key(), 'rsa1')}"})
    if ok:
        assert (await authenticate(req, s)).kind is ActorKind.PERSON
    else:
        with pytest.raises(Unauthorized) as exc:
            await authenticate(req, s)
        assert "insufficient_user_authentication" in exc.value.headers["WWW-Authenticate"]
    system = F.claims(**{C.ORG_CHILD: F.ORG_UNKNOWN})  # no person: no level needed
    req = _request(db, {"Authorization": f"Bearer {F.sign(system, F.rsa_key(), 'rsa1')}"})
    assert (await authenticate(req, s)).kind is ActorKind.CLIENT


CITIZEN_ISS = "https://login.helsenorge.test"


def _two_issuers(db: Database, tmp_path: Path) -> Settings:
    (tmp_path / "main.json").write_text(json.dumps(F.jwks((F.rsa_key(), "same-kid"))))
    (tmp_path / "citizen.json").write_text(json.dumps(F.jwks((F.ec_key("c"), "same-kid"))))
    extra = [{"issuer": CITIZEN_ISS, "jwks_file": str(tmp_path / "citizen.json"),
              "audience": "fellesplan-innbygger", "actor_kinds": ["person"]}]
    return auth_settings(db.url, str(tmp_path / "main.json"), extra_issuers=extra)


def _bearer(claims: dict[str, Any], key: Any, alg: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {F.sign(claims, key, 'same-kid', alg)}"}


async def test_extra_issuer_vouches_for_persons_only(db: Database, tmp_path: Path) -> None:
    s = _two_issuers(db, tmp_path)
    citizen = F.claims(iss=CITIZEN_ISS, aud="fellesplan-innbygger", **{C.PID: F.digits()})
    ctx = await authenticate(_request(db, _bearer(citizen, F.ec_key("c"), "ES256")), s)
    assert ctx.kind is ActorKind.PERSON
    # The same kid at the main issuer is a different key: routing is by issuer, not by kid.
    doctor = F.health_claims()
    assert (await authenticate(_request(db, _bearer(doctor, F.rsa_key(), "RS256")), s)
            ).kind is ActorKind.HEALTH
    forged = F.claims(iss=CITIZEN_ISS, aud="fellesplan-innbygger", **{
        C.PID: F.digits(), C.HPR: F.HPR_DOCTOR, C.ORG_CHILD: F.ORG_LEGEVAKT})
    with pytest.raises(Unauthorized, match="not trusted for this actor"):
        await authenticate(_request(db, _bearer(forged, F.ec_key("c"), "ES256")), s)


@pytest.mark.parametrize(("overrides", "key", "alg", "message"), [
    ({"aud": F.AUDIENCE}, "c", "ES256", "audience"),  # the citizen issuer's own audience only
    ({}, "main", "RS256", "does not match"),  # the main issuer's key never signs for another
    ({}, "other", "ES256", "signature"),
    ({"iss": "https://unknown.example"}, "c", "ES256", "trusted issuer"),
])
async def test_extra_issuer_bindings(db: Database, tmp_path: Path, overrides: dict[str, Any],
                                     key: str, alg: str, message: str) -> None:
    s = _two_issuers(db, tmp_path)
    claims = F.claims(**{"iss": CITIZEN_ISS, "aud": "fellesplan-innbygger",
                         C.PID: F.digits(), **overrides})
    signer = {"c": F.ec_key("c"), "main": F.rsa_key(), "other": F.ec_key("other")}[key]
    with pytest.raises(Unauthorized, match=message):
        await authenticate(_request(db, _bearer(claims, signer, alg)), s)
