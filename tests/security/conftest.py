"""Security test fixtures: own migrated databases (security_*), an app with auth on, tokens."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.config import Settings
from app.db.engine import Database
from app.db.migrate import upgrade
from app.main import create_app
from tests.security import factories as F

PG_URL = os.environ.get("FELLESPLAN_TEST_PG_URL")
BACKENDS = ["sqlite", "postgres"] if PG_URL else ["sqlite"]
BASE = "http://test/fhir"
_TMP = Path(tempfile.mkdtemp(prefix="fellesplan-security-"))
_SEQ = itertools.count()


async def _fresh_url(backend: str, label: str) -> str:
    """A new, migrated database named security_<worker>_<label> (migrations run for real)."""
    name = f"security_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{label}"
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{_TMP / (name + '.db')}"
    else:
        assert PG_URL is not None
        admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
        url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, url)
    return url


def auth_settings(url: str, jwks_file: str, **kw: Any) -> Settings:
    """Settings with authentication on, trusting the test JWKS file."""
    base: dict[str, Any] = {
        "database_url": url, "base_url": BASE, "env": "test", "auth_enabled": True,
        "jwks_file": jwks_file, "token_issuer": F.ISSUER, "token_audience": F.AUDIENCE,
        "dev_key_file": str(_TMP / "no-dev-key.pem"), "actor_cache_seconds": 0,
        "token_cache_seconds": 0,
    }
    base.update(kw)
    return Settings(**base)


@pytest.fixture(scope="session")
def jwks_file() -> str:
    """A JWKS file with the test RSA and EC keys."""
    path = _TMP / "jwks.json"
    path.write_text(json.dumps(F.jwks((F.rsa_key(), "rsa1"), (F.ec_key(), "ec1"))))
    return str(path)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def databases(jwks_file: str) -> AsyncIterator[dict[str, Database]]:
    """One migrated Database per backend, shared by this directory's tests (auth on)."""
    dbs: dict[str, Database] = {}
    for backend in BACKENDS:
        url = await _fresh_url(backend, "shared")
        dbs[backend] = Database(auth_settings(url, jwks_file), url)
    yield dbs
    for db in dbs.values():
        await db.dispose()


# `backend` and `db` come from tests/conftest.py; they pick up the `databases` above.


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_db(backend: str, jwks_file: str) -> AsyncIterator[Database]:
    """A Database of its own (for tests that tamper with the audit chain)."""
    url = await _fresh_url(backend, f"t{next(_SEQ)}")
    database = Database(auth_settings(url, jwks_file), url)
    yield database
    await database.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the app with authentication on."""
    app = create_app(db.settings, db)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.fixture
def bearer() -> Callable[..., dict[str, str]]:
    """Authorization headers for a token with the given claims."""

    def make(claims: dict[str, Any], alg: str = "RS256") -> dict[str, str]:
        key, kid = (F.ec_key(), "ec1") if alg == "ES256" else (F.rsa_key(), "rsa1")
        return {"Authorization": f"Bearer {F.sign(claims, key, kid, alg)}"}

    return make
