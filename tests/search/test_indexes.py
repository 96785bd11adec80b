"""Index extraction and the write path: rows are written, replaced and cleared."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.index_tables import DateIndex, ReferenceIndex, StringIndex, TokenIndex
from app.db.tables import ResourceRow
from app.repository.indexes import clear_index, write_index, write_index_many
from tests.search.factories import FNR, careplan, patient, store


async def _count(session: AsyncSession, table: type, pk: int) -> int:
    return int((await session.execute(
        select(func.count()).select_from(table).where(table.res_pk == pk))).scalar_one())


async def test_write_index_extracts_typed_rows(session: AsyncSession) -> None:
    pk = await store(session, patient("p1", family="Bjørnstad", fnr="17058012345"))
    rows = (await session.execute(select(StringIndex.param, StringIndex.norm).where(
        StringIndex.res_pk == pk))).all()
    assert ("family", "bjornstad") in rows
    tok = (await session.execute(select(TokenIndex.system, TokenIndex.value).where(
        TokenIndex.res_pk == pk, TokenIndex.param == "identifier"))).all()
    assert tok == [(FNR, "17058012345")]
    assert await _count(session, DateIndex, pk) == 1


async def test_write_index_replaces_and_clear_removes(session: AsyncSession) -> None:
    pk = await store(session, careplan("cp1", subject="Patient/p1"))
    assert await _count(session, ReferenceIndex, pk) == 2  # subject and patient
    await write_index(session, pk, "CarePlan", careplan("cp1", subject="Patient/p2",
                                                         author={"reference": "Patient/p2"}))
    refs = (await session.execute(select(ReferenceIndex.param, ReferenceIndex.target_id).where(
        ReferenceIndex.res_pk == pk))).all()
    assert sorted(refs) == [("patient", "p2"), ("subject", "p2")]
    await clear_index(session, pk)
    assert await _count(session, ReferenceIndex, pk) == 0
    assert await _count(session, TokenIndex, pk) == 0


async def test_write_index_many_batches(session: AsyncSession) -> None:
    pks = [await store(session, patient(f"m{i}")) for i in range(3)]
    await write_index_many(session, [(pk, "Patient", patient(f"m{i}", family=f"Hansen{i}"))
                                     for i, pk in enumerate(pks)])
    norms = (await session.execute(select(StringIndex.norm).where(
        StringIndex.res_pk.in_(pks), StringIndex.param == "family"))).scalars().all()
    assert sorted(norms) == ["hansen0", "hansen1", "hansen2"]


async def test_fresh_skips_deletes_but_writes_rows(session: AsyncSession) -> None:
    pk = (await session.execute(insert(ResourceRow).values(
        res_type="Patient", res_id="fresh1", version_id=1,
        last_updated=dt.datetime(2024, 1, 1), deleted=False, content=b"{}",
    ).returning(ResourceRow.pk))).scalar_one()
    await write_index(session, pk, "Patient", patient("fresh1", family="Ås"), fresh=True)
    norms = (await session.execute(select(StringIndex.norm).where(
        StringIndex.res_pk == pk, StringIndex.param == "family"))).scalars().all()
    assert norms == ["as"]
    await write_index_many(session, [(pk, "Patient", patient("fresh1", family="Berg"))])
    norms = (await session.execute(select(StringIndex.norm).where(
        StringIndex.res_pk == pk, StringIndex.param == "family"))).scalars().all()
    assert norms == ["berg"]
