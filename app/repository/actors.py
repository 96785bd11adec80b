"""SQL for resolving actors: registered organisations and a person's Patient/RelatedPerson."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.tables import ResourceRow
from app.services.context import RequestContext


async def organizations(session: AsyncSession, ctx: RequestContext) -> list[dict[str, Any]]:
    """Every current Organization (the registry is small; callers cache the result)."""
    stmt = select(ResourceRow.content).where(
        ResourceRow.res_type == "Organization", ResourceRow.deleted.is_(False)
    )
    return [orjson.loads(c) for c in (await session.scalars(stmt)) if c]


async def persons_with_identifier(
    session: AsyncSession, ctx: RequestContext, value: str
) -> list[dict[str, Any]]:
    """Current Patient and RelatedPerson resources whose JSON mentions `value`.

    The LIKE is only a pre-filter on the stored bytes; callers match the identifier exactly.
    """
    if not value.isdigit():
        return []  # pids are digits; anything else could be a LIKE pattern
    needle = f'"{value}"'.encode()
    if str(session.info.get("dialect") or session.get_bind().dialect.name) == "sqlite":
        contains = func.instr(ResourceRow.content, needle) > 0  # SQLite LIKE skips BLOBs
    else:
        contains = ResourceRow.content.like(b"%" + needle + b"%")
    stmt = select(ResourceRow.content).where(
        ResourceRow.res_type.in_(("Patient", "RelatedPerson")),
        ResourceRow.deleted.is_(False),
        contains,
    )
    return [orjson.loads(c) for c in (await session.scalars(stmt)) if c]


async def some_patients(session: AsyncSession, ctx: RequestContext, limit: int) -> list[dict[str, Any]]:
    """A few current Patients (development tokens for demo persons)."""
    stmt = (select(ResourceRow.content)
            .where(ResourceRow.res_type == "Patient", ResourceRow.deleted.is_(False))
            .order_by(ResourceRow.pk).limit(limit))
    return [orjson.loads(c) for c in (await session.scalars(stmt)) if c]
