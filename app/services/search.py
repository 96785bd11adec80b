"""Search logic: parse, run the index-backed query, page, include, assemble the Bundle.

https://hl7.org/fhir/R4/search.html. Never commits; every query passes the consent hook.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import ColumnElement, or_
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.consent import enforce as consent_enforce
from app.consent import hooks as consent_hooks
from app.db.tables import ResourceRow
from app.fhir.errors import BadRequest, Issue, NotFound
from app.fhir.models import SERVED, SERVED_TYPES
from app.repository.search import includes as inc
from app.repository.search import paging
from app.search import bundle
from app.search.query import ParsedQuery, parse_query
from app.search.refs import set_local_base
from app.security import hooks
from app.security.interactions import AuditRecord, Interaction
from app.services.context import RequestContext

_COMPARTMENT = Path(__file__).resolve().parent.parent / "data" / "compartment-patient.json"


def compartment_params(res_type: str) -> list[str]:
    """Patient-compartment parameters of a type (CompartmentDefinition-patient)."""
    data = json.loads(_COMPARTMENT.read_bytes())
    for r in data["resource"]:
        if r["code"] == res_type:
            return list(r.get("param", []))
    return []


class SearchService:
    """Searches for one request's actor."""

    def __init__(self, session: AsyncSession, ctx: RequestContext, settings: Settings) -> None:
        self.session = session
        self.ctx = ctx
        self.settings = settings
        set_local_base(settings.base)

    async def search(
        self, res_type: str | None, params: list[tuple[str, str]], *,
        compartment: tuple[str, str] | None = None, strict: bool = False,
    ) -> bytes:
        """A searchset Bundle for `GET [base]/[type]?params` (or a compartment search)."""
        q = parse_query(res_type, params, strict=strict)
        types = [res_type] if res_type else (q.types or list(SERVED_TYPES))
        _start_search(self.ctx, res_type, types)
        self.ctx = await consent_hooks.prepare(self.session, self.ctx, res_type, params)  # can-see
        extra = self._compartment(compartment, types) if compartment else None
        where = paging.base_where(self.ctx, types, q.criteria, extra)
        if (guard := consent_hooks.sort_guard(self.ctx, res_type, [c for c, _ in q.sort])) is not None:
            where.append(guard)  # consent: never order rows by values redacted for this reader
        count = min(q.count if q.count is not None else self.settings.default_page_size,
                    self.settings.max_page_size)
        total_mode = q.total or self.settings.search_default_total
        if q.summary == "count":
            n = await paging.count_matches(self.session, where)
            await _audit_search(self.session, self.ctx, q, [])
            return bundle.searchset(n, [("self", self._url(q, compartment))], [])
        rows: list[tuple[int, list[Any]]] = []
        more = before = False
        if count > 0:
            rows, more, before = await paging.fetch_page(
                self.session, where, res_type, q.sort, q.cursor, count)
        total = await self._total(q, where, total_mode, rows, count, more or before)
        links = self._links(q, compartment, rows, more, before, total)
        entries = await self._entries(q, [pk for pk, _ in rows], types)
        return bundle.searchset(total, links, entries)

    async def find_matches(self, res_type: str, query: str, limit: int = 2) -> list[ResourceRow]:
        """Current resources matching a conditional query string (strict: unknown params 400)."""
        params = parse_qsl(query, keep_blank_values=True)
        params = [(k, v) for k, v in params if k not in ("_format", "_pretty")]
        if not params:
            raise BadRequest("A conditional interaction needs search criteria.")
        q = parse_query(res_type, params, strict=True)
        if not q.criteria:  # never let a conditional interaction match everything
            raise BadRequest("A conditional interaction needs search criteria with values.")
        self.ctx = await consent_hooks.prepare(self.session, self.ctx, res_type, params)  # can-see
        where = paging.base_where(self.ctx, [res_type], q.criteria)
        rows, _, _ = await paging.fetch_page(self.session, where, res_type, [], None, limit)
        found = await inc.fetch_rows(self.session, [pk for pk, _ in rows])
        # Will-see: callers (conditional create, forms) get what this actor may see, redacted.
        return consent_enforce.seen_rows(self.ctx, [found[pk] for pk, _ in rows if pk in found])

    def _compartment(self, comp: tuple[str, str], types: list[str]) -> ColumnElement[bool]:
        """The compartment restriction for the searched types."""
        comp_type, comp_id = comp
        if comp_type != "Patient":
            raise NotFound(f"Compartment '{comp_type}' is not supported (only Patient).")
        terms = [inc.compartment_where(comp_type, comp_id, t, compartment_params(t))
                 for t in types]
        return or_(*terms) if len(terms) > 1 else terms[0]

    def _url(self, q: ParsedQuery, comp: tuple[str, str] | None, cursor: str | None = None,
             ) -> str:
        """A link for this search, optionally at a cursor."""
        path = f"{comp[0]}/{comp[1]}/{q.res_type or '*'}" if comp else q.res_type
        params = list(q.used) + ([("_cursor", cursor)] if cursor else [])
        return bundle.link_url(self.settings.base, path, params)

    async def _total(self, q: ParsedQuery, where: list[ColumnElement[bool]], mode: str,
                     rows: list[tuple[int, list[Any]]], count: int, paged: bool) -> int | None:
        """Bundle.total: counted once on the first page, then carried in the page cursors."""
        if mode == "none":
            return None
        if q.cursor is not None and (carried := paging.cursor_total(q.cursor)) is not None:
            return carried
        if count > 0 and not paged and q.cursor is None:
            return len(rows)  # the first page holds every match
        return await paging.count_matches(self.session, where)

    def _links(self, q: ParsedQuery, comp: tuple[str, str] | None,
               rows: list[tuple[int, list[Any]]], more: bool, before: bool,
               total: int | None = None) -> list[tuple[str, str]]:
        """self, first, next and previous links (keyset cursors)."""
        links = [("self", self._url(q, comp, q.cursor)), ("first", self._url(q, comp))]
        if rows and more:
            last_pk, last_keys = rows[-1]
            links.append(("next", self._url(q, comp, paging.encode_cursor(
                "n", last_keys, last_pk, total))))
        if rows and before:
            first_pk, first_keys = rows[0]
            links.append(("previous", self._url(q, comp, paging.encode_cursor(
                "p", first_keys, first_pk, total))))
        return links

    async def _entries(self, q: ParsedQuery, pks: list[int], types: list[str]) -> list[bytes]:
        """Match entries, included entries, and an outcome entry for ignored parameters."""
        extra = await self._inclusions(q, pks)
        rows = await inc.fetch_rows(self.session, pks + extra, detached=True)
        for t in sorted({r.res_type for pk, r in rows.items() if pk not in set(pks)}):
            hooks.start(self.ctx, Interaction.READ, t)  # _include must not widen the scopes
        await _audit_search(self.session, self.ctx, q, [rows[pk] for pk in pks + extra
                                                         if pk in rows])
        base = self.settings.base
        out = []
        matched = set(pks)
        for pk in pks + extra:
            row = rows.get(pk)
            if row is None or row.content is None:
                continue
            content = consent_hooks.redact_row(self.ctx, row.res_type, row.content)  # will-see
            if not content:
                continue
            body = bundle.shape(content, row.res_type, q.summary, q.elements)
            out.append(bundle.entry(base, row.res_type, row.res_id, body,
                                    "match" if pk in matched else "include"))
        issues = [Issue("warning", "not-supported",
                        f"Unknown or unsupported search parameter '{n}' was ignored")
                  for n in q.unknown]
        if len(extra) >= self.settings.search_max_includes > 0:
            issues.append(Issue("warning", "too-costly", "_include/_revinclude stopped at "
                                f"{self.settings.search_max_includes} resources"))
        if issues:
            out.append(bundle.outcome_entry(issues))
        return out

    async def _inclusions(self, q: ParsedQuery, pks: list[int]) -> list[int]:
        """pks added by _include/_revinclude, following :iterate a bounded number of rounds."""
        if not pks or not (q.include or q.revinclude):
            return []
        seen = set(pks)
        added: list[int] = []
        frontier = await self._typed(q.res_type, pks)
        limit = self.settings.search_max_includes
        for depth in range(self.settings.search_iterate_depth + 1):
            inc_specs = [s for s in q.include if depth == 0 or s[3]]
            rev_specs = [s for s in q.revinclude if depth == 0 or s[3]]
            if not (inc_specs or rev_specs) or not frontier:
                break
            found = await self._one_round(frontier, inc_specs, rev_specs)
            frontier = [(pk, t) for pk, t in found if pk not in seen]
            seen.update(pk for pk, _ in frontier)
            added += [pk for pk, _ in frontier]
            if len(added) >= limit:
                return added[:limit]
        return added

    async def _typed(self, res_type: str | None, pks: list[int]) -> list[tuple[int, str]]:
        """(pk, type) of page rows: a type search's are all of its type (no query needed)."""
        if res_type:
            return [(pk, res_type) for pk in pks]
        return [(pk, t) for pk, t, _ in await inc.fetch_keys(self.session, pks)]

    async def _one_round(self, frontier: list[tuple[int, str]], inc_specs: list[inc.Inclusion],
                         rev_specs: list[inc.Inclusion]) -> list[tuple[int, str]]:
        """One include/revinclude round from the frontier."""
        types = list(SERVED)
        found: list[tuple[int, str]] = []
        if inc_specs:
            found += await inc.included(self.session, self.ctx, frontier, inc_specs, types)
        if rev_specs:
            keys = await inc.fetch_keys(self.session, [pk for pk, _ in frontier])
            found += await inc.revincluded(self.session, self.ctx,
                                           [(t, i) for _, t, i in keys], rev_specs, types)
        return found


def _start_search(ctx: RequestContext, res_type: str | None, types: list[str]) -> None:
    """Security start phase: the search interaction, and each searched type for system search."""
    if res_type:
        hooks.start(ctx, Interaction.SEARCH_TYPE, res_type)
        return
    hooks.start(ctx, Interaction.SEARCH_SYSTEM, None)
    for t in types:
        if t != "AuditEvent":  # AuditEvents live in the audit log, never in system search
            hooks.start(ctx, Interaction.SEARCH_TYPE, t)


async def _audit_search(session: AsyncSession, ctx: RequestContext, q: ParsedQuery,
                        rows: list[ResourceRow]) -> None:
    """Audit every returned resource (matches and includes) with the query."""
    interaction = Interaction.SEARCH_TYPE if q.res_type else Interaction.SEARCH_SYSTEM
    await hooks.audit(session, ctx, AuditRecord(
        interaction, q.res_type, 200,
        [(r.res_type, r.res_id, r.version_id) for r in rows if r.content is not None],
        query=urlencode(q.used), contents=[r.content for r in rows if r.content is not None]))
