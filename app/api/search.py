"""Search routes: type, system and Patient-compartment search, GET and POST _search.

https://hl7.org/fhir/R4/http.html#search. Mounted after the core routes, so their literal
segments (`_history`) win over the compartment pattern.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends
from starlette.responses import Response

from app.api.deps import Env, get_env
from app.api.negotiation import fhir_response, read_body
from app.api.routes import served
from app.fhir.errors import UnsupportedMediaType
from app.fhir.parse import check_id
from app.services.search import SearchService

router = APIRouter()
_FORM = "application/x-www-form-urlencoded"
_SKIP = frozenset({"_format", "_pretty"})


def _strict(env: Env) -> bool:
    """`Prefer: handling=strict` (https://hl7.org/fhir/R4/search.html#errors)."""
    prefer = env.request.headers.get("prefer", "")
    return any(p.strip().lower() == "handling=strict" for p in prefer.split(";") + prefer.split(","))


async def _params(env: Env) -> list[tuple[str, str]]:
    """Query parameters, plus the form body of POST _search."""
    params = [(k, v) for k, v in env.request.query_params.multi_items() if k not in _SKIP]
    if env.request.method == "POST":
        ctype = env.request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await read_body(env.request, env.settings.max_body_bytes)
        if body.strip():
            if ctype != _FORM:
                raise UnsupportedMediaType(f"POST _search takes {_FORM}, not '{ctype[:60]}'.")
            form = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
            params += [(k, v) for k, v in form if k not in _SKIP]
    return params


async def _run(env: Env, res_type: str | None, comp: tuple[str, str] | None = None) -> Response:
    """Run one search and render the Bundle."""
    service = SearchService(env.session, env.ctx, env.settings)
    body = await service.search(res_type, await _params(env), compartment=comp,
                                strict=_strict(env))
    return fhir_response(env.request, body)


@router.get("/", name="interaction:search-system")
async def search_system(env: Env = Depends(get_env)) -> Response:
    """GET [base]?params (use _type to name types)."""
    return await _run(env, None)


@router.post("/_search", name="interaction:search-system-post")
async def search_system_post(env: Env = Depends(get_env)) -> Response:
    """POST [base]/_search."""
    return await _run(env, None)


@router.get("/{res_type}", name="interaction:search-type")
async def search_type(res_type: str, env: Env = Depends(get_env)) -> Response:
    """GET [base]/[type]?params."""
    return await _run(env, served(res_type))


@router.post("/{res_type}/_search", name="interaction:search-type-post")
async def search_type_post(res_type: str, env: Env = Depends(get_env)) -> Response:
    """POST [base]/[type]/_search with a form body."""
    return await _run(env, served(res_type))


@router.get("/{comp_type}/{comp_id}/{res_type}", name="interaction:search-compartment")
async def search_compartment(comp_type: str, comp_id: str, res_type: str,
                             env: Env = Depends(get_env)) -> Response:
    """GET [base]/Patient/[id]/[type] (https://hl7.org/fhir/R4/compartmentdefinition.html)."""
    comp = (served(comp_type), check_id(comp_id))
    return await _run(env, None if res_type == "*" else served(res_type), comp)
