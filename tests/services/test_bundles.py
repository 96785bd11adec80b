"""BundleService on real databases: import counts, batched writes, and its unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from sqlalchemy import event, func, select

from app.db.engine import Database
from app.db.tables import ResourceRow
from app.fhir.errors import BadRequest
from app.repository import subscriptions
from app.services.bundles import BundleService
from app.services.context import SYSTEM
from tests.factories.bundles import CrisisPlan, bundle, entry
from tests.factories.resources import patient, uid


@contextmanager
def inserts(db: Database) -> Iterator[dict[str, int]]:
    """Count INSERT statements per table while the block runs."""
    seen: dict[str, int] = {}

    def listen(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        words = statement.split()
        if words[:2] == ["INSERT", "INTO"]:
            table = words[2].strip('"')
            seen[table] = seen.get(table, 0) + 1

    event.listen(db.write_engine.sync_engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.write_engine.sync_engine, "before_cursor_execute", listen)


async def test_import_counts_what_was_written(db: Database) -> None:
    plan = CrisisPlan()
    async with db.session(write=True) as session:
        assert await BundleService(session, SYSTEM, db.settings).process_for_import(
            plan.transaction()) == 7
    async with db.session(write=True) as session:
        assert await BundleService(session, SYSTEM, db.settings).process_for_import(
            plan.transaction()) == 0  # every entry is a conditional create that now matches


async def test_import_of_a_batch_with_a_bad_entry_raises(db: Database) -> None:
    pid = uid()
    body = bundle("batch", [entry(patient(id=pid), "PUT", f"Patient/{pid}"),
                            entry(patient(hairColour="red"), "POST", "Patient")])
    with pytest.raises(BadRequest) as info:
        async with db.session(write=True) as session:
            await BundleService(session, SYSTEM, db.settings).process_for_import(body)
    assert "Bundle.entry[1].resource.hairColour" in info.value.issues[0].expression
    async with db.session(write=False) as session:
        count = (await session.execute(select(func.count()).select_from(ResourceRow)
                                       .where(ResourceRow.res_id == pid))).scalar()
    assert count == 0  # the importer's unit of work rolled the good entry back with it


async def test_creates_are_inserted_with_batched_statements(db: Database) -> None:
    body = bundle("transaction", [entry(patient(), "POST", "Patient") for _ in range(40)])
    with inserts(db) as seen:
        async with db.session(write=True) as session:
            answer = await BundleService(session, SYSTEM, db.settings).process(body)
    entries = orjson.loads(answer)["entry"]
    assert [e["response"]["status"] for e in entries] == ["201 Created"] * 40
    # One multi-row statement per core table, not one per resource. (Index rows go through
    # app.repository.indexes.write_index_many, in one call.)
    assert seen["resources"] == 1 and seen["resource_versions"] == 1, seen


async def test_process_never_commits(db: Database) -> None:
    pid = uid()
    body = bundle("transaction", [entry(patient(id=pid), "PUT", f"Patient/{pid}")])
    async with db.session(write=True) as session:
        await BundleService(session, SYSTEM, db.settings).process(body)
        await session.rollback()
    async with db.session(write=False) as session:
        row = (await session.execute(select(ResourceRow).where(ResourceRow.res_id == pid))).first()
    assert row is None


async def test_subscriptions_created_in_a_transaction_are_registered(db: Database) -> None:
    """The bulk insert runs the same write-path hook as single creates (subscription owner)."""
    sub = {"resourceType": "Subscription", "status": "off", "reason": "Oppfølging av kriseplaner",
           "criteria": "CarePlan?status=active",
           "channel": {"type": "rest-hook", "endpoint": "https://mottak.example.no/fhir-hook"}}
    body = bundle("transaction", [entry(sub, "POST", "Subscription")])
    async with db.session(write=True) as session:
        answer = orjson.loads(await BundleService(session, SYSTEM, db.settings).process(body))
    res_id = answer["entry"][0]["resource"]["id"]
    async with db.session(write=False) as session:
        pk = (await session.execute(select(ResourceRow.pk).where(
            ResourceRow.res_type == "Subscription", ResourceRow.res_id == res_id))).scalar_one()
        assert await subscriptions.get_state(session, pk) is not None
