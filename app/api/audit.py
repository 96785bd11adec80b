"""AuditEvent routes: the log lives in its own hash-chained table, so it has its own service.

Only read and search are offered; AuditEvents are written by the server alone (BALP shape,
https://profiles.ihe.net/ITI/BALP/).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import Response

from app.api.deps import Env, get_env
from app.api.negotiation import fhir_response
from app.fhir.parse import check_id
from app.security.audit_service import AuditService

router = APIRouter()
# What AuditService searches on; the CapabilityStatement declares exactly these for AuditEvent.
SEARCH_PARAMS: tuple[tuple[str, str, str], ...] = (
    ("patient", "reference", "http://hl7.org/fhir/SearchParameter/AuditEvent-patient"),
    ("date", "date", "http://hl7.org/fhir/SearchParameter/AuditEvent-date"),
    ("agent", "reference", "http://hl7.org/fhir/SearchParameter/AuditEvent-agent"),
)


@router.get("/AuditEvent/{res_id}", name="audit:read")
async def read_audit_event(res_id: str, env: Env = Depends(get_env)) -> Response:
    """Read one AuditEvent (the patient's own log, or with fellesplan/audit)."""
    body = await AuditService(env.session, env.ctx, env.settings).read(check_id(res_id))
    return fhir_response(env.request, body)


@router.get("/AuditEvent", name="audit:search-type")
async def search_audit_events(env: Env = Depends(get_env)) -> Response:
    """Search the audit log (patient, date, agent, _count)."""
    body = await AuditService(env.session, env.ctx, env.settings).search(
        env.request.query_params.multi_items())
    return fhir_response(env.request, body)
