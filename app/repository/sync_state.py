"""SQL of sync checkpoints and links (what was last exchanged with a peer, per resource)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.subscription_tables import SyncCheckpoint, SyncLink


async def get_checkpoint(session: AsyncSession, peer: str) -> str | None:
    """The saved position for a peer ('push:<url>' or 'pull:<url>')."""
    row = await session.get(SyncCheckpoint, peer, populate_existing=True)
    return row.position if row else None


async def set_checkpoint(session: AsyncSession, peer: str, position: str, now: dt.datetime) -> None:
    """Save a peer's position (replacing the old one)."""
    await session.execute(delete(SyncCheckpoint).where(SyncCheckpoint.peer == peer))
    await session.execute(insert(SyncCheckpoint).values(peer=peer, position=position, updated_at=now))


async def link_by_local(session: AsyncSession, peer: str, res_type: str, res_id: str) -> SyncLink | None:
    """The link of one of our resources."""
    return await session.get(SyncLink, (peer, res_type, res_id), populate_existing=True)


async def link_by_remote(session: AsyncSession, peer: str, res_type: str, remote_id: str) -> SyncLink | None:
    """The link of a peer's resource."""
    stmt = select(SyncLink).where(SyncLink.peer == peer, SyncLink.res_type == res_type,
                                  SyncLink.remote_id == remote_id)
    return (await session.execute(stmt)).scalars().first()


async def save_link(session: AsyncSession, link: SyncLink) -> None:
    """Insert or replace a link."""
    await session.execute(delete(SyncLink).where(
        SyncLink.peer == link.peer, SyncLink.res_type == link.res_type, SyncLink.res_id == link.res_id))
    await session.execute(insert(SyncLink).values(
        peer=link.peer, res_type=link.res_type, res_id=link.res_id, remote_id=link.remote_id,
        local_version=link.local_version, remote_version=link.remote_version, content_hash=link.content_hash))
