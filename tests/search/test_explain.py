"""Every main search shape is answered from the index tables (no full scans of them)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.search.explain import SHAPES, explain, page_statement
from tests.search.factories import careplan, patient, store_all


@pytest.mark.parametrize(("name", "res_type", "query"), SHAPES)
async def test_shape_uses_indexes(session: AsyncSession, name: str, res_type: str,
                                  query: str) -> None:
    await store_all(session, [patient(f"x{i}", family=f"Hansen{i}") for i in range(5)]
                    + [careplan(f"y{i}", subject=f"Patient/x{i}") for i in range(5)])
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        # Tiny tables make sequential scans cheapest; forbid them to prove an index serves.
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan = await explain(session, page_statement(res_type, query))
    text = "\n".join(plan)
    assert "search_" in text or "ix_resources_type_updated" in text, text
    if conn.dialect.name == "sqlite":
        assert not [ln for ln in plan if ln.startswith("SCAN search_")], text
        assert not [ln for ln in plan if ln.startswith("SCAN resources") and "USING" not in ln]
    else:
        assert "Seq Scan on search_" not in text and "Seq Scan on resources" not in text, text
