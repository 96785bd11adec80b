"""SQL for stored resources and their versions (the only place that touches these tables)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from sqlalchemy import Table, and_, bindparam, func, insert, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.lean import lean_for
from app.db.subscription_tables import ChangeRow
from app.db.tables import ResourceRow, VersionRow
from app.repository import indexes, outbox
from app.services.context import RequestContext

_V2 = aliased(VersionRow)
_RES = cast(Table, ResourceRow.__table__)
_RC = _RES.c
_VC = cast(Table, VersionRow.__table__).c
RESOURCE_COLUMNS = ("pk", "res_type", "res_id", "version_id", "last_updated", "deleted", "content")
_VER_COLS = ("seq", "res_pk", "res_type", "res_id", "version_id", "last_updated", "method", "deleted",
             "content")
# Plain reads by key, run on the lean reader (app/db/lean.py): built once, compiled once per dialect.
_CURRENT = select(*(_RC[c] for c in RESOURCE_COLUMNS)).where(
    _RC.res_type == bindparam("t"), _RC.res_id == bindparam("i"))
_VERSION = select(*(_VC[c] for c in _VER_COLS)).where(
    _VC.res_type == bindparam("t"), _VC.res_id == bindparam("i"), _VC.version_id == bindparam("v"))
_KEY_BATCH = 500  # (type, id) pairs per SELECT: 1,000 bind parameters
# Built once: Core statements skip the ORM's per-row bookkeeping and recompilation.
_INSERT_CURRENT = insert(_RES).returning(_RES.c.pk, _RES.c.res_type, _RES.c.res_id)
_INSERT_VERSION = insert(cast(Table, VersionRow.__table__))
_UPDATE_CURRENT = update(_RES).where(_RES.c.pk == bindparam("b_pk"),
                                     _RES.c.version_id == bindparam("b_expected"))


_Row = TypeVar("_Row", ResourceRow, VersionRow)


def detached_row(cls: type[_Row], names: tuple[str, ...], values: tuple[Any, ...]) -> _Row:
    """A detached row filled as the ORM's loader fills one (no attribute events, no session)."""
    obj: _Row = cls.__mapper__.class_manager.new_instance()
    obj.__dict__.update(zip(names, values, strict=True))
    return obj


@dataclass(frozen=True, slots=True)
class NewVersion:
    """A version about to be written."""

    res_type: str
    res_id: str
    version_id: int
    last_updated: dt.datetime
    method: str
    content: bytes | None
    resource: dict[str, Any] | None  # parsed form, for indexing; None for deletes


# A version to write: (pk of the resource or None for a new one, expected version, version).
VersionWrite = tuple[int | None, int, NewVersion]


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """Filters and cursor of a history request (https://hl7.org/fhir/R4/http.html#history)."""

    res_type: str | None = None
    res_id: str | None = None
    since: dt.datetime | None = None
    at: tuple[dt.datetime, dt.datetime] | None = None  # [start, end) of the _at value
    before_seq: int | None = None  # the paging key: seq (instance) or change position (type, system)
    limit: int = 20
    visible: Any = None  # consent: a condition on VersionRow limiting what the actor may see


class ResourceRepository:
    """Per-request repository bound to a session and the actor's context."""

    def __init__(self, session: AsyncSession, ctx: RequestContext) -> None:
        self.session = session
        self.ctx = ctx

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return str(self.session.info.get("dialect") or self.session.get_bind().dialect.name)

    async def get_current(self, res_type: str, res_id: str, *, lock: bool = False) -> ResourceRow | None:
        """The current row (deleted rows included), optionally locked for update."""
        lean = None if lock else lean_for(self.session)
        if lean is not None:
            rows = await lean.fetch(_CURRENT, {"t": res_type, "i": res_id})
            # A transient row: nothing is loaded into the session for a plain read.
            return detached_row(ResourceRow, RESOURCE_COLUMNS, rows[0]) if rows else None
        stmt = select(ResourceRow).where(ResourceRow.res_type == res_type, ResourceRow.res_id == res_id)
        if lock and self.dialect == "postgresql":
            stmt = stmt.with_for_update()
        # Rows changed by Core UPDATEs earlier in this session must be re-read, not served stale.
        stmt = stmt.execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_version(self, res_type: str, res_id: str, version_id: int) -> VersionRow | None:
        """One historical version."""
        lean = lean_for(self.session)
        if lean is not None:
            rows = await lean.fetch(_VERSION, {"t": res_type, "i": res_id, "v": version_id})
            return detached_row(VersionRow, _VER_COLS, rows[0]) if rows else None
        stmt = select(VersionRow).where(
            VersionRow.res_type == res_type,
            VersionRow.res_id == res_id,
            VersionRow.version_id == version_id,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_current_many(
        self, keys: Sequence[tuple[str, str]], *, lock: bool = False
    ) -> dict[tuple[str, str], ResourceRow]:
        """Current rows of many (type, id) in one SELECT per chunk, locked in (type, id) order."""
        found: dict[tuple[str, str], ResourceRow] = {}
        ordered = sorted(set(keys))
        for i in range(0, len(ordered), _KEY_BATCH):
            stmt = (select(ResourceRow)
                    .where(tuple_(ResourceRow.res_type, ResourceRow.res_id)
                           .in_(ordered[i:i + _KEY_BATCH]))
                    .order_by(ResourceRow.res_type, ResourceRow.res_id))
            if lock and self.dialect == "postgresql":
                stmt = stmt.with_for_update()
            stmt = stmt.execution_options(populate_existing=True)
            for row in (await self.session.execute(stmt)).scalars():
                found[(row.res_type, row.res_id)] = row
        return found

    async def insert_new(self, v: NewVersion) -> int:
        """Insert a resource that does not exist yet; returns its pk."""
        pks = await self.write_versions([(None, 0, v)])
        assert pks is not None  # inserts cannot lose a version race
        return pks[0]

    async def replace(self, pk: int, expected_version: int, v: NewVersion) -> bool:
        """Move a resource to a new version if it is still at expected_version."""
        return await self.write_versions([(pk, expected_version, v)]) is not None

    async def insert_many(self, versions: Sequence[NewVersion]) -> list[int]:
        """Insert many new resources (version 1) with batched statements; returns their pks."""
        pks = await self.write_versions([(None, 0, v) for v in versions])
        assert pks is not None
        return pks

    async def write_versions(self, items: Sequence[VersionWrite]) -> list[int] | None:
        """Write many versions with one statement per table; returns their pks in order.

        Each item is (pk, expected version, version): pk None inserts a new resource, else the
        resource moves on from the expected version (None is returned if one had moved on).
        Version rows are inserted in the order given, so `seq` follows it.
        """
        if not items:
            return []
        fresh = iter(await self._insert_current([v for pk, _, v in items if pk is None]))
        pks = [next(fresh) if pk is None else pk for pk, _, _ in items]
        moved = [(pk, expected, v) for pk, expected, v in items if pk is not None]
        if moved and not await self._update_current(moved):
            return None
        await self.session.execute(_INSERT_VERSION, [
            dict(res_pk=pk, res_type=v.res_type, res_id=v.res_id, version_id=v.version_id,
                 last_updated=v.last_updated, method=v.method, deleted=v.content is None,
                 content=v.content)
            for pk, (_, _, v) in zip(pks, items, strict=True)
        ])
        # Resources inserted here cannot have index rows yet: only moved ones are cleared.
        await indexes.clear_many(self.session, [(pk, v.res_type) for pk, _, v in moved])
        await indexes.write_index_many(self.session, [
            (pk, v.res_type, v.resource) for pk, (_, _, v) in zip(pks, items, strict=True)
            if v.resource is not None
        ], fresh=True)
        for pk, (_, _, v) in zip(pks, items, strict=True):
            # Subscriptions: validate and record the owner in this transaction (app/subscriptions).
            await outbox.record_change(self.session, self.ctx, pk, v)
        return pks

    async def _insert_current(self, versions: Sequence[NewVersion]) -> list[int]:
        """Insert rows of new resources with one multi-row INSERT; returns their pks in order."""
        if not versions:
            return []
        returned = await self.session.execute(_INSERT_CURRENT, [
            dict(res_type=v.res_type, res_id=v.res_id, version_id=v.version_id,
                 last_updated=v.last_updated, deleted=v.content is None, content=v.content)
            for v in versions])
        # Map by identity rather than trust RETURNING's row order.
        pk_of = {(t, i): int(pk) for pk, t, i in returned.all()}
        return [pk_of[(v.res_type, v.res_id)] for v in versions]

    async def _update_current(self, moved: Sequence[VersionWrite]) -> bool:
        """Point existing resources at their new versions (one executemany UPDATE)."""
        result = await self.session.execute(_UPDATE_CURRENT, [
            dict(b_pk=pk, b_expected=expected, version_id=v.version_id,
                 last_updated=v.last_updated, deleted=v.content is None, content=v.content)
            for pk, expected, v in moved])
        if len(moved) > 1 and not self.session.get_bind().dialect.supports_sane_multi_rowcount:
            # asyncpg reports no count for executemany; the rows are locked FOR UPDATE by the
            # caller in this transaction, so none can have moved on.
            return True
        return int(result.rowcount) == len(moved)  # type: ignore[attr-defined]

    async def lock_key(self, key: str) -> None:
        """Serialise writers on one key until commit (conditional create; SQLite is serial)."""
        if self.dialect != "postgresql":
            return
        digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": digest})

    async def history(self, q: HistoryQuery) -> Sequence[tuple[VersionRow, int]]:
        """Versions newest first, each with its keyset paging key.

        Instance history pages on `seq`. Type and system history page on the commit-ordered
        change position (`sync_changes.pos`): a transaction that commits late can never land
        behind a page already served, so `next` links miss nothing (docs/sync.md).
        """
        instance = q.res_id is not None
        key = VersionRow.seq if instance else ChangeRow.pos
        # Columns, not entities: a page is served as stored bytes, so no identity map is needed.
        stmt = select(*(_VC[c] for c in _VER_COLS), key)
        if not instance:
            stmt = stmt.join(ChangeRow, ChangeRow.seq == VersionRow.seq)
        conds = []
        if q.res_type is not None:
            conds.append((VersionRow.res_type if instance else ChangeRow.res_type) == q.res_type)
        if q.res_id is not None:
            conds.append(VersionRow.res_id == q.res_id)
        if q.since is not None:
            conds.append(VersionRow.last_updated >= q.since)
        if q.at is not None:
            conds.extend(self._current_during(*q.at))
        if q.before_seq is not None:
            conds.append(key < q.before_seq)
        if q.visible is not None:
            conds.append(q.visible)
        if conds:
            stmt = stmt.where(and_(*conds))
        stmt = stmt.order_by(key.desc()).limit(q.limit)
        rows = (await self.session.execute(stmt)).all()
        return [(detached_row(VersionRow, _VER_COLS, tuple(r[:-1])), int(r[-1])) for r in rows]

    @staticmethod
    def _current_during(start: dt.datetime, end: dt.datetime) -> list[Any]:
        """Versions that were current at some moment in [start, end) (history _at)."""
        newer = (
            select(_V2.seq)
            .where(_V2.res_pk == VersionRow.res_pk, _V2.version_id > VersionRow.version_id,
                   _V2.last_updated <= start)
            .exists()
        )
        return [VersionRow.last_updated < end, ~newer]

    async def latest_seq(self) -> int:
        """The highest change sequence number written so far."""
        value = (await self.session.execute(select(func.max(VersionRow.seq)))).scalar()
        return int(value or 0)
