"""Batched transaction writes store exactly what the same writes one by one store."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pytest
from sqlalchemy import event, select

from app.db.engine import Database
from app.db.index_tables import INDEX_TABLES
from app.db.tables import ResourceRow, VersionRow
from app.fhir.errors import PreconditionFailed
from app.services.bundle_tx import _reads_pending
from app.services.bundles import BundleService
from app.services.context import SYSTEM, ActorKind, RequestContext
from app.services.crud import ResourceService
from tests.factories.bundles import bundle, entry
from tests.factories.resources import FNR, careplan, synthetic_fnr, uid

SYS = "urn:test:batched"
NAMES = ("a", "b", "c", "d", "e", "f", "g", "cp")


def _patient(pre: str, name: str, family: str = "Nordmann") -> dict[str, Any]:
    """A Patient whose content depends only on its name (not the run's prefix)."""
    return {"resourceType": "Patient", "id": pre + name,
            "identifier": [{"system": FNR, "value": synthetic_fnr(random.Random(name))},
                           {"system": SYS, "value": pre + name}],
            "name": [{"family": family, "given": ["Kari"]}], "gender": "female"}


async def _seed(db: Database, pre: str) -> None:
    """Patients a-d and g and a CarePlan of a, one request each."""
    for name in "abcdg":
        async with db.session(write=True) as s:
            await ResourceService(s, SYSTEM, db.settings).update(
                "Patient", pre + name, _patient(pre, name))
    async with db.session(write=True) as s:
        await ResourceService(s, SYSTEM, db.settings).update(
            "CarePlan", pre + "cp", {**careplan(pre + "a"), "id": pre + "cp"})


def _cp(pre: str) -> dict[str, Any]:
    """The CarePlan's next version, now about patient d (named by a conditional reference)."""
    return {**careplan(pre + "a"), "id": pre + "cp", "title": "Ny plan",
            "subject": {"reference": f"Patient?identifier={SYS}|{pre}d"}}


def _transaction(pre: str) -> dict[str, Any]:
    """PUT (changed, unchanged, new), DELETE, conditional PUT (new, matched), conditional POST."""
    f = _patient(pre, "f")
    del f["id"]
    return bundle("transaction", [
        entry(_patient(pre, "a", "Hansen"), "PUT", f"Patient/{pre}a", ifMatch='W/"1"'),
        entry(_patient(pre, "b"), "PUT", f"Patient/{pre}b"),
        entry(None, "DELETE", f"Patient/{pre}c"),
        entry(_patient(pre, "e"), "PUT", f"Patient/{pre}e"),
        entry({**f, "id": pre + "f"}, "PUT", f"Patient?identifier={SYS}|{pre}f"),
        entry(_patient(pre, "d", "Berg"), "PUT", f"Patient?identifier={SYS}|{pre}d"),
        entry(f, "POST", "Patient", ifNoneExist=f"identifier={SYS}|{pre}g"),
        entry(_cp(pre), "PUT", f"CarePlan/{pre}cp", ifMatch='W/"1"'),
    ])


async def _one_by_one(db: Database, pre: str) -> None:
    """The same writes as _transaction, each its own request."""
    f = _patient(pre, "f")
    calls: list[Any] = [
        lambda c: c.update("Patient", pre + "a", _patient(pre, "a", "Hansen"), if_match=1),
        lambda c: c.update("Patient", pre + "b", _patient(pre, "b")),
        lambda c: c.delete("Patient", pre + "c"),
        lambda c: c.update("Patient", pre + "e", _patient(pre, "e")),
        lambda c: c.conditional_update("Patient", f"identifier={SYS}|{pre}f", f),
        lambda c: c.conditional_update("Patient", f"identifier={SYS}|{pre}d",
                                       _patient(pre, "d", "Berg")),
        lambda c: c.create("Patient", f, if_none_exist=f"identifier={SYS}|{pre}g"),
        lambda c: c.update("CarePlan", pre + "cp", {**_cp(pre), "subject": {
            "reference": f"Patient/{pre}d"}}, if_match=1),
    ]
    for call in calls:
        async with db.session(write=True) as s:
            await call(ResourceService(s, SYSTEM, db.settings))


def _norm(value: Any, pre: str) -> Any:
    """A value with the run's prefix and server timestamps taken out."""
    if isinstance(value, bytes):
        doc = orjson.loads(value)
        doc.get("meta", {}).pop("lastUpdated", None)
        value = orjson.dumps(doc).decode()
    return value.replace(pre, "<p>") if isinstance(value, str) else value


async def _state(db: Database, pre: str) -> dict[str, Any]:
    """Current rows, versions and index rows of every resource of a run."""
    out: dict[str, Any] = {}
    async with db.session(write=False) as s:
        for name in NAMES:
            row = (await s.execute(select(ResourceRow).where(
                ResourceRow.res_id == pre + name))).scalar_one()
            versions = (await s.execute(select(VersionRow).where(
                VersionRow.res_pk == row.pk).order_by(VersionRow.seq))).scalars().all()
            index = []
            for table in INDEX_TABLES:
                cols = [c for c in table.__table__.columns if c.key not in ("id", "res_pk")]
                found = (await s.execute(select(*cols).where(table.res_pk == row.pk))).all()
                index += sorted(str((table.__tablename__, *(_norm(v, pre) for v in r)))
                                for r in found)
            out[name] = (row.version_id, row.deleted, _norm(row.content, pre),
                         [(v.version_id, v.method, v.deleted, _norm(v.content, pre))
                          for v in versions], sorted(index))
    return out


@contextmanager
def statements(db: Database) -> Iterator[dict[str, int]]:
    """Count statements per (verb, table) while the block runs."""
    seen: dict[str, int] = {}

    def listen(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        words = statement.split()
        key = f"{words[0]} {words[2] if words[0] in ('INSERT', 'DELETE') else words[1]}"
        seen[key.replace('"', "")] = seen.get(key.replace('"', ""), 0) + 1

    event.listen(db.write_engine.sync_engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(db.write_engine.sync_engine, "before_cursor_execute", listen)


async def test_a_transaction_stores_what_the_same_writes_one_by_one_store(db: Database) -> None:
    tx, single = "t" + uid(), "s" + uid()
    await _seed(db, tx)
    await _seed(db, single)
    async with db.session(write=True) as s:
        answer = orjson.loads(await BundleService(s, SYSTEM, db.settings).process(_transaction(tx)))
    await _one_by_one(db, single)
    assert [e["response"]["status"] for e in answer["entry"]] == [
        "200 OK", "200 OK", "200 OK", "201 Created", "201 Created", "200 OK", "200 OK", "200 OK"]
    assert await _state(db, tx) == await _state(db, single)


async def test_put_entries_are_written_with_one_statement_per_table(db: Database) -> None:
    pre = uid()
    async with db.session(write=True) as s:
        await BundleService(s, SYSTEM, db.settings).process(bundle("transaction", [
            entry(_patient(pre, str(i)), "PUT", f"Patient/{pre}{i}") for i in range(30)]))
    body = bundle("transaction", [entry(_patient(pre, str(i), "Hansen"), "PUT", f"Patient/{pre}{i}",
                                        ifMatch='W/"1"') for i in range(30)])
    with statements(db) as seen:
        async with db.session(write=True) as s:
            answer = orjson.loads(await BundleService(s, SYSTEM, db.settings).process(body))
    assert {e["response"]["etag"] for e in answer["entry"]} == {'W/"2"'}
    assert seen["INSERT resource_versions"] == 1 and seen["UPDATE resources"] == 1, seen
    assert seen["DELETE search_token"] == 1 and seen["INSERT search_token"] == 1, seen
    assert seen["SELECT resources.pk,"] <= 2, seen  # the targets, in one locking SELECT


def test_checks_that_read_pending_writes_see_them_written_first() -> None:
    person = RequestContext(kind=ActorKind.HEALTH)
    assert _reads_pending(SYSTEM, {"Questionnaire"}, "QuestionnaireResponse")
    assert not _reads_pending(SYSTEM, {"CareTeam", "Patient"}, "CarePlan")
    assert _reads_pending(person, {"CareTeam"}, "CarePlan")
    assert not _reads_pending(person, {"CarePlan"}, "Goal")


async def test_a_failing_put_after_valid_ones_writes_nothing(db: Database) -> None:
    pre = uid()
    await _seed(db, pre)
    body = bundle("transaction", [
        entry(_patient(pre, "a", "Hansen"), "PUT", f"Patient/{pre}a", ifMatch='W/"1"'),
        entry(_patient(pre, "b", "Hansen"), "PUT", f"Patient/{pre}b", ifMatch='W/"7"'),
    ])
    with pytest.raises(PreconditionFailed) as info:
        async with db.session(write=True) as s:
            await BundleService(s, SYSTEM, db.settings).process(body)
    assert info.value.issues[0].expression == ("Bundle.entry[1]",)
    async with db.session(write=False) as s:
        versions = (await s.execute(select(ResourceRow.version_id).where(
            ResourceRow.res_id.in_([pre + "a", pre + "b"])))).scalars().all()
    assert versions == [1, 1]


async def test_a_single_update_writes_one_statement_per_table(db: Database) -> None:
    pre = uid()
    await _seed(db, pre)
    with statements(db) as seen:
        async with db.session(write=True) as s:
            await ResourceService(s, SYSTEM, db.settings).update(
                "Patient", pre + "a", _patient(pre, "a", "Hansen"), if_match=1)
    assert seen["INSERT resource_versions"] == 1 and seen["UPDATE resources"] == 1, seen
    assert all(n == 1 for verb, n in seen.items() if verb.startswith(("INSERT", "DELETE"))), seen
