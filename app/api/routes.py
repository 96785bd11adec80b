"""Core FHIR REST routes: read, vread, create, update, delete, history, conditional forms.

Each route parses the request, calls one service and serialises (https://hl7.org/fhir/R4/http.html).
The route `name` says which FHIR interaction it implements; /metadata is generated from them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path
from starlette.requests import Request
from starlette.responses import Response

from app.api.deps import Env, get_env
from app.api.negotiation import check_content_type, fhir_response, read_body
from app.api.responses import resource_response, write_response
from app.fhir.errors import BadRequest, NotSupported
from app.fhir.models import SERVED, SERVED_TYPES
from app.fhir.parse import check_id, parse_resource
from app.services.crud import ResourceService
from app.services.history import HistoryService
from app.services.writes import parse_etag

router = APIRouter()
TypePath = Path(description=f"A served resource type: {', '.join(SERVED_TYPES)}.")
_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/fhir+json": {"schema": {
    "type": "object", "description": "A FHIR R4 resource (JSON)."}}}}}
_FHIR_RESPONSE: dict[int | str, dict[str, Any]] = {
    "200": {"description": "FHIR JSON", "content": {"application/fhir+json": {}}}}


def served(res_type: str) -> str:
    """The type, or 404 when this server does not serve it."""
    if res_type not in SERVED:
        raise NotSupported(f"Resource type '{res_type[:64]}' is not served here.")
    return res_type


async def body_resource(env: Env, res_type: str) -> dict[str, object]:
    """Read, parse and structurally validate the request body."""
    check_content_type(env.request)
    body = await read_body(env.request, env.settings.max_body_bytes)
    return parse_resource(body, res_type, env.settings.max_json_depth)


def if_match(request: Request) -> int | None:
    """The If-Match version, if given."""
    value = request.headers.get("if-match")
    return parse_etag(value) if value is not None else None


def conditional_query(request: Request) -> str:
    """The search part of a conditional update/delete URL (format parameters removed)."""
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in ("_format", "_pretty")]
    if not pairs:
        raise BadRequest("A conditional interaction needs search parameters in the URL.")
    return str(request.url.query)


@router.get("/_history", name="interaction:history-system", responses=_FHIR_RESPONSE)
async def history_system(env: Env = Depends(get_env)) -> Response:
    """History of every resource."""
    body = await HistoryService(env.session, env.ctx, env.settings).history(
        None, None, env.request.query_params.multi_items())
    return fhir_response(env.request, body)


@router.get("/{res_type}/_history", name="interaction:history-type", responses=_FHIR_RESPONSE)
async def history_type(res_type: str = TypePath, env: Env = Depends(get_env)) -> Response:
    """History of one type."""
    body = await HistoryService(env.session, env.ctx, env.settings).history(
        served(res_type), None, env.request.query_params.multi_items())
    return fhir_response(env.request, body)


@router.get("/{res_type}/{res_id}/_history", name="interaction:history-instance",
            responses=_FHIR_RESPONSE)
async def history_instance(res_id: str, res_type: str = TypePath, env: Env = Depends(get_env)) -> Response:
    """History of one resource."""
    body = await HistoryService(env.session, env.ctx, env.settings).history(
        served(res_type), check_id(res_id), env.request.query_params.multi_items())
    return fhir_response(env.request, body)


@router.get("/{res_type}/{res_id}/_history/{vid}", name="interaction:vread", responses=_FHIR_RESPONSE)
async def vread(res_id: str, vid: str, res_type: str = TypePath, env: Env = Depends(get_env)) -> Response:
    """Read one version."""
    if not vid.isdigit():
        raise BadRequest(f"Version '{vid[:20]}' is not a version number.", expression="vid")
    row = await ResourceService(env.session, env.ctx, env.settings).vread(
        served(res_type), check_id(res_id), int(vid))
    assert row.content is not None
    return resource_response(env.request, res_type, row.content, row.version_id, row.last_updated)


@router.get("/{res_type}/{res_id}", name="interaction:read", responses=_FHIR_RESPONSE)
async def read(res_id: str, res_type: str = TypePath, env: Env = Depends(get_env)) -> Response:
    """Read the current version."""
    row = await ResourceService(env.session, env.ctx, env.settings).read(served(res_type), check_id(res_id))
    assert row.content is not None
    return resource_response(env.request, res_type, row.content, row.version_id, row.last_updated)


@router.post("/{res_type}", name="interaction:create", status_code=201, openapi_extra=_BODY,
             responses=_FHIR_RESPONSE)
async def create(res_type: str = TypePath, env: Env = Depends(get_env)) -> Response:
    """Create, optionally conditional on If-None-Exist."""
    resource = await body_resource(env, served(res_type))
    result = await ResourceService(env.session, env.ctx, env.settings).create(
        res_type, resource, if_none_exist=env.request.headers.get("if-none-exist"))
    return write_response(env.request, env.settings, result)


@router.put("/{res_type}/{res_id}", name="interaction:update", openapi_extra=_BODY,
            responses=_FHIR_RESPONSE)
async def update(res_id: str, res_type: str = TypePath, env: Env = Depends(get_env)) -> Response:
    """Update, or create with this id (If-Match for version-aware updates)."""
    resource = await body_resource(env, served(res_type))
    result = await ResourceService(env.session, env.ctx, env.settings).update(
        res_type, check_id(res_id), resource, if_match=if_match(env.request))
    return write_response(env.request, env.settings, result)


@router.put("/{res_type}", name="interaction:conditional-update", openapi_extra=_BODY,
            responses=_FHIR_RESPONSE)
async def conditional_update(res_type: str = TypePath, env: Env = Depends(get_env)) -> Response:
    """PUT [type]?[search]."""
    query = conditional_query(env.request)
    resource = await body_resource(env, served(res_type))
    result = await ResourceService(env.session, env.ctx, env.settings).conditional_update(
        res_type, query, resource, if_match=if_match(env.request))
    return write_response(env.request, env.settings, result)


@router.delete("/{res_type}/{res_id}", name="interaction:delete", responses=_FHIR_RESPONSE)
async def delete(res_id: str, res_type: str = TypePath, env: Env = Depends(get_env)) -> Response:
    """Delete (history is kept)."""
    result = await ResourceService(env.session, env.ctx, env.settings).delete(
        served(res_type), check_id(res_id))
    return write_response(env.request, env.settings, result)


@router.delete("/{res_type}", name="interaction:conditional-delete", responses=_FHIR_RESPONSE)
async def conditional_delete(res_type: str = TypePath, env: Env = Depends(get_env)) -> Response:
    """DELETE [type]?[search]."""
    query = conditional_query(env.request)
    result = await ResourceService(env.session, env.ctx, env.settings).conditional_delete(
        served(res_type), query)
    return write_response(env.request, env.settings, result)
