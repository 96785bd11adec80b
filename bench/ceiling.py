"""The ceiling: a bare Starlette app on the same uvicorn that reads the stored row with raw SQL.

It uses the same driver as Fellesplan (aiosqlite or asyncpg) and the same pool size, and returns
the stored bytes, so the gap to it is what Fellesplan's own layers cost. GET /ping is the trivial
endpoint that shows the load generator's capacity.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_SQL = "SELECT content, version_id FROM resources WHERE res_type = {0} AND res_id = {1}"
POOL = int(os.environ.get("BENCH_CEILING_POOL", "10"))


class _SqlitePool:
    """A fixed set of aiosqlite connections handed out through a queue."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.free: asyncio.Queue[Any] = asyncio.Queue()

    async def open(self) -> None:
        import aiosqlite

        for _ in range(POOL):
            conn = await aiosqlite.connect(self.path)
            await conn.execute("PRAGMA journal_mode=WAL")
            self.free.put_nowait(conn)

    async def fetch(self, res_type: str, res_id: str) -> tuple[bytes, int] | None:
        conn = await self.free.get()
        try:
            async with conn.execute(_SQL.format("?", "?"), (res_type, res_id)) as cur:
                row = await cur.fetchone()
        finally:
            self.free.put_nowait(conn)
        return (bytes(row[0]), int(row[1])) if row else None

    async def close(self) -> None:
        while not self.free.empty():
            await self.free.get_nowait().close()


class _PgPool:
    """An asyncpg pool."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.pool: Any = None

    async def open(self) -> None:
        import asyncpg

        self.pool = await asyncpg.create_pool(self.dsn, min_size=POOL, max_size=POOL)

    async def fetch(self, res_type: str, res_id: str) -> tuple[bytes, int] | None:
        row = await self.pool.fetchrow(_SQL.format("$1", "$2"), res_type, res_id)
        return (bytes(row[0]), int(row[1])) if row else None

    async def close(self) -> None:
        await self.pool.close()


def _pool(url: str) -> _SqlitePool | _PgPool:
    """The pool for a SQLAlchemy-style database URL."""
    if url.startswith("sqlite"):
        return _SqlitePool(url.split(":///", 1)[1])
    return _PgPool(url.replace("postgresql+asyncpg://", "postgresql://", 1))


def create_app() -> Starlette:
    """The ceiling app for BENCH_CEILING_DB (the URL Fellesplan uses)."""
    pool = _pool(os.environ["BENCH_CEILING_DB"])

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await pool.open()
        yield
        await pool.close()

    async def read(request: Request) -> Response:
        found = await pool.fetch(request.path_params["type"], request.path_params["id"])
        if found is None:
            return Response(b"{}", status_code=404, media_type="application/fhir+json")
        return Response(found[0], media_type="application/fhir+json", headers={"ETag": f'W/"{found[1]}"'})

    async def ping(request: Request) -> Response:
        return Response(b"ok", media_type="text/plain")

    return Starlette(routes=[Route("/ping", ping), Route("/fhir/{type}/{id}", read)], lifespan=lifespan)
