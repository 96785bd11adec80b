"""Single-statement reads on read-only driver connections: no ORM, no BEGIN/COMMIT, one hop.

A read by id is one SELECT, and one statement in autocommit sees one consistent snapshot, so
the session's BEGIN/COMMIT and SQLAlchemy's cursor adaptation (four thread hops per statement
on aiosqlite, one `BEGIN` more) buy nothing there. The repository builds the statement (Core);
this module compiles it once per dialect and runs it on a connection of its own small pool.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class Compiled:
    """A SELECT compiled for one dialect: positional SQL, bind order and result converters."""

    sql: str
    binds: tuple[str, ...]
    processors: tuple[Processor, ...]


def compile_select(stmt: Select[Any], dialect: Dialect) -> Compiled:
    """Compile once: the driver's paramstyle, and the column types' result processors."""
    compiled = stmt.compile(dialect=dialect)
    binds = tuple(compiled.positiontup or ())
    procs = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None)
                  for c in stmt.selected_columns)
    return Compiled(compiled.string, binds, procs)


class LeanReader:
    """A fixed pool of read-only driver connections (aiosqlite or asyncpg) for one database."""

    def __init__(self, url: str, dialect: Dialect, size: int, connect_args: Mapping[str, Any]) -> None:
        self.url = make_url(url)
        self.dialect = dialect
        self.size = size
        self.connect_args = dict(connect_args)
        self._compiled: dict[Select[Any], Compiled] = {}
        self._idle: asyncio.Queue[Any] = asyncio.Queue()
        self._opened = 0
        self._pg: Any = None

    def compiled(self, stmt: Select[Any]) -> Compiled:
        """The compiled form of a module-level statement (build each statement once)."""
        hit = self._compiled.get(stmt)
        if hit is None:
            hit = self._compiled[stmt] = compile_select(stmt, self.dialect)
        return hit

    async def fetch(self, stmt: Select[Any], params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row of the statement, converted as SQLAlchemy would."""
        c = self.compiled(stmt)
        args = [params[name] for name in c.binds]
        raw: Sequence[Sequence[Any]]
        if self.dialect.name == "postgresql":
            pool = self._pg or await self._open_pg()
            raw = await pool.fetch(c.sql, *args)
        else:
            conn = await self._acquire()
            try:
                raw = list(await conn.execute_fetchall(c.sql, args))
            finally:
                self._idle.put_nowait(conn)
        return [tuple(v if p is None else p(v) for p, v in zip(c.processors, r, strict=True))
                for r in raw]

    async def _open_pg(self) -> Any:
        """The asyncpg pool, opened on first use (it needs the running loop)."""
        import asyncpg

        if self._pg is None:
            dsn = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._pg = await asyncpg.create_pool(
                dsn, min_size=1, max_size=self.size, reset=_no_reset,
                server_settings={"default_transaction_read_only": "on"}, **self.connect_args)
        return self._pg

    async def _acquire(self) -> Any:
        """An idle SQLite connection, a new one while the pool is not full, or the next freed."""
        if not self._idle.empty() or self._opened >= self.size:
            return await self._idle.get()
        self._opened += 1
        try:
            return await _open_sqlite(str(self.url.database))
        except BaseException:
            self._opened -= 1
            raise

    async def close(self) -> None:
        """Close every connection."""
        if self._pg is not None:
            await self._pg.close()
            self._pg = None
        while not self._idle.empty():
            await self._idle.get_nowait().close()
        self._opened = 0


def lean_for(session: AsyncSession) -> LeanReader | None:
    """The lean reader of a read session's Database; None for a write session (it must see its
    own uncommitted writes, which the lean connections cannot)."""
    if session.info.get("write") is not False:
        return None
    lean: LeanReader | None = getattr(session.info.get("db"), "lean", None)
    return lean


async def _no_reset(conn: Any) -> None:
    """Pool release without asyncpg's reset query: these connections only ever run a SELECT."""


async def _open_sqlite(path: str) -> Any:
    """A read-only aiosqlite connection in autocommit mode (WAL readers never block the writer)."""
    import aiosqlite

    conn = await aiosqlite.connect(path, isolation_level=None)
    await conn.execute("PRAGMA query_only=ON")
    await conn.execute("PRAGMA busy_timeout=30000")
    return conn
