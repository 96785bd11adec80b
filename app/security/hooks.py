"""Security hook points called by the service layer (HAPI IConsentService style phases).

Owned by app/security: the service layer calls these and nothing else, so policy never leaks
into handlers. Until authentication lands, every hook lets an OPEN/SYSTEM actor proceed.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.security.interactions import AuditRecord, Interaction
from app.services.context import RequestContext


def start(ctx: RequestContext, interaction: Interaction, res_type: str | None) -> None:
    """Start phase: raise Forbidden when the actor's scopes do not allow the interaction."""
    return None


async def audit(session: AsyncSession, ctx: RequestContext, record: AuditRecord) -> None:
    """Record an interaction in the audit log, in the caller's transaction."""
    return None
