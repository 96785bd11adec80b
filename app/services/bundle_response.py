"""The transaction-response and batch-response Bundles (https://hl7.org/fhir/R4/bundle.html#transaction-response).

Entries are spliced from stored bytes, as history and search do, so resources are not re-parsed.
"""

from __future__ import annotations

import datetime as dt
import uuid
from http import HTTPStatus
from typing import Any

import orjson

from app.fhir.dates import format_instant, utcnow
from app.fhir.errors import FhirError, Issue, operation_outcome
from app.fhir.json import dumps
from app.services.writes import WriteResult, etag


def status_line(code: int) -> str:
    """'201 Created' for 201."""
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def _splice(head: dict[str, Any], resource: bytes | None) -> bytes:
    """An entry object with the resource's bytes inserted as-is."""
    out = orjson.dumps(head)
    if resource is None:
        return out
    return out[:-1] + b',"resource":' + resource + b"}"


def write_entry(base: str, r: WriteResult, prefer: str) -> bytes:
    """The response entry of a create, update or delete, honouring Prefer: return."""
    response: dict[str, Any] = {"status": status_line(r.status)}
    head: dict[str, Any] = {}
    if r.res_id:
        head["fullUrl"] = f"{base}/{r.res_type}/{r.res_id}"
        if r.content is not None:
            response["location"] = f"{r.res_type}/{r.res_id}/_history/{r.version_id}"
        if r.version_id:
            response["etag"] = etag(r.version_id)
            response["lastModified"] = format_instant(r.last_updated)
    if r.content is None or prefer == "OperationOutcome":
        issues = r.issues or [Issue("information", "informational", _describe(r))]
        response["outcome"] = operation_outcome(issues)
    head["response"] = response
    return _splice(head, r.content if prefer == "representation" else None)


def _describe(r: WriteResult) -> str:
    """A short human text for an informational outcome."""
    if r.status == 200 and not r.created and r.content is not None:
        return f"{r.res_type}/{r.res_id} is at version {r.version_id}."
    return f"{r.res_type}/{r.res_id} created as version {r.version_id}."


def read_entry(base: str, res_type: str, res_id: str, version_id: int, last_updated: dt.datetime,
               content: bytes | None, status: int = 200) -> bytes:
    """The response entry of a read or vread (content None for HEAD and 304)."""
    response = {"status": status_line(status), "etag": etag(version_id),
                "lastModified": format_instant(last_updated)}
    head = {"fullUrl": f"{base}/{res_type}/{res_id}", "response": response}
    return _splice(head, content)


def bundle_entry(content: bytes | None) -> bytes:
    """The response entry of a search or history: the Bundle as the resource."""
    return _splice({"response": {"status": "200 OK"}}, content)


def error_entry(exc: FhirError) -> bytes:
    """A failed batch entry: its status and OperationOutcome."""
    return orjson.dumps({"response": {"status": status_line(exc.status),
                                      "outcome": operation_outcome(exc.issues)}})


def response_bundle(kind: str, base: str, entries: list[bytes]) -> bytes:
    """The whole response Bundle (kind: transaction-response or batch-response)."""
    head = dumps({"resourceType": "Bundle", "id": str(uuid.uuid4()),
                  "meta": {"lastUpdated": format_instant(utcnow())}, "type": kind,
                  "link": [{"relation": "self", "url": base}]})
    if not entries:
        return head
    return head[:-1] + b',"entry":[' + b",".join(entries) + b"]}"
