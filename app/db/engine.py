"""Engines and the unit of work: one transaction per request, committed on success.

SQLite allows one writer at a time: write sessions are serialised in-process and begin with
BEGIN IMMEDIATE, so a transaction never fails halfway when it upgrades from read to write.
SQLite read sessions run in autocommit (per-statement snapshots, like READ COMMITTED).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from app.config import Settings
from app.db.lean import LeanReader


def _sqlite_engine(url: str, settings: Settings, *, immediate: bool) -> AsyncEngine:
    """An aiosqlite engine with WAL, a busy timeout and explicit BEGIN handling."""
    path = make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, pool_size=settings.db_pool_size, max_overflow=0)
    sync = settings.sqlite_synchronous

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
        # Take over transaction control from the sqlite3 module (SQLAlchemy's documented recipe).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={sync}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    if immediate:
        @event.listens_for(engine.sync_engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    # Read sessions run in autocommit: each statement sees its own snapshot, as under
    # PostgreSQL's READ COMMITTED, and a read saves the BEGIN (three thread hops on aiosqlite).
    return engine


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _pg_connect_args(url: str) -> dict[str, Any]:
    """Skip asyncpg's TLS attempt on loopback (it costs a round trip per new connection)."""
    parsed = make_url(url)
    if parsed.host in _LOOPBACK and "ssl" not in parsed.query and "sslmode" not in parsed.query:
        return {"ssl": False}
    return {}


class Database:
    """The application's database: engines, the SQLite write lock, and sessions."""

    def __init__(self, settings: Settings, url: str | None = None) -> None:
        self.settings = settings
        self.url = url or settings.database_url
        self.is_sqlite = self.url.startswith("sqlite")
        self._write_lock: asyncio.Lock | None = None
        if self.is_sqlite:
            self.read_engine = _sqlite_engine(self.url, settings, immediate=False)
            self.write_engine = _sqlite_engine(self.url, settings, immediate=True)
            self._write_lock = asyncio.Lock()
        else:
            # A fixed pool: overflow connections are opened and closed per request under load,
            # and reconnect churn costs more than waiting briefly for a pooled connection.
            self.read_engine = create_async_engine(
                self.url,
                pool_size=settings.db_pool_size,
                max_overflow=0,
                pool_timeout=30,
                pool_pre_ping=False,
                connect_args=_pg_connect_args(self.url),
            )
            self.write_engine = self.read_engine
        self.lean = self._lean_reader()

    def _lean_reader(self) -> LeanReader:
        """Read-only driver connections for single-statement reads (app/db/lean.py)."""
        args = {} if self.is_sqlite else _pg_connect_args(self.url)
        return LeanReader(self.url, self.read_engine.dialect, self.settings.db_pool_size, args)

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.write_engine.dialect.name

    @asynccontextmanager
    async def session(self, write: bool) -> AsyncIterator[AsyncSession]:
        """One transaction: commit when the block exits normally, roll back on any exception."""
        if write and self._write_lock is not None:
            async with self._write_lock, self._open(self.write_engine, write) as s:
                yield s
        else:
            async with self._open(self.write_engine if write else self.read_engine, write) as s:
                yield s

    @asynccontextmanager
    async def _open(self, engine: AsyncEngine, write: bool) -> AsyncIterator[AsyncSession]:
        session = AsyncSession(engine, expire_on_commit=False, autoflush=False)
        session.info["write"] = write
        session.info["db"] = self
        session.info["dialect"] = engine.dialect.name
        try:
            yield session
            # A session that never began a transaction has nothing to commit (a plain read).
            if session.in_transaction() or session.new or session.dirty or session.deleted:
                await session.commit()
        except BaseException:
            await session.rollback()
            raise
        finally:
            await session.close()

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.lean.close()
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()

