"""SQL of the commit-ordered change log (`sync_changes`) and the write-path hook of subscriptions.

The change log itself is written by a database trigger (migration 0004) in the writer's own
transaction; `record_change` adds what only the application knows: who owns a Subscription.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.subscription_tables import ChangeRow
from app.db.tables import VersionRow
from app.services.context import RequestContext

if TYPE_CHECKING:
    from app.repository.resources import NewVersion

# Must equal CHANGE_LOCK_KEY in migrations/versions/0004_subscriptions.py.
CHANGE_LOCK_KEY = 7_361_202_611_004


async def record_change(session: AsyncSession, ctx: RequestContext, pk: int, v: NewVersion) -> None:
    """Write-path hook, called after a version row is written, in the same transaction."""
    if v.res_type != "Subscription":
        return
    from app.subscriptions import registry  # the rules live with the subscriptions part

    await registry.on_subscription_write(session, ctx, pk, v.version_id, v.resource)


async def max_pos(session: AsyncSession) -> int:
    """The highest committed change position (0 for none)."""
    return int((await session.execute(select(func.max(ChangeRow.pos)))).scalar() or 0)


async def changes_after(
    session: AsyncSession, pos: int, limit: int, types: Sequence[str] | None = None
) -> Sequence[ChangeRow]:
    """Committed changes after `pos`, in commit order, optionally of some types only."""
    stmt = select(ChangeRow).where(ChangeRow.pos > pos)
    if types:
        stmt = stmt.where(ChangeRow.res_type.in_(list(types)))
    stmt = stmt.order_by(ChangeRow.pos).limit(limit)
    return (await session.execute(stmt)).scalars().all()


async def changes_before(
    session: AsyncSession, pos: int | None, limit: int, types: Sequence[str] | None = None
) -> Sequence[ChangeRow]:
    """Committed changes before `pos` (None: from the newest), newest first."""
    stmt = select(ChangeRow)
    if pos is not None:
        stmt = stmt.where(ChangeRow.pos < pos)
    if types:
        stmt = stmt.where(ChangeRow.res_type.in_(list(types)))
    stmt = stmt.order_by(ChangeRow.pos.desc()).limit(limit)
    return (await session.execute(stmt)).scalars().all()


async def changes_with_versions(
    session: AsyncSession, pos: int, limit: int, types: Sequence[str] | None = None
) -> Sequence[tuple[ChangeRow, VersionRow]]:
    """Committed changes after `pos` in commit order, each with its stored version."""
    stmt = select(ChangeRow, VersionRow).join(VersionRow, VersionRow.seq == ChangeRow.seq)
    stmt = stmt.where(ChangeRow.pos > pos)
    if types:
        stmt = stmt.where(ChangeRow.res_type.in_(list(types)))
    stmt = stmt.order_by(ChangeRow.pos).limit(limit)
    return [(c, v) for c, v in (await session.execute(stmt)).all()]
