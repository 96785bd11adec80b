"""`fellesplan sync push`: send changed plans and what they reference to another FHIR server.

Each batch of changed plans goes as one transaction Bundle of conditional updates on business
identifiers (`PUT Patient?identifier=...`), or of updates by id for resources without one, so a
repeat is harmless. The checkpoint (a change-feed position) is saved per target only after the
target has committed, so a crash resumes with at most one batch sent twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.subscription_tables import SyncLink
from app.fhir.dates import utcnow
from app.repository import outbox, sync_state
from app.repository.resources import ResourceRepository
from app.services.context import SYSTEM
from app.sync import graph
from app.sync.graph import Key
from app.sync.remote import Remote, RemoteError

_NS = uuid.UUID("6f1c2a8e-3b0d-4d7e-9a51-0c8f6e2b9d14")


@dataclass
class PushReport:
    """What a push did."""

    transactions: int = 0
    resources: int = 0
    checkpoint: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the command line."""
        return (f"push: {self.transactions} transaction(s), {self.resources} resource(s), checkpoint "
                f"{self.checkpoint}" + (f", {len(self.errors)} error(s)" if self.errors else ""))


def _urn(key: Key) -> str:
    """A stable fullUrl for one of our resources inside a transaction."""
    return f"urn:uuid:{uuid.uuid5(_NS, f'{key[0]}/{key[1]}')}"


class PushService:
    """Pushes plans to one target."""

    def __init__(self, db: Database, remote: Remote, *, batch: int = 20) -> None:
        self.db = db
        self.remote = remote
        self.batch = batch
        self.peer = f"push:{remote.base}"
        self.link_peer = remote.base  # links are shared by push and pull with the same server

    async def run(self) -> PushReport:
        """Push everything changed since the checkpoint, batch by batch."""
        report = PushReport()
        async with self.db.session(write=False) as s:
            report.checkpoint = int(await sync_state.get_checkpoint(s, self.peer) or 0)
        while True:
            try:
                async with self.db.session(write=False) as s:
                    changes = await outbox.changes_after(s, report.checkpoint, self.batch, graph.PLAN_TYPES)
                    if not changes:
                        return report
                    plans = list(dict.fromkeys((c.res_type, c.res_id) for c in changes))
                    closure, deleted = await self._closure(s, plans)
                    bundle, keys = await self._bundle(s, closure, deleted, plans)
                answer = await self.remote.transaction(bundle) if keys else {"entry": []}
            except RemoteError as exc:
                report.errors.append(str(exc))  # the checkpoint stays: the next run resumes here
                return report
            await self._record(keys, closure, answer, changes[-1].pos)
            report.transactions += 1 if keys else 0
            report.resources += len(keys)
            report.checkpoint = changes[-1].pos

    async def _closure(self, s: AsyncSession, plans: list[Key]
                       ) -> tuple[dict[Key, tuple[int, dict[str, Any]]], list[Key]]:
        """Current versions of the plans and, transitively, what they reference; and deleted plans."""
        repo = ResourceRepository(s, SYSTEM)
        found: dict[Key, tuple[int, dict[str, Any]]] = {}
        deleted: list[Key] = []
        frontier, depth = list(plans), 0
        while frontier and depth <= graph.MAX_DEPTH:
            nxt: list[Key] = []
            for key in frontier:
                row = await repo.get_current(*key)
                if row is None or key in found:
                    continue
                if row.deleted or row.content is None:
                    deleted += [key] if key in plans else []
                    continue
                found[key] = (row.version_id, orjson.loads(row.content))
                nxt += [k for k in graph.references(found[key][1]) if k not in found]
            frontier, depth = nxt, depth + 1
        return found, deleted

    async def _remote_id(self, s: AsyncSession, key: Key, resource: dict[str, Any]) -> str:
        """The id the target knows the resource by: linked, found by identifier, else ours."""
        link = await sync_state.link_by_local(s, self.link_peer, *key)
        if link is not None:
            return link.remote_id
        token = graph.identifier_token(resource)
        if token is not None:
            async for match in self.remote.search(key[0], {"identifier": token, "_count": "2"}):
                return str(match["id"])
        return key[1]

    async def _unchanged(self, s: AsyncSession, closure: dict[Key, tuple[int, dict[str, Any]]],
                         plans: list[Key]) -> dict[Key, str]:
        """Referenced resources the target already has as they are now: their remote references."""
        out: dict[Key, str] = {}
        for key, (_, resource) in closure.items():
            link = await sync_state.link_by_local(s, self.link_peer, *key)
            if key not in plans and link is not None and link.content_hash == graph.content_hash(resource):
                out[key] = f"{key[0]}/{link.remote_id}"
        return out

    async def _bundle(self, s: AsyncSession, closure: dict[Key, tuple[int, dict[str, Any]]],
                      deleted: list[Key], plans: list[Key]) -> tuple[dict[str, Any], list[Key]]:
        """The transaction: conditional updates by identifier, updates by id, deletes of plans."""
        entries: list[dict[str, Any]] = []
        keys: list[Key] = []
        at_target = await self._unchanged(s, closure, plans)
        used: set[str] = set()
        for key, (_, resource) in closure.items():
            if key in at_target:
                continue
            body = {k: v for k, v in orjson.loads(orjson.dumps(resource)).items() if k != "meta"}
            if resource.get("meta"):
                meta = {k: v for k, v in resource["meta"].items() if k in ("profile", "tag", "security")}
                body = {"resourceType": body["resourceType"], **({"meta": meta} if meta else {}), **body}
            graph.rewrite(body, lambda k: at_target.get(k) or (_urn(k) if k in closure else None))
            body["id"] = await self._remote_id(s, key, resource)
            query = graph.identifier_query(resource)
            # Two resources with one business identifier cannot share a conditional URL.
            conditional = query is not None and f"{key[0]}?{query}" not in used
            url = f"{key[0]}?{query}" if conditional else f"{key[0]}/{body['id']}"
            used.add(url)
            entries.append({"fullUrl": _urn(key), "resource": body, "request": {"method": "PUT", "url": url}})
            keys.append(key)
        for key in deleted:
            link = await sync_state.link_by_local(s, self.link_peer, *key)
            if link is not None:
                entries.append({"request": {"method": "DELETE", "url": f"{key[0]}/{link.remote_id}"}})
                keys.append(key)
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}, keys

    async def _record(self, keys: list[Key], closure: dict[Key, tuple[int, dict[str, Any]]],
                      answer: dict[str, Any], position: int) -> None:
        """Links from the transaction-response (Location: Type/id/_history/v), then the checkpoint."""
        async with self.db.session(write=True) as s:
            for key, entry in zip(keys, answer.get("entry", []), strict=False):
                if key not in closure:
                    continue
                location = str(entry.get("response", {}).get("location", ""))
                parts = location.split("/")
                if len(parts) < 2:
                    continue
                version = parts[3] if len(parts) >= 4 else ""
                local_version, resource = closure[key]
                await sync_state.save_link(s, SyncLink(
                    peer=self.link_peer, res_type=key[0], res_id=key[1], remote_id=parts[1],
                    local_version=local_version, remote_version=version,
                    content_hash=graph.content_hash(resource)))
            await sync_state.set_checkpoint(s, self.peer, str(position), utcnow())
