"""SQL for the audit log: append under the chain-head lock, read, search and walk the chain."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, and_, insert, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.audit_tables import GENESIS, AuditChainHead, AuditEventRow, AuditIndexRow
from app.db.tables import ResourceRow, VersionRow
from app.security.chain import link_hash
from app.services.context import RequestContext


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An AuditEvent ready to append: exact bytes plus its search values."""

    event_id: str
    recorded: dt.datetime
    content: bytes
    index: tuple[tuple[str, str], ...]  # (param, value)


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters of an AuditEvent search; `patients` None means unrestricted."""

    patients: tuple[str, ...] | None = None
    agents: tuple[str, ...] = ()
    date_lo: dt.datetime | None = None  # inclusive
    date_hi: dt.datetime | None = None  # exclusive
    before_seq: int | None = None
    limit: int = 20


_EVENTS = cast(Table, AuditEventRow.__table__)
_INDEX = cast(Table, AuditIndexRow.__table__)
_HEAD = cast(Table, AuditChainHead.__table__)
# Core statements built once: an audited read appends on every request.
_HEAD_STMT = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)
_HEAD_LOCKED = _HEAD_STMT.with_for_update()
_MOVE_HEAD = update(_HEAD).where(_HEAD.c.id == 1)


async def _lock_head(session: AsyncSession) -> tuple[int, str]:
    """(seq, hash) of the chain head, locked until commit (PostgreSQL; SQLite writers are serial)."""
    dialect = str(session.info.get("dialect") or session.get_bind().dialect.name)
    stmt = _HEAD_LOCKED if dialect == "postgresql" else _HEAD_STMT
    head = (await session.execute(stmt)).first()
    if head is not None:
        return int(head[0]), str(head[1])
    # Migration 0003 creates the row; this covers databases built with create_all.
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(AuditChainHead)
    await session.execute(
        ins.values(id=1, seq=0, hash=GENESIS).on_conflict_do_nothing(index_elements=["id"])
    )
    row = (await session.execute(stmt)).one()
    return int(row[0]), str(row[1])


async def append(session: AsyncSession, ctx: RequestContext, events: Sequence[NewEvent]) -> None:
    """Append events to the chain in the session's transaction."""
    if not events:
        return
    seq, prev = await _lock_head(session)
    rows: list[dict[str, object]] = []
    index: list[dict[str, object]] = []
    for ev in events:
        seq += 1
        digest = link_hash(seq, prev, ev.content)
        rows.append({"seq": seq, "event_id": ev.event_id, "recorded": ev.recorded,
                     "content": ev.content, "prev_hash": prev, "hash": digest})
        index.extend({"seq": seq, "param": p, "value": v[:128]} for p, v in ev.index)
        prev = digest
    await session.execute(insert(_EVENTS), rows)
    if index:
        await session.execute(insert(_INDEX), index)
    await session.execute(_MOVE_HEAD, {"seq": seq, "hash": prev})


async def get(session: AsyncSession, ctx: RequestContext, event_id: str) -> AuditEventRow | None:
    """One event by its id."""
    stmt = select(AuditEventRow).where(AuditEventRow.event_id == event_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def index_of(session: AsyncSession, ctx: RequestContext, seq: int) -> list[tuple[str, str]]:
    """The search values stored for one event."""
    stmt = select(AuditIndexRow.param, AuditIndexRow.value).where(AuditIndexRow.seq == seq)
    return [(p, v) for p, v in (await session.execute(stmt)).all()]


def _has(param: str, values: Sequence[str]) -> object:
    """EXISTS an index row for the event with param in values."""
    return (
        select(AuditIndexRow.id)
        .where(AuditIndexRow.seq == AuditEventRow.seq, AuditIndexRow.param == param,
               AuditIndexRow.value.in_(values))
        .exists()
    )


async def search(session: AsyncSession, ctx: RequestContext, q: AuditQuery) -> list[AuditEventRow]:
    """Events matching the query, newest first (keyset-paged on seq)."""
    conds = []
    if q.patients is not None:
        conds.append(_has("patient", q.patients))
    if q.agents:
        conds.append(_has("agent", q.agents))
    if q.date_lo is not None:
        conds.append(AuditEventRow.recorded >= q.date_lo)
    if q.date_hi is not None:
        conds.append(AuditEventRow.recorded < q.date_hi)
    if q.before_seq is not None:
        conds.append(AuditEventRow.seq < q.before_seq)
    stmt = (select(AuditEventRow).where(and_(True, *conds))  # type: ignore[arg-type]
            .order_by(AuditEventRow.seq.desc()).limit(q.limit))
    return list((await session.execute(stmt)).scalars())


async def head(session: AsyncSession, ctx: RequestContext) -> tuple[int, str]:
    """The chain head (0, GENESIS for an empty log)."""
    row = (await session.execute(select(AuditChainHead.seq, AuditChainHead.hash))).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


async def walk(
    session: AsyncSession, ctx: RequestContext, batch: int = 1000
) -> AsyncIterator[tuple[AuditEventRow, list[tuple[str, str]]]]:
    """Every event in seq order with its index values, read in batches."""
    after = 0
    while True:
        stmt = (select(AuditEventRow).where(AuditEventRow.seq > after)
                .order_by(AuditEventRow.seq).limit(batch))
        rows = list((await session.execute(stmt)).scalars())
        if not rows:
            return
        idx = select(AuditIndexRow.seq, AuditIndexRow.param, AuditIndexRow.value).where(
            AuditIndexRow.seq.between(rows[0].seq, rows[-1].seq))
        by_seq: dict[int, list[tuple[str, str]]] = {}
        for s, p, v in (await session.execute(idx)).all():
            by_seq.setdefault(int(s), []).append((p, v))
        for row in rows:
            yield row, by_seq.get(row.seq, [])
        after = rows[-1].seq



async def resource_contents(
    session: AsyncSession, ctx: RequestContext, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], bytes]:
    """Stored content of resources (the last content-bearing version of deleted ones)."""
    out: dict[tuple[str, str], bytes] = {}
    wanted = list(dict.fromkeys(keys))
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        stmt = select(ResourceRow.res_type, ResourceRow.res_id, ResourceRow.content).where(
            tuple_(ResourceRow.res_type, ResourceRow.res_id).in_(chunk))
        for t, i, c in (await session.execute(stmt)).all():
            if c is not None:
                out[(t, i)] = c
    gone = [k for k in wanted if k not in out]
    if gone:
        stmt = (select(VersionRow.res_type, VersionRow.res_id, VersionRow.content)
                .where(tuple_(VersionRow.res_type, VersionRow.res_id).in_(gone),
                       VersionRow.content.is_not(None))
                .order_by(VersionRow.seq))
        for t, i, c in (await session.execute(stmt)).all():
            if c is not None:
                out[(t, i)] = c  # ascending seq: the last one written wins
    return out
