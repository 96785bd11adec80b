"""$validate at type and instance level (https://hl7.org/fhir/R4/resource-operation-validate.html).

Answers 200 with an OperationOutcome whether or not the resource is valid: that is the spec.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.api.negotiation import fhir_response
from app.fhir.errors import BadRequest, Issue, operation_outcome
from app.fhir.json import loads_stored
from app.fhir.models import SERVED_TYPES
from app.forms.responses import response_issues
from app.operations.registry import OperationCall
from app.services.crud import ResourceService
from app.validation.hook import MODES, validate_resource

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "Resource-validate",
    "url": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
    "version": "4.0.1",
    "name": "Validate",
    "title": "Validate a resource",
    "status": "active",
    "kind": "operation",
    "affectsState": False,
    "code": "validate",
    "resource": list(SERVED_TYPES),
    "system": False,
    "type": True,
    "instance": True,
    "parameter": [
        {"name": "resource", "use": "in", "min": 0, "max": "1", "type": "Resource",
         "documentation": "The resource to validate (or the body itself)"},
        {"name": "mode", "use": "in", "min": 0, "max": "1", "type": "code",
         "documentation": "create | update | delete"},
        {"name": "profile", "use": "in", "min": 0, "max": "1", "type": "uri",
         "documentation": "Validate against this profile only (else: meta.profile and the "
                          "mandatory profiles, as a write would)"},
        {"name": "return", "use": "out", "min": 1, "max": "1", "type": "OperationOutcome",
         "documentation": "All issues; 200 even when the resource is not valid"},
    ],
}


def _arguments(call: OperationCall) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """(resource, mode, profile) from the query and a Parameters or bare-resource body."""
    query = dict(call.params)
    resource, mode, profile = None, query.get("mode"), query.get("profile")
    body = call.body
    if body is not None and body.get("resourceType") == "Parameters":
        for p in body.get("parameter", []):
            name = p.get("name")
            if name == "resource":
                resource = p.get("resource")
            elif name == "mode":
                mode = p.get("valueCode", mode)
            elif name == "profile":
                profile = p.get("valueUri") or p.get("valueCanonical") or profile
    elif body is not None:
        resource = body
    if mode is not None and mode not in MODES:
        raise BadRequest(f"$validate: mode must be one of {', '.join(MODES)}", expression="mode")
    return resource, mode, profile


async def _stored(call: OperationCall) -> dict[str, Any]:
    """The stored resource of an instance-level call (read rules and auditing apply)."""
    assert call.res_type is not None and call.res_id is not None
    row = await ResourceService(call.session, call.ctx, call.settings).read(call.res_type, call.res_id)
    data = loads_stored(row.content or b"{}")
    assert isinstance(data, dict)
    return data


async def handle(call: OperationCall) -> Response:
    """Validate and answer with an OperationOutcome."""
    resource, mode, profile = _arguments(call)
    if call.res_id is not None and (resource is None or mode == "delete"):
        resource = await _stored(call)
    if resource is None:
        raise BadRequest("$validate needs a resource (the body, or a 'resource' parameter).")
    if call.res_type and resource.get("resourceType") != call.res_type:
        raise BadRequest(f"$validate on {call.res_type} got a {resource.get('resourceType')}.",
                         expression="resource")
    if call.res_id is not None and mode == "update" and resource.get("id") != call.res_id:
        issues = [Issue("error", "invalid", "The resource id does not match the URL",
                        (f"{call.res_type}.id",))]
    else:
        issues = validate_resource(resource, profile=profile, mode=mode)
        if resource.get("resourceType") == "QuestionnaireResponse":
            # Answers are checked against the stored Questionnaire (SDC rules).
            issues += await response_issues(call.session, call.ctx, call.settings, resource)
    if not issues:
        issues = [Issue("information", "informational", "No issues detected during validation")]
    return fhir_response(call.request, operation_outcome(issues))
