"""Read-only conformance resources: StructureDefinition, ValueSet, CodeSystem, SearchParameter.

Served from the validator's in-memory registry (profiles/ and no-basis), never the database.
Read by id, search by url, name and _id (https://hl7.org/fhir/R4/http.html#read, #search).
"""

from __future__ import annotations

import copy
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from app.api.negotiation import check_accept, fhir_response
from app.fhir.errors import BadRequest, MethodNotAllowed, NotFound
from app.validation.definitions import CONFORMANCE_TYPES
from app.validation.hook import engine

router = APIRouter()
_SEARCH_PARAMS = frozenset({"url", "name", "_id", "_format", "_pretty", "_summary", "_count"})


def _resources(res_type: str) -> list[dict[str, Any]]:
    """The published resources of a type; StructureDefinitions carry their generated snapshot."""
    eng = engine()
    out = []
    for res in eng.defs.published.get(res_type, []):
        if res_type == "StructureDefinition":
            eng.trees.tree(res["url"])  # makes sure the snapshot exists
        out.append(res)
    return out


def _matches(res: dict[str, Any], params: list[tuple[str, str]]) -> bool:
    """url: exact (|version allowed); name: case-insensitive prefix (string search); _id: exact."""
    for name, value in params:
        alternatives = value.split(",")
        if name == "url" and not any(res.get("url") == v.split("|", 1)[0] for v in alternatives):
            return False
        if name == "name" and not any(
            str(res.get("name", "")).lower().startswith(v.lower()) for v in alternatives
        ):
            return False
        if name == "_id" and res.get("id") not in alternatives:
            return False
    return True


def _bundle(request: Request, res_type: str, found: list[dict[str, Any]]) -> dict[str, Any]:
    """A searchset Bundle of the matches."""
    base = str(request.base_url).rstrip("/") + "/fhir"
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "link": [{"relation": "self", "url": str(request.url)}],
        "entry": [
            {"fullUrl": f"{base}/{res_type}/{r['id']}", "resource": r, "search": {"mode": "match"}}
            for r in found
        ],
    }


def _add_routes(res_type: str) -> None:
    """Read, search and 405-for-writes routes of one conformance type."""

    @router.get(f"/{res_type}/{{res_id}}", name=f"conformance:read:{res_type}")
    async def read(request: Request, res_id: str) -> Response:
        """Read one conformance resource by id."""
        check_accept(request)
        for res in _resources(res_type):
            if res.get("id") == res_id:
                return fhir_response(request, copy.deepcopy(res))
        raise NotFound(f"{res_type}/{res_id} is not known.")

    @router.get(f"/{res_type}", name=f"conformance:search:{res_type}")
    async def search(request: Request) -> Response:
        """Search by url, name and _id."""
        check_accept(request)
        params = list(request.query_params.multi_items())
        unknown = [n for n, _ in params if n not in _SEARCH_PARAMS]
        if unknown:
            raise BadRequest(f"Unknown search parameter '{unknown[0]}' for {res_type} "
                             "(supported: url, name, _id).", expression=unknown[0])
        found = [r for r in _resources(res_type) if _matches(r, params)]
        return fhir_response(request, _bundle(request, res_type, copy.deepcopy(found)))

    async def refuse(request: Request) -> Response:
        """Conformance resources are read-only here."""
        raise MethodNotAllowed(f"{res_type} is read-only on this server (loaded from profiles/).")

    # The 405 answers are not operations worth documenting (and one route per method would
    # only add duplicate operation ids to the OpenAPI document).
    router.add_api_route(f"/{res_type}", refuse, methods=["POST", "PUT", "PATCH", "DELETE"],
                         name=f"conformance:refuse-type:{res_type}", include_in_schema=False)
    router.add_api_route(f"/{res_type}/{{res_id}}", refuse, methods=["POST", "PUT", "PATCH", "DELETE"],
                         name=f"conformance:refuse:{res_type}", include_in_schema=False)


for _type in CONFORMANCE_TYPES:
    _add_routes(_type)
