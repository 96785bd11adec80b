"""`POST [base]` with a transaction or batch Bundle (https://hl7.org/fhir/R4/http.html#transaction)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from app.api.deps import Env, get_env
from app.api.negotiation import check_content_type, fhir_response, read_body
from app.api.responses import prefer_return
from app.fhir.parse import parse_json_object
from app.services.bundles import BundleService

router = APIRouter()
_BODY = {"requestBody": {"required": True, "content": {"application/fhir+json": {"schema": {
    "type": "object", "description": "A FHIR R4 Bundle of type transaction or batch."}}}}}
_FHIR_RESPONSE: dict[int | str, dict[str, Any]] = {"200": {
    "description": "A transaction-response or batch-response Bundle",
    "content": {"application/fhir+json": {}}}}


@router.post("/", name="interaction:transaction+batch", openapi_extra=_BODY,
             responses=_FHIR_RESPONSE)
async def transaction_or_batch(env: Env = Depends(get_env)) -> Response:
    """Process a transaction (all or nothing) or a batch (each entry on its own)."""
    check_content_type(env.request)
    body = await read_body(env.request, env.settings.max_body_bytes)
    bundle = parse_json_object(body, env.settings.max_json_depth)
    answer = await BundleService(env.session, env.ctx, env.settings).process(
        bundle, prefer=prefer_return(env.request))
    return fhir_response(env.request, answer)
