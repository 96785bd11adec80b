"""Patient/[id]/$access?actor=...: who may see what of this patient, and by which rule.

Admins and the patient only. The answer names, per resource type, the decision, the policy
rules (with their legal basis) and the Consents that permit or deny, and per CarePlan the view
the actor gets (hidden, whole, or the sections of a redacted plan).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.api.negotiation import fhir_response
from app.consent.explain import explain
from app.fhir.errors import BadRequest
from app.operations.registry import OperationCall
from app.security import hooks
from app.security.interactions import AuditRecord, Interaction

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "Patient-access",
    "url": "https://fellesplan.no/fhir/OperationDefinition/Patient-access",
    "version": "0.1.0",
    "name": "Access",
    "title": "Hvem kan se hva: forklaring av tilgang til en pasients data",
    "status": "active",
    "kind": "operation",
    "affectsState": False,
    "code": "access",
    "resource": ["Patient"],
    "system": False,
    "type": False,
    "instance": True,
    "parameter": [
        {"name": "actor", "use": "in", "min": 1, "max": "1", "type": "string",
         "documentation": "Practitioner/id, PractitionerRole/id, Organization/id or RelatedPerson/id"},
        {"name": "organization", "use": "in", "min": 0, "max": "1", "type": "string",
         "documentation": "Organization/id the practitioner acts for"},
        {"name": "purpose", "use": "in", "min": 0, "max": "1", "type": "code",
         "documentation": "Purpose of use to explain, e.g. ETREAT for emergency access"},
        {"name": "return", "use": "out", "min": 1, "max": "1", "type": "Parameters",
         "documentation": "Per resource type: decision, rules and Consents; per CarePlan: the view"},
    ],
}


async def handle(call: OperationCall) -> Response:
    """Explain one actor's access to one patient."""
    if call.res_type != "Patient" or call.res_id is None:
        raise BadRequest("$access is defined on Patient/[id].")
    body = await explain(call.session, call.ctx, call.res_id, call.params)
    await hooks.audit(call.session, call.ctx, AuditRecord(
        Interaction.OPERATION, "Patient", 200, [("Patient", call.res_id, None)],
        operation="$access"))
    return fhir_response(call.request, body)
