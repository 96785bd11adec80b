"""Migration 0003 creates exactly the audit tables the ORM describes, on both backends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect

from app.db.audit_tables import AuditChainHead, AuditEventRow, AuditIndexRow
from app.db.engine import Database

TABLES = (AuditEventRow, AuditIndexRow, AuditChainHead)


def _describe(conn: Any) -> dict[str, tuple[set[str], set[str], set[str]]]:
    insp = inspect(conn)
    out = {}
    for table in TABLES:
        name = table.__tablename__
        cols = {c["name"] for c in insp.get_columns(name)}
        # PostgreSQL lists a unique constraint's own index too; compare plain indexes only.
        idx = {i["name"] for i in insp.get_indexes(name) if not i.get("duplicates_constraint")}
        fks = {f["referred_table"] for f in insp.get_foreign_keys(name)}
        out[name] = (cols, idx, fks)
    return out


async def test_migrated_schema_matches_orm(db: Database) -> None:
    async with db.write_engine.connect() as conn:
        got = await conn.run_sync(_describe)
    for table in TABLES:
        t: Any = table.__table__
        cols, idx, fks = got[t.name]
        assert cols == {c.name for c in t.columns}
        assert idx == {i.name for i in t.indexes}
        assert fks == {fk.column.table.name for fk in t.foreign_keys}


async def test_chain_head_row_is_seeded(db: Database) -> None:
    from sqlalchemy import text

    async with db.session(write=False) as s:
        assert (await s.execute(text("SELECT count(*) FROM audit_chain WHERE id = 1"))
                ).scalar_one() == 1
