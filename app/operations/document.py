"""CarePlan/[id]/$document: the plan as a FHIR document (https://hl7.org/fhir/R4/composition-operation-document.html)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.api.negotiation import fhir_response
from app.fhir.errors import BadRequest
from app.forms.service import FormsService
from app.operations.registry import OperationCall

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "CarePlan-document",
    "url": "https://fellesplan.no/fhir/OperationDefinition/CarePlan-document",
    "base": "http://hl7.org/fhir/OperationDefinition/Composition-document",
    "version": "0.1.0",
    "name": "Document",
    "title": "The plan as a FHIR document Bundle",
    "status": "active",
    "kind": "operation",
    "affectsState": False,
    "code": "document",
    "resource": ["CarePlan"],
    "system": False,
    "type": False,
    "instance": True,
    "parameter": [
        {
            "name": "return",
            "use": "out",
            "min": 1,
            "max": "1",
            "type": "Bundle",
            "documentation": "A document Bundle: Composition (Volven 9602 A01-2 / A02-2), the plan and "
            "the resources it references that the caller may see",
        },
    ],
}


async def handle(call: OperationCall) -> Response:
    """Build the document Bundle for one CarePlan."""
    if call.res_id is None:
        raise BadRequest("$document is defined on CarePlan/[id].")
    bundle = await FormsService(call.session, call.ctx, call.settings).document(call.res_id)
    return fhir_response(call.request, bundle)
