"""Create, read, update and delete, plain and conditional (https://hl7.org/fhir/R4/http.html)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.consent import enforce as consent
from app.db.tables import ResourceRow, VersionRow
from app.fhir.dates import utcnow
from app.fhir.errors import (
    BadRequest,
    Gone,
    Issue,
    MethodNotAllowed,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from app.fhir.parse import check_id
from app.forms.narrative import ensure_narrative
from app.forms.responses import check_response_for_write
from app.repository.resources import NewVersion, ResourceRepository
from app.security import hooks
from app.security.interactions import AuditRecord, EntityContent, Interaction
from app.services.context import ActorKind, RequestContext
from app.services.search import SearchService
from app.services.writes import PlannedWrite, WriteResult, stamp
from app.validation.hook import is_profile_resource, validate_for_write


class ResourceService:
    """The CRUD logic for every served type. Never commits."""

    def __init__(self, session: AsyncSession, ctx: RequestContext, settings: Settings) -> None:
        self.session = session
        self.ctx = ctx
        self.settings = settings
        self.repo = ResourceRepository(session, ctx)

    # -- reads -------------------------------------------------------------------------------

    async def read(self, res_type: str, res_id: str) -> ResourceRow:
        """The current version; 404 when unknown or hidden, 410 when deleted."""
        hooks.start(self.ctx, Interaction.READ, res_type)
        row = await self.repo.get_current(res_type, res_id)
        if row is None:
            raise NotFound(f"{res_type}/{res_id} is not known.")
        row = await consent.readable(self.session, self.ctx, row, f"{res_type}/{res_id}")
        if row.deleted:
            raise Gone(f"{res_type}/{res_id} was deleted.", headers={"ETag": f'W/"{row.version_id}"'})
        await self._audit(Interaction.READ, res_type, 200, [(res_type, res_id, row.version_id)],
                          [row.content])
        return row

    async def vread(self, res_type: str, res_id: str, version_id: int) -> VersionRow:
        """One version; 410 for the version that records a delete."""
        hooks.start(self.ctx, Interaction.VREAD, res_type)
        row = await self.repo.get_version(res_type, res_id, version_id)
        if row is None:
            raise NotFound(f"{res_type}/{res_id}/_history/{version_id} is not known.")
        row = await consent.readable(self.session, self.ctx, row,
                                     f"{res_type}/{res_id}/_history/{version_id}")
        if row.deleted:
            raise Gone(f"{res_type}/{res_id} version {version_id} records a delete.")
        await self._audit(Interaction.VREAD, res_type, 200, [(res_type, res_id, version_id)],
                          [row.content])
        return row

    # -- create ------------------------------------------------------------------------------

    async def create(
        self, res_type: str, resource: dict[str, Any], *, if_none_exist: str | None = None
    ) -> WriteResult:
        """Create with a server-assigned id, or return the match of If-None-Exist."""
        hooks.start(self.ctx, Interaction.CREATE, res_type)
        if if_none_exist:
            query = _normalise_query(if_none_exist, "If-None-Exist")
            await self.repo.lock_key(f"create:{res_type}?{query}")
            existing = await self._single_match(res_type, query, "If-None-Exist")
            if existing is not None:
                return _existing(existing)
        await self._check_content(res_type, resource)
        joined = await consent.check_write(self.session, self.ctx, res_type, resource, None)
        result = await self._insert(res_type, str(uuid.uuid4()), resource, "POST")
        await self._audit_write(Interaction.CREATE, result)
        if joined:
            await consent.note_established(self.session, self.ctx, result.res_id, result.version_id)
        return result

    async def _insert(self, res_type: str, res_id: str, resource: dict[str, Any], method: str) -> WriteResult:
        """Write version 1 of a new resource."""
        now = utcnow()
        content = stamp(resource, res_id, 1, now)
        await self.repo.insert_new(NewVersion(res_type, res_id, 1, now, method, content, resource))
        return WriteResult(201, res_type, res_id, 1, now, content, created=True)

    # -- update ------------------------------------------------------------------------------

    async def update(
        self, res_type: str, res_id: str, resource: dict[str, Any], *, if_match: int | None = None
    ) -> WriteResult:
        """Update, or create with the client's id when the resource does not exist."""
        await self.check_update(res_type, res_id, resource)
        row = await self.repo.get_current(res_type, res_id, lock=True)
        if row is None:
            await self.repo.lock_key(f"id:{res_type}/{res_id}")
            row = await self.repo.get_current(res_type, res_id, lock=True)
        planned = await self.plan_update(res_type, res_id, resource, row, if_match)
        await self.write_planned([planned])
        return planned.result

    async def check_update(self, res_type: str, res_id: str, resource: dict[str, Any]) -> None:
        """The checks of an update that need no stored row: authorisation, ids, content."""
        hooks.start(self.ctx, Interaction.UPDATE, res_type)
        check_id(res_id)
        self._guard_profile_resource(res_type, res_id)
        body_id = resource.get("id")
        if body_id is None:
            raise BadRequest("The resource in an update must have an id.", expression=f"{res_type}.id")
        if body_id != res_id:
            raise BadRequest(
                f"The id in the body ('{str(body_id)[:64]}') does not match the URL ('{res_id}').",
                expression=f"{res_type}.id",
            )
        await self._check_content(res_type, resource)

    async def plan_update(
        self, res_type: str, res_id: str, resource: dict[str, Any], row: ResourceRow | None,
        if_match: int | None,
    ) -> PlannedWrite:
        """Consent and If-Match against the locked current row, then stamp (nothing written)."""
        joined = await consent.check_write(self.session, self.ctx, res_type, resource, row, put=True)
        if joined:
            await consent.note_established(self.session, self.ctx, res_id, 1)
        if row is None:
            if if_match is not None:
                raise PreconditionFailed(f"If-Match given, but {res_type}/{res_id} does not exist.")
            now = utcnow()
            content = stamp(resource, res_id, 1, now)
            new = NewVersion(res_type, res_id, 1, now, "PUT", content, resource)
            return PlannedWrite(None, 0, new, WriteResult(201, res_type, res_id, 1, now, content,
                                                          created=True))
        self._check_version(row, if_match)
        return self._plan_replace(row, resource, "PUT")

    async def write_planned(self, planned: list[PlannedWrite]) -> None:
        """Write planned updates with batched statements, then audit each as its own update."""
        writes = [(p.pk, p.expected, p.version) for p in planned if p.version is not None]
        if await self.repo.write_versions(writes) is None:
            raise PreconditionFailed("A resource of this write was changed concurrently.")
        for p in planned:
            await self._audit_write(Interaction.CREATE if p.result.created else Interaction.UPDATE,
                                    p.result)

    def _check_version(self, row: ResourceRow, if_match: int | None) -> None:
        """Enforce If-Match, and require it for the types where silent overwrites are banned."""
        if if_match is None:
            # Internal SYSTEM work (import, sync pull) is exempt; every API client is not.
            if (row.res_type in self.settings.require_if_match and not row.deleted
                    and self.ctx.kind is not ActorKind.SYSTEM):
                raise PreconditionRequired(
                    f"Updates of {row.res_type} must be version-aware: send If-Match "
                    f'(current version W/"{row.version_id}").'
                )
            return
        if if_match != row.version_id:
            raise PreconditionFailed(
                f"If-Match W/\"{if_match}\" does not match the current version "
                f"W/\"{row.version_id}\" of {row.res_type}/{row.res_id}."
            )

    def _plan_replace(self, row: ResourceRow, resource: dict[str, Any], method: str) -> PlannedWrite:
        """The next version of an existing (possibly deleted) resource, not yet written."""
        if not row.deleted and row.content is not None:
            unchanged = _same_content(resource, row)
            if unchanged is not None:
                # A repeat of the same content is not a new version (keeps sync idempotent).
                return PlannedWrite(row.pk, row.version_id, None, WriteResult(
                    200, row.res_type, row.res_id, row.version_id, row.last_updated, row.content))
        now = utcnow()
        version = row.version_id + 1
        content = stamp(resource, row.res_id, version, now)
        new = NewVersion(row.res_type, row.res_id, version, now, method, content, resource)
        return PlannedWrite(row.pk, row.version_id, new, WriteResult(
            201 if row.deleted else 200, row.res_type, row.res_id, version, now, content,
            created=row.deleted))

    async def conditional_update(
        self, res_type: str, query: str, resource: dict[str, Any], *, if_match: int | None = None
    ) -> WriteResult:
        """PUT [type]?[search]: 0 matches create, 1 updates, more is 412."""
        hooks.start(self.ctx, Interaction.UPDATE, res_type)
        norm = _normalise_query(query, "the conditional update")
        await self.repo.lock_key(f"create:{res_type}?{norm}")
        match = await self._single_match(res_type, norm, "the conditional update")
        if match is None:
            res_id = resource.get("id")
            if res_id is not None:
                return await self.update(res_type, check_id(str(res_id)), resource, if_match=if_match)
            return await self.create(res_type, resource)
        if resource.get("id") not in (None, match.res_id):
            raise BadRequest(
                f"The body's id does not match the resource found ({res_type}/{match.res_id}).",
                expression=f"{res_type}.id",
            )
        resource["id"] = match.res_id
        return await self.update(res_type, match.res_id, resource, if_match=if_match)

    # -- delete ------------------------------------------------------------------------------

    async def delete(self, res_type: str, res_id: str) -> WriteResult:
        """Delete: a new version that records the delete; deleting twice is harmless."""
        hooks.start(self.ctx, Interaction.DELETE, res_type)
        self._guard_profile_resource(res_type, res_id)
        row = await self.repo.get_current(res_type, res_id, lock=True)
        if row is None:
            raise NotFound(f"{res_type}/{res_id} is not known.")
        await consent.check_write(self.session, self.ctx, res_type, None, row)
        if row.deleted:
            return WriteResult(200, res_type, res_id, row.version_id, row.last_updated, None,
                               issues=[Issue("information", "informational",
                                             f"{res_type}/{res_id} was already deleted.")])
        now = utcnow()
        new = NewVersion(res_type, res_id, row.version_id + 1, now, "DELETE", None, None)
        if not await self.repo.replace(row.pk, row.version_id, new):
            raise PreconditionFailed(f"{res_type}/{res_id} was changed concurrently.")
        result = WriteResult(200, res_type, res_id, new.version_id, now, None,
                             issues=[Issue("information", "informational",
                                           f"{res_type}/{res_id} was deleted.")])
        await self._audit_write(Interaction.DELETE, result)
        return result

    async def conditional_delete(self, res_type: str, query: str) -> WriteResult:
        """DELETE [type]?[search]: one match is deleted; none is a no-op; several are 412."""
        hooks.start(self.ctx, Interaction.DELETE, res_type)
        norm = _normalise_query(query, "the conditional delete")
        match = await self._single_match(res_type, norm, "the conditional delete")
        if match is None:
            return WriteResult(200, res_type, "", 0, utcnow(), None, issues=[
                Issue("information", "not-found", "No resource matched; nothing was deleted.")])
        return await self.delete(res_type, match.res_id)

    # -- bundle support (added for transactions, app/services/bundles.py) ---------------------

    async def lock_criteria(self, criteria: list[tuple[Interaction, str, str]]) -> None:
        """Take the conditional-write locks of many (interaction, type, query) at once.

        Keys are taken in sorted order so two transactions with overlapping criteria queue
        instead of deadlocking; the keys equal those of create/conditional_update.
        """
        keys: set[str] = set()
        for interaction, res_type, query in criteria:
            hooks.start(self.ctx, interaction, res_type)
            keys.add(f"create:{res_type}?{_normalise_query(query, 'the conditional criteria')}")
        for key in sorted(keys):
            await self.repo.lock_key(key)

    async def lock_targets(self, targets: list[tuple[str, str]]) -> dict[tuple[str, str], ResourceRow]:
        """Lock the resources a transaction will update or delete, up front; returns their rows.

        Rows are locked FOR UPDATE in (type, id) order by one SELECT per chunk; ids not yet
        stored then take update's `id:` key, in sorted order, and are read again (another writer
        may have created one meanwhile). Two Bundles, or a Bundle and single writes, never wait
        on each other in a cycle.
        """
        rows = await self.repo.get_current_many(targets, lock=True)
        missing = sorted(set(targets) - rows.keys())
        for res_type, res_id in missing:
            await self.repo.lock_key(f"id:{res_type}/{res_id}")
        if missing and self.repo.dialect == "postgresql":
            rows.update(await self.repo.get_current_many(missing, lock=True))
        return rows

    async def match_criteria(
        self, interaction: Interaction, res_type: str, query: str, what: str
    ) -> ResourceRow | None:
        """The one current match of conditional criteria; None for none, 412 for several."""
        hooks.start(self.ctx, interaction, res_type)
        return await self._single_match(res_type, _normalise_query(query, what), what)

    async def prepare_create(self, res_type: str, res_id: str, resource: dict[str, Any]) -> NewVersion:
        """Authorise, validate and stamp a create whose id the caller chose (not yet written)."""
        hooks.start(self.ctx, Interaction.CREATE, res_type)
        check_id(res_id)
        await self._check_content(res_type, resource)
        now = utcnow()
        content = stamp(resource, res_id, 1, now)
        return NewVersion(res_type, res_id, 1, now, "POST", content, resource)

    async def write_prepared(self, versions: list[NewVersion]) -> list[WriteResult]:
        """Insert prepared creates with batched statements, and audit each."""
        joining: set[str] = set()  # a CareTeam created earlier in the batch counts
        for v in versions:  # each entry is authorised as its own create
            await consent.check_write(self.session, self.ctx, v.res_type, v.resource, None, joining)
        await self.repo.insert_many(versions)
        results = [WriteResult(201, v.res_type, v.res_id, 1, v.last_updated, v.content, created=True)
                   for v in versions]
        for v in versions:
            # One record per create, as for single creates; the content spares the hook a read.
            await hooks.audit(self.session, self.ctx, AuditRecord(
                Interaction.CREATE, v.res_type, 201, [(v.res_type, v.res_id, 1)],
                contents=[v.resource]))
        return results

    async def delete_versioned(self, res_type: str, res_id: str, if_match: int | None) -> WriteResult:
        """Delete, first enforcing If-Match when given (https://hl7.org/fhir/R4/http.html#concurrency)."""
        if if_match is not None:
            hooks.start(self.ctx, Interaction.DELETE, res_type)
            row = await self.repo.get_current(res_type, res_id, lock=True)
            if row is None:
                raise NotFound(f"{res_type}/{res_id} is not known.")
            await consent.check_write(self.session, self.ctx, res_type, None, row)
            self._check_version(row, if_match)
        return await self.delete(res_type, res_id)

    # -- helpers -----------------------------------------------------------------------------

    async def _check_content(self, res_type: str, resource: dict[str, Any]) -> None:
        """Narrative, then the form check (needs the database), then profiles: 422 on errors."""
        ensure_narrative(res_type, resource)
        await check_response_for_write(self.session, self.ctx, self.settings, res_type, resource)
        validate_for_write(res_type, resource, enabled=self.settings.validation_on_write)

    def _guard_profile_resource(self, res_type: str, res_id: str) -> None:
        """Profile-defined resources (kriseplan-skjema) change only with a release, never by API."""
        if self.ctx.kind is not ActorKind.SYSTEM and is_profile_resource(res_type, res_id):
            raise MethodNotAllowed(f"{res_type}/{res_id} is defined by Fellesplan's profiles and read-only.")

    async def _single_match(self, res_type: str, query: str, what: str) -> ResourceRow | None:
        """The one resource matching a conditional query, None for no match, 412 for several."""
        matches = await SearchService(self.session, self.ctx, self.settings).find_matches(
            res_type, query, limit=2
        )
        if len(matches) > 1:
            raise PreconditionFailed(f"The criteria of {what} match more than one {res_type}.")
        return matches[0] if matches else None

    async def _audit(self, interaction: Interaction, res_type: str, status: int,
                     entities: list[tuple[str, str, int | None]],
                     contents: list[EntityContent] | None = None) -> None:
        """Hand what was touched (and its content, so the hook need not re-read it) to the audit."""
        record = AuditRecord(interaction, res_type, status, entities, contents=list(contents or []))
        await hooks.audit(self.session, self.ctx, record)

    async def _audit_write(self, interaction: Interaction, r: WriteResult) -> None:
        """Audit a write in the write's own transaction."""
        await self._audit(interaction, r.res_type, r.status, [(r.res_type, r.res_id, r.version_id)])


def _existing(row: ResourceRow) -> WriteResult:
    """The 200 answer of a conditional create that found its match."""
    return WriteResult(200, row.res_type, row.res_id, row.version_id, row.last_updated, row.content)


def _normalise_query(query: str, what: str) -> str:
    """Sort a conditional query's parameters so equal criteria lock the same key."""
    query = query.lstrip("?")
    if "?" in query:  # a full "Type?query" form
        query = query.split("?", 1)[1]
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs:
        raise BadRequest(f"The criteria of {what} are empty.")
    return urlencode(sorted(pairs))


def _same_content(resource: dict[str, Any], row: ResourceRow) -> bytes | None:
    """The stored bytes if the resource equals the stored version apart from server meta."""
    probe = dict(resource)
    current = stamp(probe, row.res_id, row.version_id, row.last_updated)
    return row.content if current == row.content else None
