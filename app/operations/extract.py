"""QuestionnaireResponse/$extract (SDC, definition-based), with an optional `persist`.

https://hl7.org/fhir/uv/sdc/OperationDefinition-QuestionnaireResponse-extract.html. Answers a
transaction Bundle (Kriseplan CarePlan + Provenance) ready to post; with persist=true the Bundle
is processed here through the transaction service, so it is authorised and audited like any write.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
from starlette.responses import Response

from app.api.negotiation import fhir_response
from app.fhir.errors import BadRequest, operation_outcome
from app.fhir.json import loads_stored
from app.fhir.parse import check_structure
from app.forms.params import as_bool, parameter, parameters
from app.forms.service import FormsService
from app.operations.registry import OperationCall
from app.services.bundles import BundleService
from app.services.context import SYSTEM

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "QuestionnaireResponse-extract",
    "url": "https://fellesplan.no/fhir/OperationDefinition/QuestionnaireResponse-extract",
    "base": "http://hl7.org/fhir/uv/sdc/OperationDefinition/QuestionnaireResponse-extract",
    "version": "0.1.0",
    "name": "Extract",
    "title": "Turn a kriseplan-skjema response into a Kriseplan",
    "status": "active",
    "kind": "operation",
    "affectsState": True,
    "code": "extract",
    "resource": ["QuestionnaireResponse"],
    "system": False,
    "type": True,
    "instance": True,
    "parameter": [
        {
            "name": "questionnaire-response",
            "use": "in",
            "min": 0,
            "max": "1",
            "type": "QuestionnaireResponse",
            "documentation": "The response (type level; or the body)",
        },
        {
            "name": "questionnaire",
            "use": "in",
            "min": 0,
            "max": "1",
            "type": "Questionnaire",
            "documentation": "The Questionnaire, if not the stored one its canonical names",
        },
        {
            "name": "persist",
            "use": "in",
            "min": 0,
            "max": "1",
            "type": "boolean",
            "documentation": "true: process the transaction now and return the transaction-response",
        },
        {
            "name": "return",
            "use": "out",
            "min": 1,
            "max": "1",
            "type": "Bundle",
            "documentation": "The transaction Bundle (or, with persist, the transaction-response)",
        },
    ],
}


async def handle(call: OperationCall) -> Response:
    """Run $extract."""
    service = FormsService(call.session, call.ctx, call.settings)
    if call.res_id is not None:
        response = await service.read("QuestionnaireResponse", call.res_id)
    else:
        given = parameter(call.body, call.params, "questionnaire-response")
        body = call.body if call.body and call.body.get("resourceType") == "QuestionnaireResponse" else None
        found = given if isinstance(given, dict) else body
        if found is None:
            raise BadRequest(
                "$extract needs a QuestionnaireResponse (the body or 'questionnaire-response').",
                expression="questionnaire-response",
            )
        if found.get("resourceType") != "QuestionnaireResponse":
            raise BadRequest(
                "'questionnaire-response' must be a QuestionnaireResponse.",
                expression="questionnaire-response",
            )
        check_structure("QuestionnaireResponse", copy.deepcopy(found))
        response = {k: v for k, v in found.items() if k != "id"}  # not stored: no id to point at
    questionnaire = parameter(call.body, call.params, "questionnaire")
    if isinstance(questionnaire, dict):
        check_structure("Questionnaire", copy.deepcopy(questionnaire))
    bundle, issues = await service.extract(
        response, questionnaire if isinstance(questionnaire, dict) else None
    )
    if as_bool(parameter(call.body, call.params, "persist"), "persist"):
        bundle = await _persist(call, bundle)
    notes = operation_outcome(issues) if issues else None
    return fhir_response(call.request, parameters(("return", bundle), ("issues", notes)))


async def _persist(call: OperationCall, bundle: dict[str, Any]) -> dict[str, Any]:
    """Store the plan as the caller, then the Provenance as the server's own record of it.

    The plan is authorised, consent-checked and audited like any write by the caller. The
    Provenance only records what the server did; it is not patient data a caller writes, so the
    server stores it itself, in the same database transaction (all or nothing).
    """
    entries = bundle.get("entry") or []
    is_prov = [e.get("resource", {}).get("resourceType") == "Provenance" for e in entries]
    plan = [e for e, p in zip(entries, is_prov, strict=True) if not p]
    provenance = [e for e, p in zip(entries, is_prov, strict=True) if p]
    done: dict[str, Any] = loads_stored(await BundleService(call.session, call.ctx, call.settings)
                                        .process({**bundle, "entry": plan}))
    stored = {e.get("fullUrl"): r.get("response", {}).get("location", "")
              for e, r in zip(plan, done.get("entry") or [], strict=True)}
    if not provenance:
        return done
    text = orjson.dumps({**bundle, "entry": provenance}).decode()
    for full_url, location in stored.items():
        if full_url and location:
            text = text.replace(f'"{full_url}"', orjson.dumps(_relative(call, location)).decode())
    recorded: dict[str, Any] = loads_stored(await BundleService(call.session, SYSTEM, call.settings)
                                            .process(orjson.loads(text)))
    done["entry"] = [*(done.get("entry") or []), *(recorded.get("entry") or [])]
    return done


def _relative(call: OperationCall, location: str) -> str:
    """A response location as a relative reference (Type/id/_history/v)."""
    return location.removeprefix(call.settings.base + "/")
