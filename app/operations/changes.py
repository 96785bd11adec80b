"""$changes: the change feed for pull sync, continued with an opaque token (docs/sync.md).

GET [base]/$changes?since=<token>&_count=&_type= and GET [base]/[type]/$changes?since=<token>.
Returns a `history` Bundle of versions in commit order, oldest first; its `next` link (and
the meta.tag in CodeSystem changes-token) carries the token to ask with next time.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.api.negotiation import fhir_response
from app.fhir.models import SERVED_TYPES
from app.operations.registry import OperationCall
from app.sync.feed import ChangeFeedService

DEFINITION: dict[str, Any] = {
    "resourceType": "OperationDefinition",
    "id": "changes",
    "url": "https://fellesplan.no/fhir/OperationDefinition/changes",
    "version": "1.0.0",
    "name": "Changes",
    "title": "Changes since a token, in commit order",
    "status": "active",
    "kind": "operation",
    "affectsState": False,
    "code": "changes",
    "resource": list(SERVED_TYPES),
    "system": True,
    "type": True,
    "instance": False,
    "parameter": [
        {"name": "since", "use": "in", "min": 0, "max": "1", "type": "string",
         "documentation": "The token of the previous response (absent: from the beginning)"},
        {"name": "_count", "use": "in", "min": 0, "max": "1", "type": "integer",
         "documentation": "Page size"},
        {"name": "_type", "use": "in", "min": 0, "max": "1", "type": "string",
         "documentation": "Comma-separated resource types (system level only)"},
        {"name": "return", "use": "out", "min": 1, "max": "1", "type": "Bundle",
         "documentation": "A history Bundle, oldest change first, with a next link holding the token"},
    ],
}


async def handle(call: OperationCall) -> Response:
    """Serve one page of the change feed."""
    body = await ChangeFeedService(call.session, call.ctx, call.settings).changes(call.res_type, call.params)
    return fhir_response(call.request, body)
