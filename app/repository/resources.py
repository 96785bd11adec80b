"""SQL for stored resources and their versions (the only place that touches these tables)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.subscription_tables import ChangeRow
from app.db.tables import ResourceRow, VersionRow
from app.repository import indexes, outbox
from app.services.context import RequestContext

_V2 = aliased(VersionRow)


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
        stmt = select(ResourceRow).where(ResourceRow.res_type == res_type, ResourceRow.res_id == res_id)
        if lock and self.dialect == "postgresql":
            stmt = stmt.with_for_update()
        # Rows changed by Core UPDATEs earlier in this session must be re-read, not served stale.
        stmt = stmt.execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_version(self, res_type: str, res_id: str, version_id: int) -> VersionRow | None:
        """One historical version."""
        stmt = select(VersionRow).where(
            VersionRow.res_type == res_type,
            VersionRow.res_id == res_id,
            VersionRow.version_id == version_id,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def insert_new(self, v: NewVersion) -> int:
        """Insert a resource that does not exist yet; returns its pk."""
        pk = (
            await self.session.execute(
                insert(ResourceRow)
                .values(res_type=v.res_type, res_id=v.res_id, version_id=v.version_id,
                        last_updated=v.last_updated, deleted=v.content is None, content=v.content)
                .returning(ResourceRow.pk)
            )
        ).scalar_one()
        await self._add_version(pk, v, fresh=True)
        return int(pk)

    async def replace(self, pk: int, expected_version: int, v: NewVersion) -> bool:
        """Move a resource to a new version if it is still at expected_version."""
        result = await self.session.execute(
            update(ResourceRow)
            .where(ResourceRow.pk == pk, ResourceRow.version_id == expected_version)
            .values(version_id=v.version_id, last_updated=v.last_updated,
                    deleted=v.content is None, content=v.content)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        await self._add_version(pk, v)
        return True

    async def _add_version(self, pk: int, v: NewVersion, *, fresh: bool = False) -> None:
        """Append to the version table and keep the search index on the current version.

        `fresh`: the resource was inserted in this transaction, so it has no index rows to delete.
        """
        await self.session.execute(
            insert(VersionRow).values(
                res_pk=pk, res_type=v.res_type, res_id=v.res_id, version_id=v.version_id,
                last_updated=v.last_updated, method=v.method, deleted=v.content is None,
                content=v.content,
            )
        )
        if v.resource is None:
            await indexes.clear_index(self.session, pk, v.res_type)
        else:
            await indexes.write_index(self.session, pk, v.res_type, v.resource, fresh=fresh)
        # Subscriptions: validate and record the owner in this transaction (app/subscriptions).
        await outbox.record_change(self.session, self.ctx, pk, v)

    async def insert_many(self, versions: Sequence[NewVersion]) -> list[int]:
        """Insert many new resources (version 1) with batched statements; returns their pks.

        Used by transactions: one multi-row INSERT per table instead of three per resource.
        """
        if not versions:
            return []
        rows = [dict(res_type=v.res_type, res_id=v.res_id, version_id=v.version_id,
                     last_updated=v.last_updated, deleted=v.content is None, content=v.content)
                for v in versions]
        returned = await self.session.execute(
            insert(ResourceRow).returning(ResourceRow.pk, ResourceRow.res_type, ResourceRow.res_id),
            rows,
        )
        # Map by identity rather than trust RETURNING's row order.
        pk_of = {(t, i): int(pk) for pk, t, i in returned.all()}
        pks = [pk_of[(v.res_type, v.res_id)] for v in versions]
        await self.session.execute(insert(VersionRow), [
            dict(res_pk=pk, res_type=v.res_type, res_id=v.res_id, version_id=v.version_id,
                 last_updated=v.last_updated, method=v.method, deleted=v.content is None,
                 content=v.content)
            for pk, v in zip(pks, versions, strict=True)
        ])
        await indexes.write_index_many(self.session, [
            (pk, v.res_type, v.resource) for pk, v in zip(pks, versions, strict=True)
            if v.resource is not None
        ], fresh=True)
        for pk, v in zip(pks, versions, strict=True):  # as _add_version does for single writes
            await outbox.record_change(self.session, self.ctx, pk, v)
        return pks

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
        stmt = select(VersionRow, key)
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
        return [(row, int(k)) for row, k in (await self.session.execute(stmt)).all()]

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
