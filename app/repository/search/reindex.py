"""SQL for reindexing: walk live resources in pk order and rewrite their index rows."""

from __future__ import annotations

from sqlalchemy import false, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import ResourceRow
from app.fhir.json import loads_stored
from app.repository.indexes import write_index_many

R = ResourceRow


async def live_batch(
    session: AsyncSession, res_type: str | None, after_pk: int, size: int
) -> tuple[int, int]:
    """Reindex the next `size` live resources after `after_pk`; (last pk, count)."""
    stmt = select(R.pk, R.res_type, R.content).where(R.pk > after_pk, R.deleted == false())
    if res_type is not None:
        stmt = stmt.where(R.res_type == res_type)
    rows = (await session.execute(stmt.order_by(R.pk).limit(size))).all()
    items = [(pk, t, loads_stored(content)) for pk, t, content in rows if content is not None]
    if items:
        await write_index_many(session, items)
    return (rows[-1][0] if rows else after_pk), len(rows)
