"""Development mode, production guard, CLI commands, SMART discovery and rest.security."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import text

from app.config import Settings
from app.db.engine import Database
from app.security import smart
from app.security.cli import audit as audit_cli
from app.security.cli import token as token_cli
from app.security.devkeys import ensure_dev_key, mint_dev_token
from tests.security import factories as F


def test_production_refuses_to_start_without_jwks() -> None:
    with pytest.raises(ValidationError, match="production requires"):
        Settings(env="production", auth_enabled=True, token_issuer=F.ISSUER)
    with pytest.raises(ValidationError, match="AUTH_ENABLED"):
        Settings(env="production", jwks_url=F.JWKS_URL, token_issuer=F.ISSUER)
    ok = Settings(env="production", auth_enabled=True, jwks_url=F.JWKS_URL,
                  token_issuer=F.ISSUER)
    assert not ok.trusts_dev_key


def test_dev_key_is_created_private_and_reused(tmp_path: Path) -> None:
    path = str(tmp_path / "sub" / "dev.pem")
    key = ensure_dev_key(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ensure_dev_key(path).private_numbers() == key.private_numbers()


def test_minted_token_has_helseid_claims(tmp_path: Path) -> None:
    s = F.settings(dev_key_file=str(tmp_path / "dev.pem"))
    tok = mint_dev_token(pid="13811199943", hpr="123", org="974600951", scopes=["user/*.rs"],
                         purpose="ETREAT", settings=s)
    claims = jwt.decode(tok, options={"verify_signature": False})
    assert claims["helseid://claims/identity/pid"] == "13811199943"
    assert claims["helseid://claims/hpr/hpr_number"] == "123"
    assert claims["helseid://claims/client/claims/orgnr_child"] == "974600951"
    assert claims["scope"] == "user/*.rs"
    assert claims["authorization_details"][0]["care_relationship"]["purpose_of_use"][
        "code"] == "ETREAT"
    assert jwt.get_unverified_header(tok)["alg"] == "ES256"


def test_token_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import get_settings

    monkeypatch.setenv("FELLESPLAN_DEV_KEY_FILE", str(tmp_path / "dev.pem"))
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(token_cli, ["--hpr", "9", "--org", "974600951",
                                             "--scope", "user/*.rs fellesplan/audit"])
        assert res.exit_code == 0, res.output
        claims = jwt.decode(res.output.strip(), options={"verify_signature": False})
        assert claims["scope"] == "user/*.rs fellesplan/audit"
        monkeypatch.setenv("FELLESPLAN_ENV", "production")
        monkeypatch.setenv("FELLESPLAN_AUTH_ENABLED", "true")
        monkeypatch.setenv("FELLESPLAN_JWKS_URL", F.JWKS_URL)
        monkeypatch.setenv("FELLESPLAN_TOKEN_ISSUER", F.ISSUER)
        get_settings.cache_clear()
        res = CliRunner().invoke(token_cli, ["--hpr", "9"])
        assert res.exit_code != 0 and "production" in res.output
    finally:
        get_settings.cache_clear()


async def test_audit_verify_command(fresh_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from app.config import get_settings
    from tests.security.test_audit_chain import _fill

    await _fill(fresh_db)
    monkeypatch.setenv("FELLESPLAN_DATABASE_URL", fresh_db.url)
    get_settings.cache_clear()
    try:
        res = await asyncio.to_thread(CliRunner().invoke, audit_cli, ["verify"])
        assert res.exit_code == 0 and "intact: 6 events" in res.output, res.output
        anchor = res.output.strip().rsplit(" ", 1)[-1]
        res = await asyncio.to_thread(CliRunner().invoke, audit_cli,
                                      ["verify", "--anchor", anchor])
        assert res.exit_code == 0, res.output
        res = await asyncio.to_thread(CliRunner().invoke, audit_cli, ["verify", "--anchor", "x"])
        assert res.exit_code == 2
        async with fresh_db.session(write=True) as s:
            await s.execute(text("UPDATE audit_events SET content = :c WHERE seq = 5"),
                            {"c": b"{}"})
        res = await asyncio.to_thread(CliRunner().invoke, audit_cli, ["verify"])
        assert res.exit_code == 1 and "BROKEN at seq 5" in res.output, res.output
    finally:
        get_settings.cache_clear()


def _smart_app(settings: Settings) -> FastAPI:
    app = FastAPI()
    app.state.settings = settings
    app.include_router(smart.router, prefix="/fhir")
    return app


async def test_smart_configuration_is_public() -> None:
    s = F.settings()
    transport = httpx.ASGITransport(app=_smart_app(s))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        resp = await c.get("/fhir/.well-known/smart-configuration")
    assert resp.status_code == 200
    doc: dict[str, Any] = resp.json()
    assert doc["issuer"] == F.ISSUER
    assert doc["token_endpoint"] == f"{F.ISSUER}/connect/token"
    assert doc["jwks_uri"] == F.JWKS_URL
    assert "permission-v2" in doc["capabilities"]
    assert "fellesplan/audit" in doc["scopes_supported"]


def test_security_element_is_valid_fhir() -> None:
    from app.fhir.models import model_class

    s = F.settings(oauth_token_url="https://helseid-sts.nhn.no/connect/token")
    el = smart.security_element(s)
    model_class("CapabilityStatementRestSecurity").model_validate(el)
    uris = {e["url"]: e["valueUri"] for e in el["extension"][0]["extension"]}
    assert uris["token"] == "https://helseid-sts.nhn.no/connect/token"
    assert el["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"


def test_scope_map_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FELLESPLAN_SCOPE_MAP", '{"nhn:fellesplan/api": ["user/*.cruds"]}')
    assert Settings().scope_map == {"nhn:fellesplan/api": ["user/*.cruds"]}


async def test_dev_tokens_command_prints_working_tokens(
    fresh_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from app.config import get_settings
    from app.security.cli import dev_tokens
    from app.security.tokens import KeyStore, verify

    orgnr, fnr = F.orgnr(), F.fnr()
    await F.store(fresh_db, F.organization(orgnr, "fastlege", "Legekontoret", "lk"),
                  F.patient(fnr, "pat1"))
    monkeypatch.setenv("FELLESPLAN_DATABASE_URL", fresh_db.url)
    monkeypatch.setenv("FELLESPLAN_DEV_KEY_FILE", str(tmp_path / "dev.pem"))
    get_settings.cache_clear()
    try:
        res = await asyncio.to_thread(CliRunner().invoke, dev_tokens, [])
        assert res.exit_code == 0, res.output
        s = get_settings()
        tokens = [line.split("Bearer ", 1)[1] for line in res.output.splitlines()
                  if line.startswith("Authorization: Bearer ")]
        assert len(tokens) == 4  # admin, supervision, one organisation, one patient
        claims = [await verify(t, KeyStore(s), s) for t in tokens]
    finally:
        get_settings.cache_clear()
    assert "Legekontoret" in res.output and "fastlege" in res.output
    assert claims[2]["helseid://claims/client/claims/orgnr_child"] == orgnr
    assert claims[3]["helseid://claims/identity/pid"] == fnr


def test_production_jwks_must_be_https() -> None:
    with pytest.raises(ValidationError, match="https"):
        Settings(env="production", auth_enabled=True, token_issuer=F.ISSUER,
                 jwks_url="http://helseid-sts.nhn.no/jwks")


def test_production_extra_issuers_need_https_jwks() -> None:
    base: dict[str, Any] = {"env": "production", "auth_enabled": True,
                            "token_issuer": F.ISSUER, "jwks_url": F.JWKS_URL}
    with pytest.raises(ValidationError, match="every extra issuer"):
        Settings(**base, extra_issuers=[{"issuer": "https://x"}])
    with pytest.raises(ValidationError, match="https"):
        Settings(**base, extra_issuers=[{"issuer": "https://x", "jwks_url": "http://x/jwks"}])
    ok = Settings(**base, extra_issuers=[{"issuer": "https://x", "jwks_url": "https://x/jwks"}])
    assert ok.extra_issuers[0].actor_kinds == ["person"]
