"""AuditEvent as a FHIR resource: read and a small search (patient, date, agent), access-checked.

A person sees only events about their own Patient; the fellesplan/audit scope (supervision)
sees all. Reading the log is itself audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.fhir.dates import parse_range
from app.fhir.errors import BadRequest, NotFound
from app.repository import audit as repo
from app.security import hooks
from app.security.interactions import AuditRecord, Interaction
from app.security.scopes import AUDIT_SCOPE
from app.services.context import RequestContext

IGNORED = frozenset({"_format", "_pretty"})
_PREFIXES = ("ge", "gt", "le", "lt", "eq")


class AuditService:
    """Per-request access to the audit log."""

    def __init__(self, session: AsyncSession, ctx: RequestContext, settings: Any) -> None:
        self.session = session
        self.ctx = ctx
        self.settings = settings

    def _visible_patients(self) -> tuple[str, ...] | None:
        """The patients whose events this actor may see (None: all)."""
        if self.ctx.privileged or self.ctx.has_scope(AUDIT_SCOPE):
            return None
        return self.ctx.patient_refs

    async def read(self, res_id: str) -> bytes:
        """One AuditEvent; 404 when unknown or not the caller's to see."""
        hooks.start(self.ctx, Interaction.READ, "AuditEvent")
        row = await repo.get(self.session, self.ctx, res_id)
        visible = self._visible_patients()
        if row is not None and visible is not None:
            mine = {v for p, v in await repo.index_of(self.session, self.ctx, row.seq)
                    if p == "patient"}
            row = row if mine & set(visible) else None
        if row is None:
            raise NotFound(f"AuditEvent/{res_id} is not known.")
        await hooks.audit(self.session, self.ctx, AuditRecord(
            Interaction.READ, "AuditEvent", 200, [("AuditEvent", res_id, 1)],
            contents=[row.content]))
        return row.content

    async def search(self, params: list[tuple[str, str]]) -> bytes:
        """A searchset Bundle of matching events, newest first."""
        hooks.start(self.ctx, Interaction.SEARCH_TYPE, "AuditEvent")
        q = self._query(params)
        rows = await repo.search(self.session, self.ctx, q) if q.patients != () else []
        has_next = len(rows) == q.limit
        rows = rows[: q.limit - 1]
        await hooks.audit(self.session, self.ctx, AuditRecord(
            Interaction.SEARCH_TYPE, "AuditEvent", 200,
            [("AuditEvent", r.event_id, 1) for r in rows], query=urlencode(params),
            contents=[r.content for r in rows]))
        return self._bundle(params, rows, has_next)

    def _query(self, params: list[tuple[str, str]]) -> repo.AuditQuery:
        """Parse parameters into a query restricted to what the actor may see."""
        patients: list[str] | None = None
        agents: list[str] = []
        lo: dt.datetime | None = None
        hi: dt.datetime | None = None
        count, before = self.settings.default_page_size, None
        for name, value in params:
            if name == "patient":
                refs = [v if "/" in v else f"Patient/{v}" for v in value.split(",") if v]
                patients = (patients or []) + refs
            elif name == "agent":
                agents += [v.rsplit("|", 1)[-1] for v in value.split(",") if v]
            elif name == "date":
                lo, hi = _date(value, lo, hi)
            elif name == "_count":
                count = _int(name, value, 1, self.settings.max_page_size)
            elif name == "_before":
                before = _int(name, value, 1, 2**62)
            elif name not in IGNORED:
                raise BadRequest(f"Unknown AuditEvent search parameter '{name}'.",
                                 expression=name)
        visible = self._visible_patients()
        if visible is not None:
            patients = [p for p in (patients or visible) if p in visible]
        pats = tuple(patients) if patients is not None else None
        # One extra row tells whether a next page exists.
        return repo.AuditQuery(pats, tuple(agents), lo, hi, before, count + 1)

    def _bundle(self, params: list[tuple[str, str]], rows: list[Any], has_next: bool) -> bytes:
        """The searchset Bundle with self and next links (stored bytes embedded as they are)."""
        base = self.settings.base
        kept = [(k, v) for k, v in params if k != "_before"]
        links = [{"relation": "self", "url": f"{base}/AuditEvent?{urlencode(params)}"}]
        if has_next and rows:
            nxt = urlencode([*kept, ("_before", str(rows[-1].seq))])
            links.append({"relation": "next", "url": f"{base}/AuditEvent?{nxt}"})
        entries = [{"fullUrl": f"{base}/AuditEvent/{r.event_id}",
                    "resource": orjson.Fragment(r.content), "search": {"mode": "match"}}
                   for r in rows]
        return orjson.dumps({"resourceType": "Bundle", "type": "searchset", "link": links,
                             "entry": entries})


def _int(name: str, value: str, lo: int, hi: int) -> int:
    """A bounded integer parameter."""
    try:
        n = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer.", expression=name) from None
    return max(lo, min(hi, n))


def _date(value: str, lo: dt.datetime | None,
          hi: dt.datetime | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Narrow [lo, hi) by one date parameter (prefixes ge, gt, le, lt, eq)."""
    prefix = value[:2] if value[:2] in _PREFIXES else "eq"
    start, end = parse_range(value[2:] if value[:2] in _PREFIXES else value, "date")
    if prefix in ("ge", "eq"):
        lo = max(lo, start) if lo else start
    if prefix == "gt":
        lo = max(lo, end) if lo else end
    if prefix in ("le", "eq"):
        hi = min(hi, end) if hi else end
    if prefix == "lt":
        hi = min(hi, start) if hi else start
    return lo, hi
