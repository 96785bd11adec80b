"""Writing the audit log: entities → BALP events → hash-chained rows.

Writes are audited in the write's own transaction. Reads are audited in a separate write
transaction before the response leaves, group-committed with concurrent reads; when that
fails the request fails with 503 (no access without a log).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

import orjson
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from app.fhir.dates import utcnow
from app.fhir.errors import ServiceUnavailable
from app.repository import audit as repo
from app.security import balp, policy
from app.security.compartment import patients_in_query, patients_of
from app.security.interactions import AuditRecord, EntityContent, Interaction
from app.services.context import SYSTEM, RequestContext

log = logging.getLogger("fellesplan.audit")

WRITES = frozenset({Interaction.CREATE, Interaction.UPDATE, Interaction.PATCH, Interaction.DELETE})
UNAVAILABLE = "The audit log cannot be written; the request was not completed."


def should_audit(ctx: RequestContext, record: AuditRecord) -> bool:
    """Audit every write, and every read of patient data or the audit log itself."""
    if ctx.privileged:
        return False  # internal work (import, workers) and auth-disabled development
    if record.interaction in WRITES:
        return True
    types = {record.res_type} | {e[0] for e in record.entities}
    return any(policy.category(t) != "registry" for t in types)


def _parse(content: EntityContent) -> dict[str, Any] | None:
    """A parsed resource from bytes or dict."""
    if isinstance(content, dict):
        return content
    if isinstance(content, bytes | bytearray | memoryview):
        parsed = orjson.loads(content)
        return parsed if isinstance(parsed, dict) else None
    return None


async def entities(session: AsyncSession, record: AuditRecord) -> list[balp.Entity]:
    """Every entity with its patients, reading stored content the caller did not pass."""
    contents: list[EntityContent] = list(record.contents[: len(record.entities)])
    contents += [None] * (len(record.entities) - len(contents))
    missing = [(t, i) for (t, i, _), c in zip(record.entities, contents, strict=True)
               if c is None and t != "Patient"]
    stored = await repo.resource_contents(session, SYSTEM, missing) if missing else {}
    out = []
    for (t, i, v), c in zip(record.entities, contents, strict=True):
        res = _parse(c if c is not None else stored.get((t, i)))
        pats = patients_of(res) if res else ((f"Patient/{i}",) if t == "Patient" else ())
        out.append(balp.Entity(t, i, v, pats))
    return out


def events(ctx: RequestContext, record: AuditRecord, ents: list[balp.Entity],
           source: str, base: str) -> list[repo.NewEvent]:
    """The chain rows for one interaction: one event per patient concerned."""
    recorded = utcnow()
    groups = balp.split(ents, patients_in_query(record.res_type, record.query))
    out = []
    for patient, group in groups.items():
        ev = balp.build(ctx, record, patient, group, recorded, source, base)
        out.append(repo.NewEvent(ev["id"], recorded, orjson.dumps(ev), balp.index_values(ev)))
    return out


class GroupWriter:
    """Appends read audits for many concurrent requests in one write transaction."""

    def __init__(self, db: Any, batch_max: int) -> None:
        self.db = db
        self.batch_max = batch_max
        self._pending: list[tuple[list[repo.NewEvent], asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None

    async def write(self, new: list[repo.NewEvent]) -> None:
        """Return once the events are committed; ServiceUnavailable when they cannot be."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((new, fut))
        if self._task is None or self._task.done():
            # A task of its own: a client that disconnects must not cancel other requests' audit.
            self._task = asyncio.create_task(self._drain())
        await fut

    async def _drain(self) -> None:
        """Flush batches until nothing is pending."""
        while self._pending:
            batch = self._pending[: self.batch_max]
            del self._pending[: self.batch_max]
            try:
                async with self.db.session(write=True) as session:
                    await repo.append(session, SYSTEM, [e for evs, _ in batch for e in evs])
            except Exception:
                log.exception("audit write failed for %d requests", len(batch))
                _settle(batch, ServiceUnavailable(UNAVAILABLE))
                continue
            except BaseException:
                # Cancelled (shutdown): nobody may wait forever, and nothing unlogged is served.
                _settle(batch + self._pending, ServiceUnavailable(UNAVAILABLE))
                self._pending.clear()
                raise
            _settle(batch, None)


def _settle(waiters: list[tuple[list[repo.NewEvent], asyncio.Future[None]]],
            error: Exception | None) -> None:
    """Resolve every waiting request with success or the error."""
    for _, fut in waiters:
        if fut.done():
            continue
        if error is None:
            fut.set_result(None)
        else:
            fut.set_exception(error)


_writers: weakref.WeakKeyDictionary[Any, GroupWriter] = weakref.WeakKeyDictionary()


def writer_for(db: Any, batch_max: int) -> GroupWriter:
    """The group writer of a Database."""
    w = _writers.get(db)
    if w is None:
        w = _writers[db] = GroupWriter(db, batch_max)
    return w


async def record(session: AsyncSession, ctx: RequestContext, rec: AuditRecord,
                 settings: Any) -> None:
    """Audit one interaction (see the module docstring for the transaction rules)."""
    if not should_audit(ctx, rec):
        return
    try:
        ents = await entities(session, rec)
        new = events(ctx, rec, ents, settings.audit_source_name, settings.base)
        if session.info.get("write"):
            await repo.append(session, SYSTEM, new)
            return
    except SQLAlchemyError:
        log.exception("audit failed")
        raise ServiceUnavailable(UNAVAILABLE) from None
    db = session.info.get("db")
    if db is None:
        raise ServiceUnavailable(UNAVAILABLE)
    await writer_for(db, settings.audit_batch_max).write(new)
