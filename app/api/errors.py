"""The one error handler: every failure leaves as an OperationOutcome with the right status."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from app.fhir.errors import FhirError, Issue, operation_outcome
from app.fhir.json import dumps
from app.security.refusals import record_refusal

log = logging.getLogger("fellesplan")
_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
          406: "not-supported", 409: "conflict", 413: "too-costly", 415: "not-supported",
          422: "processing", 500: "exception", 503: "transient"}


def _render(status: int, issues: list[Issue], headers: dict[str, str] | None = None) -> Response:
    """An OperationOutcome response."""
    return Response(dumps(operation_outcome(issues)), status_code=status, headers=headers,
                    media_type="application/fhir+json; charset=utf-8")


async def _fhir_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FhirError)
    if exc.status in (403, 404):
        # Refused attempts on patient data belong in the patient's access log too.
        await record_refusal(request, exc.status)
    return _render(exc.status, exc.issues, exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        text = f"No FHIR endpoint at {request.url.path}."
    elif status == 405:
        text = f"{request.method} is not allowed on {request.url.path}."
    else:
        text = str(exc.detail)
    headers = dict(exc.headers) if exc.headers else None
    return _render(status, [Issue("error", _CODES.get(status, "processing"), text)], headers)


async def _validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    issues = [
        Issue("error", "invalid", f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}",
              (str(e["loc"][-1]),) if e.get("loc") else ())
        for e in exc.errors()
    ]
    return _render(400, issues or [Issue("error", "invalid", "Invalid request.")])


async def _integrity_error(_: Request, exc: Exception) -> Response:
    log.info("integrity conflict: %s", exc)
    return _render(409, [Issue("error", "conflict",
                               "A concurrent request changed the same resource; retry the request.")])


# PostgreSQL deadlock and serialization failures: the client may simply retry.
_RETRYABLE = frozenset({"40001", "40P01"})


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error (asyncpg exposes it as sqlstate, psycopg as pgcode)."""
    orig = getattr(exc, "orig", None)
    for obj in (orig, getattr(orig, "__cause__", None)):
        code = getattr(obj, "sqlstate", None) or getattr(obj, "pgcode", None)
        if code:
            return str(code)
    return None


async def _dbapi_error(request: Request, exc: Exception) -> Response:
    if _sqlstate(exc) in _RETRYABLE:
        log.info("retryable database conflict: %s", exc)
        return _render(409, [Issue("error", "conflict",
                                   "A concurrent transaction conflicted with this one; retry the request.")])
    return await _unhandled(request, exc)


async def _db_unavailable(request: Request, exc: Exception) -> Response:
    if _sqlstate(exc) in _RETRYABLE:
        return await _dbapi_error(request, exc)
    log.error("database error: %s", exc)
    return _render(503, [Issue("error", "transient", "The database is unavailable; retry later.")])


async def _unhandled(_: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return _render(500, [Issue("fatal", "exception", "Internal server error; it has been logged.")])


def install(app: FastAPI) -> None:
    """Register the handlers."""
    app.add_exception_handler(FhirError, _fhir_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _db_unavailable)
    app.add_exception_handler(InterfaceError, _db_unavailable)
    app.add_exception_handler(DBAPIError, _dbapi_error)
    app.add_exception_handler(Exception, _unhandled)
