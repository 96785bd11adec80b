"""Routes that dispatch $operations at system, type and instance level."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from app.api.deps import Env, get_env
from app.api.negotiation import check_content_type, read_body
from app.api.routes import served
from app.fhir.parse import check_id, parse_json_object
from app.operations.registry import OperationCall, resolve

router = APIRouter()


async def _body(env: Env) -> dict[str, Any] | None:
    """The POST body (a Parameters resource or a bare resource), if any."""
    if env.request.method != "POST":
        return None
    check_content_type(env.request)
    raw = await read_body(env.request, env.settings.max_body_bytes)
    return parse_json_object(raw, env.settings.max_json_depth) if raw.strip() else None


async def _dispatch(env: Env, code: str, level: str, res_type: str | None, res_id: str | None) -> Response:
    """Resolve and run one operation."""
    op = resolve(code, level, res_type, env.request.method)
    call = OperationCall(env.request, env.session, env.ctx, env.settings, res_type, res_id,
                         env.request.query_params.multi_items(), await _body(env))
    return await op.handle(call)


@router.get("/${code}", name="operation:system")
@router.post("/${code}", name="operation:system-post")
async def system_operation(code: str, env: Env = Depends(get_env)) -> Response:
    """[base]/$operation."""
    return await _dispatch(env, code, "system", None, None)


@router.get("/{res_type}/${code}", name="operation:type")
@router.post("/{res_type}/${code}", name="operation:type-post")
async def type_operation(res_type: str, code: str, env: Env = Depends(get_env)) -> Response:
    """[base]/[type]/$operation."""
    return await _dispatch(env, code, "type", served(res_type), None)


@router.get("/{res_type}/{res_id}/${code}", name="operation:instance")
@router.post("/{res_type}/{res_id}/${code}", name="operation:instance-post")
async def instance_operation(res_type: str, res_id: str, code: str, env: Env = Depends(get_env)) -> Response:
    """[base]/[type]/[id]/$operation."""
    return await _dispatch(env, code, "instance", served(res_type), check_id(res_id))
