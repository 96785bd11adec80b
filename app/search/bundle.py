"""Assemble searchset Bundles from stored bytes (https://hl7.org/fhir/R4/bundle.html).

Stored `content` is the exact served JSON, so entries are concatenated without re-parsing
unless _summary or _elements must reshape a resource.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

import orjson

from app.fhir.elements import apply_elements, apply_summary
from app.fhir.errors import Issue, operation_outcome


def link_url(base: str, res_type: str | None, params: list[tuple[str, str]]) -> str:
    """A search URL on our base with the given parameters."""
    path = f"{base}/{res_type}" if res_type else base
    return f"{path}?{urlencode(params)}" if params else path


def shape(content: bytes, res_type: str, summary: str | None, elements: list[str]) -> bytes:
    """The entry's resource bytes, reshaped by _summary/_elements when asked."""
    if summary is None and not elements:
        return content
    res: dict[str, Any] = orjson.loads(content)
    if summary is not None:
        res = apply_summary(res, summary, res_type)
    elif elements:
        res = apply_elements(res, elements, res_type)
    return orjson.dumps(res)


def entry(base: str, res_type: str, res_id: str, resource: bytes, mode: str) -> bytes:
    """One Bundle.entry as JSON bytes."""
    full_url = orjson.dumps(f"{base}/{res_type}/{res_id}")
    return (b'{"fullUrl":' + full_url + b',"resource":' + resource
            + b',"search":{"mode":"' + mode.encode() + b'"}}')


def outcome_entry(issues: list[Issue]) -> bytes:
    """An OperationOutcome entry (search.mode = outcome) for warnings about the search."""
    oo = operation_outcome(issues)
    oo["id"] = str(uuid.uuid4())
    return b'{"resource":' + orjson.dumps(oo) + b',"search":{"mode":"outcome"}}'


def searchset(total: int | None, links: list[tuple[str, str]], entries: list[bytes]) -> bytes:
    """The whole searchset Bundle."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    head: dict[str, Any] = {
        "resourceType": "Bundle", "id": str(uuid.uuid4()), "meta": {"lastUpdated": now},
        "type": "searchset",
    }
    if total is not None:
        head["total"] = total
    head["link"] = [{"relation": rel, "url": url} for rel, url in links]
    body = orjson.dumps(head)[:-1]
    if not entries:
        return body + b"}"
    return body + b',"entry":[' + b",".join(entries) + b"]}"
