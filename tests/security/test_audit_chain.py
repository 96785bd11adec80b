"""The hash chain: appends verify; edits, deletions, reordering and index edits are detected."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import orjson
import pytest
from sqlalchemy import text

from app.db.engine import Database
from app.repository import audit as repo
from app.security.audit import GroupWriter
from app.security.balp import index_values
from app.security.verify import verify_chain
from app.services.context import SYSTEM


def _event(n: int, patient: str = "Patient/p1") -> repo.NewEvent:
    """A minimal event with a patient entity."""
    ev = {"resourceType": "AuditEvent", "id": str(uuid.uuid4()), "action": "R",
          "entity": [{"what": {"reference": patient}, "role": {"code": "1"}}],
          "agent": [{"who": {"identifier": {"value": f"hpr{n}"}}}]}
    now = dt.datetime(2026, 1, 1) + dt.timedelta(seconds=n)
    return repo.NewEvent(ev["id"], now, orjson.dumps(ev), index_values(ev))


async def _fill(db: Database, n: int = 6) -> None:
    async with db.session(write=True) as s:
        await repo.append(s, SYSTEM, [_event(i) for i in range(1, n // 2 + 1)])
    async with db.session(write=True) as s:
        await repo.append(s, SYSTEM, [_event(i) for i in range(n // 2 + 1, n + 1)])


async def _verify(db: Database) -> tuple[int, str] | None:
    async with db.session(write=False) as s:
        report = await verify_chain(s)
    return (report.broken.seq, report.broken.reason) if report.broken else None


async def _sql(db: Database, sql: str, **params: object) -> None:
    async with db.session(write=True) as s:
        await s.execute(text(sql), params)


async def test_intact_chain_verifies(fresh_db: Database) -> None:
    assert await _verify(fresh_db) is None  # empty log
    await _fill(fresh_db)
    async with fresh_db.session(write=False) as s:
        report = await verify_chain(s)
    assert report.ok and report.events == 6 and report.head_seq == 6


async def test_edited_content_is_detected(fresh_db: Database) -> None:
    await _fill(fresh_db)
    async with fresh_db.session(write=False) as s:
        row = (await s.execute(text("SELECT content FROM audit_events WHERE seq = 4"))).one()
    edited = bytes(row[0]).replace(b'"R"', b'"C"')
    await _sql(fresh_db, "UPDATE audit_events SET content = :c WHERE seq = 4", c=edited)
    assert await _verify(fresh_db) == (4, "content or position altered")


async def test_edit_with_recomputed_hash_breaks_next_link(fresh_db: Database) -> None:
    from app.security.chain import link_hash

    await _fill(fresh_db)
    async with fresh_db.session(write=False) as s:
        prev, content = (await s.execute(
            text("SELECT prev_hash, content FROM audit_events WHERE seq = 3"))).one()
    forged = bytes(content).replace(b'"R"', b'"D"')
    await _sql(fresh_db, "UPDATE audit_events SET content = :c, hash = :h WHERE seq = 3",
               c=forged, h=link_hash(3, prev, forged))
    assert await _verify(fresh_db) == (4, "link to previous event broken (deleted or reordered)")


async def test_deleted_row_is_detected(fresh_db: Database) -> None:
    await _fill(fresh_db)
    await _sql(fresh_db, "DELETE FROM audit_event_index WHERE seq = 2")
    await _sql(fresh_db, "DELETE FROM audit_events WHERE seq = 2")
    assert await _verify(fresh_db) == (2, "event missing (deleted)")


async def test_deleted_first_row_is_detected(fresh_db: Database) -> None:
    await _fill(fresh_db)
    await _sql(fresh_db, "DELETE FROM audit_event_index WHERE seq = 1")
    await _sql(fresh_db, "DELETE FROM audit_events WHERE seq = 1")
    assert await _verify(fresh_db) == (1, "event missing (deleted)")


async def test_deleted_last_row_is_detected(fresh_db: Database) -> None:
    await _fill(fresh_db)
    await _sql(fresh_db, "DELETE FROM audit_event_index WHERE seq = 6")
    await _sql(fresh_db, "DELETE FROM audit_events WHERE seq = 6")
    broken = await _verify(fresh_db)
    assert broken is not None and broken[0] == 6 and "truncated" in broken[1]


async def test_reordered_rows_are_detected(fresh_db: Database) -> None:
    await _fill(fresh_db)
    cols = "event_id, recorded, content, prev_hash, hash"
    async with fresh_db.session(write=False) as s:
        a = (await s.execute(text(f"SELECT {cols} FROM audit_events WHERE seq = 2"))).one()
        b = (await s.execute(text(f"SELECT {cols} FROM audit_events WHERE seq = 3"))).one()
    upd = ("UPDATE audit_events SET event_id = :e, recorded = :r, content = :c, "
           "prev_hash = :p, hash = :h WHERE seq = :s")
    await _sql(fresh_db, "UPDATE audit_events SET event_id = 'tmp' || seq WHERE seq IN (2, 3)")
    await _sql(fresh_db, upd, e=b[0], r=b[1], c=b[2], p=b[3], h=b[4], s=2)
    await _sql(fresh_db, upd, e=a[0], r=a[1], c=a[2], p=a[3], h=a[4], s=3)
    assert await _verify(fresh_db) == (2, "link to previous event broken (deleted or reordered)")


async def test_renumbered_row_is_detected(fresh_db: Database) -> None:
    await _fill(fresh_db)
    await _sql(fresh_db, "DELETE FROM audit_event_index WHERE seq = 6")
    await _sql(fresh_db, "UPDATE audit_events SET seq = 7 WHERE seq = 6")
    await _sql(fresh_db, "UPDATE audit_chain SET seq = 7")
    broken = await _verify(fresh_db)
    assert broken is not None and broken[0] == 6


async def test_hidden_from_patient_index_is_detected(fresh_db: Database) -> None:
    await _fill(fresh_db)
    await _sql(fresh_db, "DELETE FROM audit_event_index WHERE seq = 5 AND param = 'patient'")
    assert await _verify(fresh_db) == (5, "search index altered")


async def test_group_writer_commits_concurrent_batches_in_one_chain(fresh_db: Database) -> None:
    writer = GroupWriter(fresh_db, batch_max=7)
    await asyncio.gather(*(writer.write([_event(i), _event(i + 1000)]) for i in range(40)))
    async with fresh_db.session(write=False) as s:
        report = await verify_chain(s)
        assert report.ok and report.events == 80
        rows = await repo.search(s, SYSTEM, repo.AuditQuery(patients=("Patient/p1",), limit=500))
    assert len(rows) == 80


async def test_group_writer_fails_every_waiting_request(fresh_db: Database) -> None:
    from app.fhir.errors import ServiceUnavailable

    await _sql(fresh_db, "DROP TABLE audit_event_index")
    writer = GroupWriter(fresh_db, batch_max=3)
    results = await asyncio.gather(*(writer.write([_event(i)]) for i in range(5)),
                                   return_exceptions=True)
    assert all(isinstance(r, ServiceUnavailable) for r in results)


@pytest.mark.parametrize("n", [1, 2])
async def test_head_matches_last_event(fresh_db: Database, n: int) -> None:
    async with fresh_db.session(write=True) as s:
        await repo.append(s, SYSTEM, [_event(i) for i in range(n)])
    async with fresh_db.session(write=False) as s:
        seq, _ = await repo.head(s, SYSTEM)
    assert seq == n


async def test_cancelled_writer_fails_waiters_instead_of_hanging(fresh_db: Database) -> None:
    from app.fhir.errors import ServiceUnavailable

    writer = GroupWriter(fresh_db, batch_max=3)
    async with fresh_db.session(write=True) as s:
        # Hold the chain head (PostgreSQL row lock; SQLite's single writer) so the flush waits.
        await s.execute(text("UPDATE audit_chain SET seq = seq WHERE id = 1"))
        waiters = [asyncio.create_task(writer.write([_event(i)])) for i in range(5)]
        for _ in range(20):
            await asyncio.sleep(0)
        assert writer._task is not None
        writer._task.cancel()
        # A generous bound only so that a regression fails instead of hanging the run.
        results = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), 60)
    assert all(isinstance(r, ServiceUnavailable) for r in results), results


async def test_concurrent_write_transactions_keep_one_chain(fresh_db: Database) -> None:
    # Separate transactions (as concurrent writes are) plus group-committed reads: the
    # chain-head lock must serialise them into one gapless, verifiable chain.
    async def one_write(i: int) -> None:
        async with fresh_db.session(write=True) as s:
            await repo.append(s, SYSTEM, [_event(i), _event(i + 500)])

    writer = GroupWriter(fresh_db, batch_max=4)
    await asyncio.gather(*(one_write(i) for i in range(15)),
                         *(writer.write([_event(i + 2000)]) for i in range(15)))
    async with fresh_db.session(write=False) as s:
        report = await verify_chain(s)
    assert report.ok and report.events == 45 and report.head_seq == 45


async def test_rebuilt_chain_is_caught_by_an_exported_anchor(fresh_db: Database) -> None:
    await _fill(fresh_db)
    async with fresh_db.session(write=False) as s:
        report = await verify_chain(s)
    anchor = (report.head_seq, report.head_hash)
    # An attacker with database access rewrites history and rebuilds a consistent chain.
    await _sql(fresh_db, "DELETE FROM audit_event_index")
    await _sql(fresh_db, "DELETE FROM audit_events")
    await _sql(fresh_db, f"UPDATE audit_chain SET seq = 0, hash = '{'0' * 64}'")
    await _fill(fresh_db)
    async with fresh_db.session(write=False) as s:
        assert (await verify_chain(s)).ok  # self-consistent...
        broken = (await verify_chain(s, anchor)).broken
    assert broken is not None and broken.seq == 6 and "anchor" in broken.reason


async def test_anchor_beyond_head_means_truncation(fresh_db: Database) -> None:
    await _fill(fresh_db)
    async with fresh_db.session(write=False) as s:
        broken = (await verify_chain(s, (99, "a" * 64))).broken
    assert broken is not None and "beyond the head" in broken.reason
