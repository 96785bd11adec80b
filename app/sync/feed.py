"""The change feed for pull sync: `$changes?since=<token>`, in commit order, resumable by token.

Positions come from the commit-ordered log (`sync_changes.pos`), so a client that stores the
returned token and asks again later never misses a change and never gets one twice
(docs/sync.md). Entries are filtered through the caller's visibility, like a search.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlencode

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.consent import enforce as consent
from app.consent import hooks as consent_hooks
from app.db.subscription_tables import ChangeRow
from app.db.tables import VersionRow
from app.fhir.dates import format_instant, utcnow
from app.fhir.errors import BadRequest, Forbidden
from app.fhir.models import SERVED
from app.repository import outbox
from app.security import hooks
from app.security.interactions import AuditRecord, Interaction
from app.services.context import RequestContext
from app.services.history import _entry

TOKEN_PARAM = "since"


def parse_token(raw: str | None) -> int:
    """The position a token stands for (absent: the beginning)."""
    if raw is None or raw == "":
        return 0
    if not raw.isdigit() or len(raw) > 19:
        raise BadRequest(f"'{raw[:30]}' is not a token returned by $changes.", expression=TOKEN_PARAM)
    return int(raw)


class ChangeFeedService:
    """Changes after a token, oldest first, as a history Bundle with the next token."""

    def __init__(self, session: AsyncSession, ctx: RequestContext, settings: Settings) -> None:
        self.session = session
        self.ctx = ctx
        self.settings = settings

    async def changes(self, res_type: str | None, params: list[tuple[str, str]]) -> bytes:
        """The next page of changes and the token to continue from."""
        p = dict(params)
        since = parse_token(p.get(TOKEN_PARAM))
        count = min(_count(p.get("_count"), self.settings.default_page_size), self.settings.max_page_size)
        types = self._types(res_type, p.get("_type"))
        rows = await outbox.changes_with_versions(self.session, since, count, types)
        token = rows[-1][0].pos if rows else since
        shown = await self._visible(rows)
        await hooks.audit(self.session, self.ctx, AuditRecord(
            Interaction.HISTORY_TYPE if res_type else Interaction.HISTORY_SYSTEM, res_type, 200,
            [(v.res_type, v.res_id, v.version_id) for _, v in shown]))
        return self._bundle(res_type, params, shown, token, len(rows) == count)

    def _types(self, res_type: str | None, raw: str | None) -> list[str] | None:
        """The types asked for; each must be allowed to the caller."""
        if res_type:
            hooks.start(self.ctx, Interaction.HISTORY_TYPE, res_type)
            return [res_type]
        hooks.start(self.ctx, Interaction.HISTORY_SYSTEM, None)
        if not raw:
            return None
        types = [t.strip() for t in raw.split(",") if t.strip()]
        unknown = [t for t in types if t not in SERVED]
        if unknown:
            raise BadRequest(f"_type names unknown types: {', '.join(unknown)[:200]}.", expression="_type")
        return types

    async def _visible(self, rows: Sequence[tuple[ChangeRow, VersionRow]]
                       ) -> list[tuple[ChangeRow, VersionRow]]:
        """What the caller may see, as history shows it: scopes, then consent (hidden or redacted)."""
        if self.ctx.privileged:
            return list(rows)
        allowed: set[str] = set()
        for t in sorted({c.res_type for c, _ in rows}):
            try:
                hooks.start(self.ctx, Interaction.HISTORY_TYPE, t)
                allowed.add(t)
            except Forbidden:
                continue
        changes = {c.pos: c for c, _ in rows}
        self.ctx = await consent_hooks.prepare(self.session, self.ctx)
        shown = await consent.visible_versions(
            self.session, self.ctx, [(v, c.pos) for c, v in rows if c.res_type in allowed])
        return [(changes[pos], v) for v, pos in shown]

    def _bundle(self, res_type: str | None, params: list[tuple[str, str]],
                rows: list[tuple[ChangeRow, VersionRow]], token: int, more: bool) -> bytes:
        """A history Bundle, oldest first, with `next` carrying the token to ask with next time."""
        base = self.settings.base
        path = f"{base}/{res_type}/$changes" if res_type else f"{base}/$changes"
        kept = [(k, v) for k, v in params if k in ("_count", "_type")]
        links = [{"relation": "self", "url": _url(path, params)},
                 {"relation": "next", "url": _url(path, [*kept, (TOKEN_PARAM, str(token))])}]
        head = orjson.dumps({
            "resourceType": "Bundle", "type": "history",
            "meta": {"lastUpdated": format_instant(utcnow()), "tag": [
                {"system": "https://fellesplan.no/fhir/CodeSystem/changes-token", "code": str(token)},
                {"system": "https://fellesplan.no/fhir/CodeSystem/changes-more",
                 "code": "true" if more else "false"}]},
            "link": links})
        if not rows:
            return head
        return head[:-1] + b',"entry":[' + b",".join(_entry(base, v) for _, v in rows) + b"]}"


def _count(raw: str | None, default: int) -> int:
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise BadRequest("_count must be a positive integer.", expression="_count")
    return int(raw)


def _url(path: str, params: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(params)}" if params else path
