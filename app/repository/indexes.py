"""Write search index rows in the caller's transaction (design rule 6).

Rows describe the current version only: a write replaces all of a resource's rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.index_tables import INDEX_TABLES, KIND_OF_TYPE, TABLE_OF
from app.search.extract import extract_rows
from app.search.registry import registry

# Rows per INSERT and pks per DELETE ... IN: well under SQLite's 32,766 and asyncpg's 32,767
# bind parameters (the widest table binds 10 columns per row).
INSERT_BATCH = 2000
DELETE_BATCH = 1000
# Built once per table: a prepared Core INSERT is not rebuilt and re-keyed on every write.
_INSERTS = {kind: insert(table.__table__) for kind, table in TABLE_OF.items()}


def tables_for(res_type: str | None) -> list[Any]:
    """Index tables a type can have rows in (fewer statements per write); all when unknown."""
    if res_type is None or not registry().params(res_type):
        return list(INDEX_TABLES)
    kinds = {KIND_OF_TYPE.get(p.type, p.type) for p in registry().params(res_type)}
    if "reference" in kinds:
        kinds.add("token")  # Reference.identifier rows live in the token table
    return [TABLE_OF[k] for k in TABLE_OF if k in kinds]


async def clear_index(session: AsyncSession, res_pk: int, res_type: str | None = None) -> None:
    """Remove every index row of a resource (on delete)."""
    for table in tables_for(res_type):
        await session.execute(delete(table).where(table.res_pk == res_pk))


async def clear_many(session: AsyncSession, items: list[tuple[int, str]]) -> None:
    """Remove index rows of many resources: one DELETE ... IN per table and batch."""
    if not items:
        return
    tables = {t for _, res_type in items for t in tables_for(res_type)}
    pks = [pk for pk, _ in items]
    for i in range(0, len(pks), DELETE_BATCH):
        chunk = pks[i:i + DELETE_BATCH]
        for table in (t for t in INDEX_TABLES if t in tables):
            await session.execute(delete(table).where(table.res_pk.in_(chunk)))


async def _insert(session: AsyncSession, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Bulk insert rows per table (Core executemany in batches: no ORM bookkeeping)."""
    for kind, table_rows in rows.items():
        stmt = _INSERTS[kind]
        for i in range(0, len(table_rows), INSERT_BATCH):
            await session.execute(stmt, table_rows[i:i + INSERT_BATCH])


async def write_index(
    session: AsyncSession, res_pk: int, res_type: str, resource: dict[str, Any],
    *, fresh: bool = False,
) -> None:
    """Replace a resource's index rows; `fresh=True` (inserted in this transaction) skips DELETEs."""
    await write_index_many(session, [(res_pk, res_type, resource)], fresh=fresh)


async def write_index_many(
    session: AsyncSession, items: list[tuple[int, str, dict[str, Any]]], *, fresh: bool = False,
) -> None:
    """Replace many resources' index rows in batches; `fresh=True` skips the DELETEs."""
    if not fresh:
        await clear_many(session, [(pk, res_type) for pk, res_type, _ in items])
    merged: dict[str, list[dict[str, Any]]] = {}
    for res_pk, res_type, resource in items:
        for kind, table_rows in extract_rows(res_type, resource).items():
            for row in table_rows:
                row["res_pk"] = res_pk
                row["res_type"] = res_type
            merged.setdefault(kind, []).extend(table_rows)
    await _insert(session, merged)
