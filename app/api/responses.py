"""Rendering service results as FHIR HTTP responses (headers per https://hl7.org/fhir/R4/http.html)."""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import Response

from app.api.negotiation import fhir_response
from app.config import Settings
from app.fhir.dates import http_date, parse_http_date
from app.fhir.elements import apply_elements, apply_summary
from app.fhir.errors import BadRequest, Issue, operation_outcome
from app.fhir.json import loads_stored
from app.services.writes import WriteResult, etag

_PREFER_RETURN = ("minimal", "representation", "OperationOutcome")


def prefer_return(request: Request) -> str:
    """The Prefer: return=... choice (representation by default)."""
    for part in request.headers.get("prefer", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "return" and value.strip().strip('"') in _PREFER_RETURN:
            return value.strip().strip('"')
    return "representation"


def version_headers(version_id: int, last_updated: dt.datetime) -> dict[str, str]:
    """ETag and Last-Modified."""
    return {"ETag": etag(version_id), "Last-Modified": http_date(last_updated)}


def write_response(request: Request, settings: Settings, r: WriteResult) -> Response:
    """The answer to create/update/delete, honouring Prefer."""
    headers: dict[str, str] = {}
    if r.res_id and r.version_id:
        headers.update(version_headers(r.version_id, r.last_updated))
        if r.content is not None:
            headers["Location"] = f"{settings.base}/{r.res_type}/{r.res_id}/_history/{r.version_id}"
    choice = prefer_return(request)
    if r.content is None or choice == "OperationOutcome":
        issues = r.issues or [Issue("information", "informational", _describe(r))]
        return fhir_response(request, operation_outcome(issues), r.status, headers)
    if choice == "minimal":
        return Response(status_code=r.status, headers=headers)
    return fhir_response(request, r.content, r.status, headers)


def _describe(r: WriteResult) -> str:
    """A short human text for an OperationOutcome answer."""
    verb = "created" if r.created else "stored"
    return f"{r.res_type}/{r.res_id} {verb} as version {r.version_id}."


def not_modified(request: Request, version_id: int, last_updated: dt.datetime) -> bool:
    """True when If-None-Match or If-Modified-Since lets us answer 304."""
    inm = request.headers.get("if-none-match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return f'"{version_id}"' in tags or "*" in tags
    ims = request.headers.get("if-modified-since")
    if ims is not None:
        since = parse_http_date(ims)
        return since is not None and last_updated.replace(microsecond=0) <= since
    return False


def resource_response(
    request: Request, res_type: str, content: bytes, version_id: int, last_updated: dt.datetime
) -> Response:
    """A read/vread answer: stored bytes, or a subset for _summary/_elements; 304 when unchanged."""
    headers = version_headers(version_id, last_updated)
    if not_modified(request, version_id, last_updated):
        return Response(status_code=304, headers=headers)
    summary = request.query_params.get("_summary")
    elements = request.query_params.get("_elements")
    if summary is None and elements is None:
        return fhir_response(request, content, 200, headers)
    resource = loads_stored(content)
    if summary is not None:
        if summary == "count":
            raise BadRequest("_summary=count applies to searches, not reads.", expression="_summary")
        resource = apply_summary(resource, summary, res_type)
    if elements is not None:
        resource = apply_elements(resource, elements.split(","), res_type)
    return fhir_response(request, resource, 200, headers)
