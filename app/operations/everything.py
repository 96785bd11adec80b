"""Patient/[id]/$everything (https://hl7.org/fhir/R4/patient-operation-everything.html).

Everything in the patient's compartment (CompartmentDefinition-patient), plus the resources
those reference, as a paged searchset. Consent applies through the search engine's hook.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.api.negotiation import fhir_response
from app.fhir.errors import BadRequest, NotFound
from app.operations.registry import OperationCall
from app.services.search import SearchService

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "Patient-everything",
    "url": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
    "version": "4.0.1",
    "name": "Everything",
    "title": "Fetch Patient Record",
    "status": "active",
    "kind": "operation",
    "affectsState": False,
    "code": "everything",
    "resource": ["Patient"],
    "system": False,
    "type": False,
    "instance": True,
    "parameter": [
        {"name": "_since", "use": "in", "min": 0, "max": "1", "type": "instant",
         "documentation": "Only resources updated since this instant"},
        {"name": "_type", "use": "in", "min": 0, "max": "*", "type": "code",
         "documentation": "Only resources of these types (comma-separated)"},
        {"name": "_count", "use": "in", "min": 0, "max": "1", "type": "integer",
         "documentation": "Page size"},
        {"name": "return", "use": "out", "min": 1, "max": "1", "type": "Bundle",
         "documentation": "A searchset Bundle, paged"},
    ],
}

_PASS = frozenset({"_type", "_count", "_cursor", "_summary", "_elements", "_total"})


def search_params(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Map $everything parameters onto a compartment search."""
    out: list[tuple[str, str]] = [("_include", "*")]
    for name, value in params:
        if name == "_since":
            out.append(("_lastUpdated", f"ge{value}"))
        elif name in _PASS:
            out.append((name, value))
        elif name in ("start", "end"):
            raise BadRequest(f"$everything: '{name}' is not supported; use _since.")
    return out


async def handle(call: OperationCall) -> Response:
    """Run $everything for one Patient."""
    if call.res_type != "Patient" or call.res_id is None:
        raise BadRequest("$everything is defined on Patient/[id].")
    service = SearchService(call.session, call.ctx, call.settings)
    if not await service.find_matches("Patient", f"_id={call.res_id}", limit=1):
        raise NotFound(f"Patient/{call.res_id} is not known.")
    body = await service.search(None, search_params(call.params),
                                compartment=("Patient", call.res_id))
    return fhir_response(call.request, body)
