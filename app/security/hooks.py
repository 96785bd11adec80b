"""Security hook points called by the service layer (HAPI IConsentService style phases).

Owned by app/security: the service layer calls these and nothing else, so policy never leaks
into handlers. `start` applies the scope/actor policy (app.security.policy, data not code);
`audit` writes the BALP AuditEvents (app.security.audit).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.fhir.errors import Forbidden
from app.security import audit as audit_log
from app.security import policy
from app.security.interactions import AuditRecord, Interaction
from app.services.context import RequestContext

_AUDIT_WRITES = frozenset(
    {Interaction.CREATE, Interaction.UPDATE, Interaction.PATCH, Interaction.DELETE}
)


def start(ctx: RequestContext, interaction: Interaction, res_type: str | None) -> None:
    """Start phase: raise Forbidden when the actor's scopes do not allow the interaction."""
    if res_type == "AuditEvent" and interaction in _AUDIT_WRITES:
        # The log is written only by the server itself, never through the API (not even SYSTEM).
        raise Forbidden("AuditEvent is written only by the server.")
    policy.check(ctx, interaction, res_type)


async def audit(session: AsyncSession, ctx: RequestContext, record: AuditRecord) -> None:
    """Record an interaction in the audit log (writes: in the caller's transaction)."""
    await audit_log.record(session, ctx, record, _settings(session))


def _settings(session: AsyncSession) -> Any:
    """The settings of the session's Database (falls back to process settings)."""
    db = session.info.get("db")
    settings = getattr(db, "settings", None)
    if settings is None:
        from app.config import get_settings

        settings = get_settings()
    return settings
