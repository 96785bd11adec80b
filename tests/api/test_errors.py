"""The error handlers map driver errors to the right FHIR status."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.api.errors import _dbapi_error, _sqlstate
from app.db.engine import Database


async def test_postgres_deadlock_is_409_not_500(db: Database, backend: str) -> None:
    """Provoke a real deadlock on PostgreSQL and check the SQLSTATE the handler keys on."""
    if backend != "postgres":
        pytest.skip("deadlocks need two real PostgreSQL sessions")
    async with db.session(write=True) as s:
        await s.execute(text("CREATE TABLE IF NOT EXISTS deadlock_probe (id int primary key, v int)"))
        await s.execute(text("INSERT INTO deadlock_probe VALUES (1, 0), (2, 0) ON CONFLICT DO NOTHING"))
    errors: list[BaseException] = []

    async def worker(first: int, second: int) -> None:
        try:
            async with db.session(write=True) as s:
                await s.execute(text("UPDATE deadlock_probe SET v = v + 1 WHERE id = :i"), {"i": first})
                await asyncio.sleep(0.3)
                await s.execute(text("UPDATE deadlock_probe SET v = v + 1 WHERE id = :i"), {"i": second})
        except DBAPIError as exc:
            errors.append(exc)

    await asyncio.gather(worker(1, 2), worker(2, 1))
    assert len(errors) == 1
    assert _sqlstate(errors[0]) == "40P01"
    resp = await _dbapi_error(None, errors[0])  # type: ignore[arg-type]
    assert resp.status_code == 409 and b"retry" in bytes(resp.body)


async def test_unhandled_error_is_500_operation_outcome(client: httpx.AsyncClient) -> None:
    app = client._transport.app  # type: ignore[attr-defined]

    async def boom() -> None:
        raise RuntimeError("bug")

    app.add_api_route("/boom", boom)
    resp = await client.get("/boom")
    assert resp.status_code == 500
    body = resp.json()
    assert body["resourceType"] == "OperationOutcome" and "bug" not in resp.text
