"""Shared pieces of the write path: stamping meta, ETags, and write results."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from app.fhir.dates import format_instant
from app.fhir.errors import BadRequest, Issue
from app.fhir.json import dumps
from app.repository.resources import NewVersion

_ETAG_RE = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


@dataclass(slots=True)
class WriteResult:
    """What a create/update/delete did, for the HTTP layer to render."""

    status: int
    res_type: str
    res_id: str
    version_id: int
    last_updated: dt.datetime
    content: bytes | None
    created: bool = False
    issues: list[Issue] = field(default_factory=list)


@dataclass(slots=True)
class PlannedWrite:
    """An update that passed every check: what to write (nothing for unchanged content)."""

    pk: int | None  # the resource's row; None when the update creates it
    expected: int  # the version the row must still be at
    version: NewVersion | None
    result: WriteResult


def stamp(resource: dict[str, Any], res_id: str, version_id: int, now: dt.datetime) -> bytes:
    """Set id, meta.versionId and meta.lastUpdated (client values are ignored) and serialise."""
    meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in ("versionId", "lastUpdated")}
    out: dict[str, Any] = {
        "resourceType": resource["resourceType"],
        "id": res_id,
        "meta": {"versionId": str(version_id), "lastUpdated": format_instant(now), **meta},
    }
    for key, value in resource.items():
        if key not in ("resourceType", "id", "meta"):
            out[key] = value
    resource.clear()
    resource.update(out)
    return dumps(out)


def parse_etag(value: str, header: str = "If-Match") -> int:
    """The version number in an ETag such as W/"3"."""
    m = _ETAG_RE.match(value)
    if not m:
        raise BadRequest(f"{header} must be a version ETag such as W/\"3\", got '{value[:40]}'.")
    return int(m.group(1))


def etag(version_id: int) -> str:
    """The weak ETag of a version."""
    return f'W/"{version_id}"'
