"""Consent checks for the CRUD and history services: one call per read or write path."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.consent.hooks import redact_row, will_see
from app.consent.writes import ESTABLISHED, check_write
from app.db.tables import ResourceRow, VersionRow
from app.fhir.errors import NotFound
from app.repository import access as repo
from app.security import hooks as security_hooks
from app.security.interactions import AuditRecord, Interaction
from app.services.context import RequestContext

Row = TypeVar("Row", ResourceRow, VersionRow)

__all__ = ["ESTABLISHED", "check_write", "note_established", "readable", "seen_rows",
           "visible_versions"]


def _copy(row: Row, content: bytes) -> Row:
    """A transient copy with other content (the session's row is never modified)."""
    cls = type(row)
    cols = {c.key: getattr(row, c.key) for c in cls.__mapper__.column_attrs}
    cols["content"] = content
    return cls(**cols)


async def readable(session: AsyncSession, ctx: RequestContext, row: Row, what: str) -> Row:
    """The row as the actor may see it (maybe redacted); 404 when hidden, deleted ones too."""
    if ctx.privileged:
        return row
    if row.content is not None:
        seen = await will_see(session, ctx, row.res_type, row.content)
    else:  # a delete: visible as deleted only to those who could see what was deleted
        pk = row.pk if isinstance(row, ResourceRow) else row.res_pk
        last = await repo.version_contents(session, pk)
        seen = await will_see(session, ctx, row.res_type, last[0]) if last else None
        seen = None if seen is None else b""
    if seen is None:
        raise NotFound(f"{what} is not known.")
    return row if row.content is None or seen is row.content else _copy(row, seen)


def seen_rows(ctx: RequestContext, rows: list[ResourceRow]) -> list[ResourceRow]:
    """Rows the visibility clause admitted, as the actor may see them (CarePlans redacted)."""
    if ctx.privileged:
        return rows
    out = []
    for row in rows:
        content = redact_row(ctx, row.res_type, row.content) if row.content is not None else b""
        if content:
            out.append(row if content is row.content else _copy(row, content))
    return out


async def visible_versions(session: AsyncSession, ctx: RequestContext,
                           page: Sequence[tuple[VersionRow, int]]) -> list[tuple[VersionRow, int]]:
    """History entries the actor may see, redacted; delete markers follow their resource."""
    if ctx.privileged:
        return list(page)
    out = []
    for row, key in page:
        try:
            out.append((await readable(session, ctx, row, f"{row.res_type}/{row.res_id}"), key))
        except NotFound:
            continue
    return out


async def note_established(session: AsyncSession, ctx: RequestContext, team_id: str,
                           version: int) -> None:
    """Audit that a service joined a patient's care (shown in the patient's access log)."""
    await security_hooks.audit(session, ctx, AuditRecord(
        Interaction.CREATE, "CareTeam", 201, [("CareTeam", team_id, version)],
        operation=ESTABLISHED))

