"""EXPLAIN the main search shapes (used by test_explain.py and to write docs/search.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from app.repository.search import paging
from app.search.query import parse_query
from app.services.context import SYSTEM

SHAPES: list[tuple[str, str, str]] = [
    ("token", "Patient", "identifier=urn:oid:2.16.578.1.12.4.1.4.1|17058000042"),
    ("string (prefix, folded)", "Patient", "family=bjørn"),
    ("date range", "Patient", "birthdate=ge1990-01-01&birthdate=lt1990-02-01"),
    ("reference", "CarePlan", "subject=Patient/p42&status=active"),
    ("chain", "CarePlan",
     "subject:Patient.identifier=urn:oid:2.16.578.1.12.4.1.4.1|17058000042"),
    ("_has", "Patient", "_has:CarePlan:subject:status=draft"),
    ("sort by date, keyset page 2", "Patient", "_sort=-birthdate&family=hansen"),
    ("default order (pk keyset)", "CarePlan", "status=active"),
    ("newest first", "CarePlan", "_sort=-_lastUpdated"),
]


def page_statement(res_type: str, query: str) -> Select[Any]:
    """The page query the service runs for `query` (page 2, when sorted)."""
    q = parse_query(res_type, parse_qsl(query))
    where = paging.base_where(SYSTEM, [res_type], q.criteria)
    cursor = ("n", [dt.datetime(1990, 1, 1)] * len(q.sort), 10) if q.sort else None
    stmt, _ = paging.sorted_page(where, res_type, q.sort, cursor, 21)
    return stmt


async def explain(session: AsyncSession, stmt: Select[Any]) -> list[str]:
    """The database's plan for a statement, one line per row."""
    conn = await session.connection()
    dialect = conn.dialect
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    params = tuple(compiled.params[k] for k in (compiled.positiontup or []))
    if dialect.name == "sqlite":
        rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), params)
        return [str(r[-1]) for r in rows.all()]
    rows = await conn.exec_driver_sql("EXPLAIN " + str(compiled), params)
    return [str(r[0]) for r in rows.all()]
