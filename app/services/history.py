"""History at instance, type and system level (https://hl7.org/fhir/R4/http.html#history)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.consent import enforce as consent
from app.consent import hooks as consent_hooks
from app.db.tables import VersionRow
from app.fhir.dates import format_instant, parse_range, utcnow
from app.fhir.errors import BadRequest, NotFound
from app.repository.resources import HistoryQuery, ResourceRepository
from app.security import hooks
from app.security.interactions import AuditRecord, Interaction
from app.services.context import RequestContext

_KNOWN = frozenset({"_since", "_at", "_count", "_cursor", "_format", "_pretty", "_list"})


class HistoryService:
    """Builds history Bundles, newest first, keyset-paged on the change sequence."""

    def __init__(self, session: AsyncSession, ctx: RequestContext, settings: Settings) -> None:
        self.session = session
        self.ctx = ctx
        self.settings = settings
        self.repo = ResourceRepository(session, ctx)

    async def history(
        self, res_type: str | None, res_id: str | None, params: list[tuple[str, str]]
    ) -> bytes:
        """A history Bundle for an instance, a type or the whole system."""
        interaction = (Interaction.HISTORY_INSTANCE if res_id else
                       Interaction.HISTORY_TYPE if res_type else Interaction.HISTORY_SYSTEM)
        hooks.start(self.ctx, interaction, res_type)
        query = self._query(res_type, res_id, dict(params))
        self.ctx = await consent_hooks.prepare(self.session, self.ctx)
        if res_type and res_id:
            current = await self.repo.get_current(res_type, res_id)
            if current is None:
                raise NotFound(f"{res_type}/{res_id} is not known.")
            await consent.readable(self.session, self.ctx, current, f"{res_type}/{res_id}")
        visible = consent_hooks.history_clause(self.ctx, res_type, VersionRow.res_type,
                                               VersionRow.res_pk)
        rows = await self.repo.history(replace(query, limit=query.limit + 1, visible=visible))
        page, more = rows[: query.limit], len(rows) > query.limit
        shown = await consent.visible_versions(self.session, self.ctx, page)  # will-see
        entities: list[tuple[str, str, int | None]] = [(r.res_type, r.res_id, r.version_id) for r, _ in shown]
        await hooks.audit(self.session, self.ctx,
                          AuditRecord(interaction, res_type, 200, entities))
        # The next link pages on the last version scanned, shown or not.
        return self._bundle(res_type, res_id, params, shown, more, page[-1][1] if page else None)

    def _query(self, res_type: str | None, res_id: str | None, p: dict[str, str]) -> HistoryQuery:
        """Parse _since, _at, _count and the paging cursor."""
        since = parse_range(p["_since"], "_since")[0] if "_since" in p else None
        at = parse_range(p["_at"], "_at") if "_at" in p else None
        count = _int_param(p, "_count", self.settings.default_page_size)
        count = min(count, self.settings.max_page_size)
        cursor = _int_param(p, "_cursor", 0) or None
        return HistoryQuery(res_type, res_id, since, at, cursor, count)

    def _bundle(self, res_type: str | None, res_id: str | None, params: list[tuple[str, str]],
                rows: Sequence[tuple[VersionRow, int]], more: bool, last_key: int | None) -> bytes:
        """Serialise the Bundle by splicing stored content (no re-parsing)."""
        base = self.settings.base
        path = "/".join(p for p in (base, res_type, res_id, "_history") if p)
        kept = [(k, v) for k, v in params if k in _KNOWN and k != "_cursor"]
        links = [{"relation": "self", "url": _url(path, params)}]
        if more and last_key is not None:
            links.append({"relation": "next", "url": _url(path, [*kept, ("_cursor", str(last_key))])})
        head = orjson.dumps({"resourceType": "Bundle", "type": "history",
                             "meta": {"lastUpdated": format_instant(utcnow())}, "link": links})
        if not rows:  # FHIR JSON never carries an empty array
            return head
        entries = b",".join(_entry(base, r) for r, _ in rows)
        return head[:-1] + b',"entry":[' + entries + b"]}"


def _entry(base: str, r: VersionRow) -> bytes:
    """One history entry."""
    url = f"{r.res_type}/{r.res_id}"
    status = "201 Created" if r.version_id == 1 else "204 No Content" if r.deleted else "200 OK"
    request = {"method": r.method, "url": r.res_type if r.method == "POST" else url}
    meta: dict[str, Any] = {"fullUrl": f"{base}/{url}", "request": request,
            "response": {"status": status, "etag": f'W/"{r.version_id}"',
                         "lastModified": format_instant(r.last_updated)}}
    head = orjson.dumps(meta)
    if r.content is None:
        return head
    return head[:-1] + b',"resource":' + r.content + b"}"


def _int_param(p: dict[str, str], name: str, default: int) -> int:
    """A non-negative integer parameter."""
    raw = p.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        raise BadRequest(f"{name} must be a non-negative integer, got '{raw[:20]}'.", expression=name)
    return int(raw)


def _url(path: str, params: list[tuple[str, str]]) -> str:
    """A link URL."""
    return f"{path}?{urlencode(params)}" if params else path
