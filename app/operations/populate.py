"""Questionnaire/$populate (SDC): https://hl7.org/fhir/uv/sdc/OperationDefinition-Questionnaire-populate.html.

Pre-fills a response from the patient's data in Fellesplan (demographics, care team, contacts and
the current Kriseplan). Reads run as the caller, so nothing the caller may not see is pre-filled.
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.responses import Response

from app.api.negotiation import fhir_response
from app.fhir.errors import BadRequest, operation_outcome
from app.fhir.parse import check_structure
from app.forms.params import as_reference, parameter, parameters
from app.forms.service import FormsService
from app.operations.registry import OperationCall

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "Questionnaire-populate",
    "url": "https://fellesplan.no/fhir/OperationDefinition/Questionnaire-populate",
    "base": "http://hl7.org/fhir/uv/sdc/OperationDefinition/Questionnaire-populate",
    "version": "0.1.0",
    "name": "Populate",
    "title": "Pre-fill a Questionnaire for a patient",
    "status": "active",
    "kind": "operation",
    "affectsState": False,
    "code": "populate",
    "resource": ["Questionnaire"],
    "system": False,
    "type": True,
    "instance": True,
    "parameter": [
        {
            "name": "canonical",
            "use": "in",
            "min": 0,
            "max": "1",
            "type": "uri",
            "documentation": "The Questionnaire's canonical url (type level)",
        },
        {
            "name": "questionnaire",
            "use": "in",
            "min": 0,
            "max": "1",
            "type": "Questionnaire",
            "documentation": "The Questionnaire itself (type level)",
        },
        {
            "name": "subject",
            "use": "in",
            "min": 1,
            "max": "1",
            "type": "Reference",
            "documentation": "The Patient the response is for (Patient/<id>)",
        },
        {
            "name": "response",
            "use": "out",
            "min": 1,
            "max": "1",
            "type": "QuestionnaireResponse",
            "documentation": "The pre-filled response (status in-progress)",
        },
        {
            "name": "issues",
            "use": "out",
            "min": 0,
            "max": "1",
            "type": "OperationOutcome",
            "documentation": "Warnings met while pre-filling",
        },
    ],
}


async def handle(call: OperationCall) -> Response:
    """Run $populate."""
    service = FormsService(call.session, call.ctx, call.settings)
    subject = as_reference(parameter(call.body, call.params, "subject"), "subject")
    if subject is None:
        raise BadRequest("$populate needs 'subject' (a Patient reference).", expression="subject")
    if call.res_id is not None:
        questionnaire = await service.read("Questionnaire", call.res_id)
    else:
        given = parameter(call.body, call.params, "questionnaire")
        canonical = parameter(call.body, call.params, "canonical")
        if isinstance(given, dict) and given.get("resourceType") == "Questionnaire":
            check_structure("Questionnaire", copy.deepcopy(given))
            questionnaire = given
        elif isinstance(canonical, str) and canonical:
            questionnaire = await service.questionnaire(canonical)
        else:
            raise BadRequest(
                "$populate needs the Questionnaire: call it on Questionnaire/[id], or give "
                "'canonical' or 'questionnaire'.",
                expression="canonical",
            )
    response, issues = await service.populate(questionnaire, subject)
    return fhir_response(
        call.request,
        parameters(("response", response), ("issues", operation_outcome(issues) if issues else None)),
    )
