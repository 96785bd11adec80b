"""Content negotiation: _format, Accept, Content-Type, _pretty (https://hl7.org/fhir/R4/http.html#mime-type)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from app.fhir.errors import NotAcceptable, PayloadTooLarge, UnsupportedMediaType
from app.fhir.json import dumps, loads_stored

FHIR_JSON = "application/fhir+json; charset=utf-8"
_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
_FORMAT_OK = {"json", "application/json", "application/fhir+json", "application/json+fhir"}
_ACCEPT_OK = (*_JSON_TYPES, "*/*", "application/*")


def check_accept(request: Request) -> None:
    """Raise 406 unless _format or Accept allows FHIR JSON."""
    fmt = request.query_params.get("_format")
    if fmt is not None:
        if fmt.split(";")[0].strip().lower() not in _FORMAT_OK:
            raise NotAcceptable(f"_format '{fmt[:40]}' is not supported; use json.", expression="_format")
        return
    accept = request.headers.get("accept")
    if not accept:
        return
    for part in accept.lower().split(","):
        media = part.split(";")[0].strip()
        if media in _ACCEPT_OK or not media:
            return
    raise NotAcceptable(f"Accept '{accept[:80]}' is not supported; this server speaks application/fhir+json.")


def check_content_type(request: Request) -> None:
    """Raise 415 unless the body is declared as FHIR JSON (or not declared at all)."""
    ctype = request.headers.get("content-type")
    if ctype is None:
        return
    media = ctype.split(";")[0].strip().lower()
    if media not in _JSON_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type '{ctype[:80]}' is not supported; send application/fhir+json."
        )


async def read_body(request: Request, limit: int) -> bytes:
    """Read the body, refusing more than limit bytes without reading it all into memory."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The body is {declared} bytes; the limit is {limit}.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than the limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def wants_pretty(request: Request) -> bool:
    """True when _pretty=true."""
    return request.query_params.get("_pretty", "").lower() == "true"


def fhir_response(
    request: Request,
    body: bytes | dict[str, Any] | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A FHIR JSON response; stored bytes pass through untouched unless _pretty asks otherwise."""
    if body is None:
        return Response(status_code=status, headers=headers)
    pretty = wants_pretty(request)
    if isinstance(body, bytes):
        payload = dumps(loads_stored(body), pretty=True) if pretty else body
    else:
        payload = dumps(body, pretty=pretty)
    return Response(payload, status_code=status, headers=headers, media_type=FHIR_JSON)
