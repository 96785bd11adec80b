"""GET and HEAD entries of a transaction or batch: read, vread, search and history.

They run through the same services as the single requests, so they are authorised the same way
(https://hl7.org/fhir/R4/http.html#transaction).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.fhir.dates import parse_http_date, parse_range
from app.fhir.elements import apply_elements, apply_summary
from app.fhir.errors import BadRequest
from app.fhir.json import dumps, loads_stored
from app.services.bundle_entries import Entry, Kind
from app.services.bundle_response import bundle_entry, read_entry
from app.services.context import RequestContext
from app.services.crud import ResourceService
from app.services.history import HistoryService
from app.services.search import SearchService

_READ_PARAMS = frozenset({"_summary", "_elements"})


class EntryReader:
    """Answers the GET/HEAD entries of one Bundle."""

    def __init__(self, session: AsyncSession, ctx: RequestContext, settings: Settings) -> None:
        self.session = session
        self.ctx = ctx
        self.settings = settings
        self.crud = ResourceService(session, ctx, settings)

    async def run(self, e: Entry) -> bytes:
        """The response entry of one GET or HEAD entry."""
        if e.kind is Kind.SEARCH:
            body = await SearchService(self.session, self.ctx, self.settings).search(
                e.res_type, e.params, compartment=e.compartment)
            return bundle_entry(None if e.method == "HEAD" else body)
        if e.kind is Kind.HISTORY:
            body = await HistoryService(self.session, self.ctx, self.settings).history(
                e.res_type, e.res_id, e.params)
            return bundle_entry(None if e.method == "HEAD" else body)
        return await self._read(e)

    async def _read(self, e: Entry) -> bytes:
        """read or vread, with ifNoneMatch / ifModifiedSince (304) and _summary / _elements."""
        assert e.res_type is not None and e.res_id is not None
        unknown = [k for k, _ in e.params if k not in _READ_PARAMS]
        if unknown:
            raise BadRequest(f"Parameter '{unknown[0][:40]}' is not supported on a read.",
                             expression=f"{e.where}.request.url")
        if e.kind is Kind.VREAD:
            assert e.version is not None
            vrow = await self.crud.vread(e.res_type, e.res_id, e.version)
            version, updated, content = vrow.version_id, vrow.last_updated, vrow.content
        else:
            row = await self.crud.read(e.res_type, e.res_id)
            version, updated, content = row.version_id, row.last_updated, row.content
        base = self.settings.base
        if _not_modified(e, version, updated):
            return read_entry(base, e.res_type, e.res_id, version, updated, None, 304)
        if e.method == "HEAD" or content is None:
            return read_entry(base, e.res_type, e.res_id, version, updated, None)
        return read_entry(base, e.res_type, e.res_id, version, updated, _shaped(e, content))


def _shaped(e: Entry, content: bytes) -> bytes:
    """The stored bytes, or the subset _summary / _elements ask for."""
    if not e.params:
        return content
    assert e.res_type is not None
    resource = loads_stored(content)
    for key, value in e.params:
        if key == "_summary":
            if value == "count":
                raise BadRequest("_summary=count applies to searches, not reads.",
                                 expression=f"{e.where}.request.url")
            resource = apply_summary(resource, value, e.res_type)
        else:
            resource = apply_elements(resource, value.split(","), e.res_type)
    return dumps(resource)


def _not_modified(e: Entry, version_id: int, last_updated: dt.datetime) -> bool:
    """True when ifNoneMatch or ifModifiedSince lets the entry answer 304 Not Modified."""
    if e.if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in e.if_none_match.split(",")}
        return f'"{version_id}"' in tags or "*" in tags
    if e.if_modified_since is not None:
        value = e.if_modified_since
        http = parse_http_date(value)
        if http is not None:  # second precision, as HTTP dates are
            return last_updated.replace(microsecond=0) <= http
        since = parse_range(value, f"{e.where}.request.ifModifiedSince")[0]
        return last_updated <= since
    return False

