"""`fellesplan sync pull`: import plans from an EHR's FHIR server through the validated write path.

Plans changed at the source since the checkpoint (`_lastUpdated`, with an overlap, since the
source's timestamps are not commit-ordered) are fetched with what they reference, mapped onto
our ids (sync links, then business identifiers), and written with SYSTEM through
ResourceService, one plan with its references per transaction. A resource changed on both
sides since the last exchange is a conflict: reported, nothing of that plan is overwritten.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.subscription_tables import SyncLink
from app.fhir.dates import format_instant, parse_range, utcnow
from app.fhir.errors import FhirError
from app.repository import sync_state
from app.repository.resources import ResourceRepository
from app.services.context import SYSTEM
from app.services.crud import ResourceService
from app.services.search import SearchService
from app.sync import graph
from app.sync.graph import Key
from app.sync.remote import Remote, RemoteError


@dataclass
class PullReport:
    """What a pull did."""

    imported: int = 0
    unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the command line."""
        return (f"pull: {self.imported} written, {self.unchanged} unchanged, "
                f"{len(self.conflicts)} conflict(s), {len(self.errors)} error(s)")


class Conflict(Exception):
    """Changed here and there since the last exchange."""


class PullService:
    """Pulls plans from one source."""

    def __init__(self, db: Database, remote: Remote, *, overlap: dt.timedelta = dt.timedelta(minutes=5),
                 page_size: int = 50) -> None:
        self.db = db
        self.remote = remote
        self.overlap = overlap
        self.page_size = page_size
        self.peer = f"pull:{remote.base}"
        self.link_peer = remote.base  # links are shared by push and pull with the same server

    async def run(self) -> PullReport:
        """Import every plan changed at the source since the checkpoint."""
        report = PullReport()
        async with self.db.session(write=False) as s:
            since = await sync_state.get_checkpoint(s, self.peer)
        params = {"_sort": "_lastUpdated", "_count": str(self.page_size)}
        if since:
            params["_lastUpdated"] = "ge" + format_instant(parse_range(since, "since")[0] - self.overlap)
        newest = since
        try:
            for plan_type in graph.PLAN_TYPES:
                async for plan in self.remote.search(plan_type, params):
                    stamp = str((plan.get("meta") or {}).get("lastUpdated") or "")
                    newest = max(newest or stamp, stamp)
                    await self._plan(plan, report)
        except RemoteError as exc:
            report.errors.append(str(exc))
            return report  # the checkpoint stays: the next run repeats harmlessly
        if newest:
            async with self.db.session(write=True) as s:
                await sync_state.set_checkpoint(s, self.peer, newest, utcnow())
        return report

    async def _plan(self, plan: dict[str, Any], report: PullReport) -> None:
        """Import one plan and what it references in one transaction (or nothing, on conflict)."""
        remote = await self._closure(plan)
        conflicts: list[str] = []
        try:
            async with self.db.session(write=True) as s:
                mapping: dict[Key, str] = {}
                for key in _dependencies_first(remote):
                    await self._one(s, key, remote[key], mapping, report, conflicts)
                if conflicts:
                    raise Conflict()
        except Conflict:
            report.conflicts += conflicts
        except FhirError as exc:
            report.errors.append(f"{plan.get('resourceType')}/{plan.get('id')}: {exc.diagnostics}")

    async def _closure(self, plan: dict[str, Any]) -> dict[Key, dict[str, Any]]:
        """The plan and, transitively, the served resources it references at the source."""
        found: dict[Key, dict[str, Any]] = {(plan["resourceType"], str(plan["id"])): plan}
        frontier = [plan]
        for _ in range(graph.MAX_DEPTH):
            nxt = []
            for res in frontier:
                for key in graph.references(res, self.remote.base):
                    if key not in found and (got := await self.remote.read(*key)) is not None:
                        found[key] = got
                        nxt.append(got)
            frontier = nxt
        return found

    async def _local_id(self, s: AsyncSession, key: Key, resource: dict[str, Any]) -> str:
        """Our id for a source resource: by link, by business identifier, else the source's id."""
        link = await sync_state.link_by_remote(s, self.link_peer, *key)
        if link is not None:
            return link.res_id
        query = graph.identifier_query(resource)
        if query is not None:
            matches = await SearchService(s, SYSTEM, self.db.settings).find_matches(key[0], query, limit=2)
            if len(matches) == 1:
                return matches[0].res_id
        return key[1]

    async def _one(self, s: AsyncSession, key: Key, resource: dict[str, Any], mapping: dict[Key, str],
                   report: PullReport, conflicts: list[str]) -> None:
        """Map, compare and write one source resource."""
        local_id = await self._local_id(s, key, resource)
        mapping[key] = local_id
        body = _local_form(resource, local_id, mapping, self.remote.base)
        incoming = graph.content_hash(body)
        link = await sync_state.link_by_local(s, self.link_peer, key[0], local_id)
        row = await ResourceRepository(s, SYSTEM).get_current(key[0], local_id)
        if row is not None and not row.deleted and row.content is not None:
            here = graph.content_hash(orjson.loads(row.content))
            base = link.content_hash if link else None
            if here == incoming or base == incoming:  # same, or only we changed it (push sends it)
                report.unchanged += 1
                kept = here if here == incoming else base
                await self._link(s, key, local_id, row.version_id, resource, kept)
                return
            if base != here:
                conflicts.append(f"{key[0]}/{local_id} (source {key[0]}/{key[1]}) changed on both sides")
                return
        result = await ResourceService(s, SYSTEM, self.db.settings).update(key[0], local_id, body)
        report.imported += 1
        await self._link(s, key, local_id, result.version_id, resource, incoming)

    async def _link(self, s: AsyncSession, key: Key, local_id: str, local_version: int,
                    resource: dict[str, Any], content_hash: str | None) -> None:
        """Remember what was exchanged."""
        await sync_state.save_link(s, SyncLink(
            peer=self.link_peer, res_type=key[0], res_id=local_id, remote_id=key[1],
            local_version=local_version,
            remote_version=str((resource.get("meta") or {}).get("versionId", "")),
            content_hash=content_hash or ""))


def _local_form(resource: dict[str, Any], local_id: str, mapping: dict[Key, str],
                base: str) -> dict[str, Any]:
    """The resource with our id, our references and only the meta we keep (profile, tag, security)."""
    body: dict[str, Any] = orjson.loads(orjson.dumps(resource))
    meta = {k: v for k, v in (body.pop("meta", None) or {}).items() if k in ("profile", "tag", "security")}
    if meta:
        body["meta"] = meta
    body["id"] = local_id
    graph.rewrite(body, lambda k: f"{k[0]}/{mapping[k]}" if k in mapping else None, base)
    return body


def _dependencies_first(found: dict[Key, dict[str, Any]]) -> list[Key]:
    """Referenced resources before those that reference them (cycles broken at first visit)."""
    order: list[Key] = []
    seen: set[Key] = set()

    def visit(key: Key) -> None:
        if key in seen:
            return
        seen.add(key)
        for ref in graph.references(found[key]):
            if ref in found:
                visit(ref)
        order.append(key)

    for key in found:
        visit(key)
    return order
