"""One transaction's entries, processed as https://hl7.org/fhir/R4/http.html#trules says.

Order: DELETE, then POST, then PUT, then GET/HEAD. Ids are settled for every write before any
resource is written, so `urn:uuid:` links and conditional references can be rewritten first, and
the creates are then inserted with batched statements. Never commits: a batch runs each entry
through here inside its own savepoint, a transaction runs them all in one.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.consent.hooks import SCOPE_TYPES
from app.db.tables import ResourceRow, VersionRow
from app.fhir.errors import BadRequest, FhirError, Issue, PreconditionFailed
from app.fhir.models import SERVED
from app.fhir.parse import check_id, check_structure
from app.repository.resources import NewVersion
from app.security.interactions import Interaction
from app.services.bundle_entries import Entry, Kind, normalise
from app.services.bundle_reads import EntryReader
from app.services.bundle_refs import CONDITIONAL_REF, LinkRewriter, is_placeholder, may_link
from app.services.bundle_response import write_entry
from app.services.context import RequestContext
from app.services.crud import ResourceService
from app.services.writes import PlannedWrite, WriteResult


def forget_rows(session: AsyncSession) -> None:
    """Drop loaded resource rows: writes are Core UPDATEs, so the ORM's copies are stale and a
    later select in the same session would return them unrefreshed."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, ResourceRow | VersionRow):
            session.expunge(obj)


@contextmanager
def at_entry(e: Entry) -> Iterator[None]:
    """Point a failure's expressions into the Bundle (CarePlan.x -> Bundle.entry[3].resource.x)."""
    try:
        yield
    except FhirError as exc:
        exc.issues = [_relocate(issue, e) for issue in exc.issues]
        raise


def _relocate(issue: Issue, e: Entry) -> Issue:
    """One issue with its expressions relative to the Bundle."""
    prefix = f"{e.where}.resource"
    exprs: list[str] = []
    for expr in issue.expression:
        if expr.startswith("Bundle."):
            exprs.append(expr)
        elif e.res_type and e.resource is not None and (
                expr == e.res_type or expr.startswith(e.res_type + ".")):
            exprs.append(prefix + expr[len(e.res_type):])
        else:  # a search or criteria parameter: it came from the request
            exprs.append(f"{e.where}.request.{'ifNoneExist' if e.if_none_exist else 'url'}")
    return Issue(issue.severity, issue.code, issue.diagnostics, tuple(exprs) or (e.where,))


@dataclass(slots=True)
class _Plan:
    """What the entries resolved to before anything is written."""

    targets: dict[str, str] = field(default_factory=dict)  # fullUrl / conditional ref -> Type/id
    touched: dict[tuple[str, str], int] = field(default_factory=dict)  # identity -> entry index
    by_criteria: dict[tuple[str, str], str] = field(default_factory=dict)  # (type, query) -> id
    existing: dict[int, ResourceRow] = field(default_factory=dict)  # ifNoneExist matches
    new: set[int] = field(default_factory=set)  # entries that create with a server id


class EntryRunner:
    """Processes entries in the transaction order and returns their response entries."""

    def __init__(self, session: AsyncSession, ctx: RequestContext, settings: Settings,
                 prefer: str) -> None:
        self.session = session
        self.settings = settings
        self.prefer = prefer
        self.crud = ResourceService(session, ctx, settings)
        self.reader = EntryReader(session, ctx, settings)
        self.plan = _Plan()
        self.entries: list[Entry] = []
        self.locked: dict[tuple[str, str], ResourceRow] = {}  # current rows of PUT/DELETE targets

    async def run(self, entries: list[Entry]) -> list[bytes]:
        """Process the entries; a failure raises with the failing entry's expressions."""
        self.plan = _Plan()
        self.entries = entries
        self._check_static(entries)
        writes = _of(entries, "POST") + _of(entries, "PUT")
        await self._lock(writes)
        done: dict[int, bytes] = {}
        for e in sorted(_of(entries, "DELETE"), key=_target):
            with at_entry(e):
                done[e.index] = self._answer(await self._delete(e))
        forget_rows(self.session)
        await self._settle_ids(writes)
        await self._rewrite(writes)
        done.update(await self._creates(_of(entries, "POST") + [e for e in _of(entries, "PUT")
                                                               if e.index in self.plan.new]))
        done.update(await self._updates([e for e in _of(entries, "PUT")
                                         if e.index not in self.plan.new]))
        forget_rows(self.session)
        for e in _of(entries, "GET", "HEAD"):
            with at_entry(e):
                done[e.index] = await self.reader.run(e)
        return [done[e.index] for e in entries]

    def _answer(self, result: WriteResult) -> bytes:
        """A write's response entry."""
        return write_entry(self.settings.base, result, self.prefer)

    # -- identities ------------------------------------------------------------------------

    def _check_static(self, entries: list[Entry]) -> None:
        """Reject duplicate fullUrls and two writes to the same Type/id (400)."""
        seen: dict[str, int] = {}
        for e in entries:
            if e.full_url and e.writes:
                if e.full_url in seen:
                    raise BadRequest(f"{e.where} repeats the fullUrl of Bundle.entry"
                                     f"[{seen[e.full_url]}] ({e.full_url[:80]}).",
                                     expression=f"{e.where}.fullUrl")
                seen[e.full_url] = e.index
            if e.kind in (Kind.UPDATE, Kind.DELETE):
                assert e.res_type is not None and e.res_id is not None
                self._touch(e, e.res_type, e.res_id)

    def _touch(self, e: Entry, res_type: str, res_id: str) -> None:
        """Record that an entry writes a resource; a second entry doing so is a 400."""
        other = self.plan.touched.setdefault((res_type, res_id), e.index)
        if other != e.index:
            raise BadRequest(
                f"Bundle.entry[{other}] and {e.where} both touch {res_type}/{res_id}; a "
                "transaction may touch each resource once.", expression=e.where)

    async def _lock(self, writes: list[Entry]) -> None:
        """Take every lock up front, each kind in one global order: the criteria of conditional
        creates and updates (the keys single conditional writes use), then the rows of PUT and
        DELETE entries. Overlapping transactions then queue instead of deadlocking.
        """
        keyed: list[tuple[tuple[str, str], Interaction, Entry, str]] = []
        for e in writes:
            criteria = e.if_none_exist if e.kind is Kind.CREATE else (
                e.query if e.kind is Kind.CONDITIONAL_UPDATE else None)
            if criteria and e.res_type:
                action = Interaction.CREATE if e.kind is Kind.CREATE else Interaction.UPDATE
                keyed.append(((e.res_type, normalise(criteria)), action, e, criteria))
        for _, action, e, criteria in sorted(keyed, key=lambda k: k[0]):
            with at_entry(e):
                await self.crud.lock_criteria([(action, str(e.res_type), criteria)])
        self.locked = await self.crud.lock_targets([_target(e) for e in self.entries
                                                    if e.kind in (Kind.UPDATE, Kind.DELETE)])

    async def _settle_ids(self, writes: list[Entry]) -> None:
        """Give every POST/PUT its id; conditional ones by search (their locks are held)."""
        for e in writes:
            with at_entry(e):
                res_id = await self._settle(e)
            assert e.res_type is not None
            self._touch(e, e.res_type, res_id)
            e.res_id = res_id
            if e.full_url and is_placeholder(e.full_url):
                self.plan.targets[e.full_url] = f"{e.res_type}/{res_id}"

    async def _settle(self, e: Entry) -> str:
        """One write entry's id."""
        assert e.res_type is not None and e.resource is not None
        if e.kind is Kind.UPDATE:
            assert e.res_id is not None
            return e.res_id
        criteria = e.if_none_exist if e.kind is Kind.CREATE else e.query
        if not criteria:
            self.plan.new.add(e.index)
            return str(uuid.uuid4())
        key = (e.res_type, normalise(criteria))
        if key in self.plan.by_criteria:
            raise BadRequest(f"Another entry has the same criteria ({e.res_type}?{criteria[:80]}); "
                             "a transaction may touch each resource once.", expression=e.where)
        interaction = Interaction.CREATE if e.kind is Kind.CREATE else Interaction.UPDATE
        what = "ifNoneExist" if e.kind is Kind.CREATE else "the conditional update"
        row = await self.crud.match_criteria(interaction, e.res_type, criteria, what)
        res_id = self._conditional_id(e, row)
        self.plan.by_criteria[key] = res_id
        return res_id

    def _conditional_id(self, e: Entry, row: ResourceRow | None) -> str:
        """The id of a conditional create or update once its match is known."""
        assert e.resource is not None
        body_id = e.resource.get("id")
        if row is not None:
            if e.kind is Kind.CREATE:
                self.plan.existing[e.index] = row
            elif body_id not in (None, row.res_id):
                raise BadRequest(f"The body's id does not match the resource found "
                                 f"({row.res_type}/{row.res_id}).", expression=f"{row.res_type}.id")
            else:
                e.resource["id"] = row.res_id
            return row.res_id
        if e.kind is Kind.CONDITIONAL_UPDATE and body_id is not None:
            return check_id(str(body_id), f"{e.res_type}.id")
        self.plan.new.add(e.index)
        return str(uuid.uuid4())

    # -- links -----------------------------------------------------------------------------

    async def _rewrite(self, writes: list[Entry]) -> None:
        """Rewrite placeholder and conditional links, then check each resource's structure."""
        rewriter = LinkRewriter(self.plan.targets)
        for e in writes:
            if e.index in self.plan.existing:
                continue  # a conditional create that matched writes nothing
            assert e.resource is not None and e.res_type is not None
            with at_entry(e):
                unresolved = rewriter.rewrite(e.resource) if may_link(e.resource) else []
                if unresolved:
                    for u in unresolved:
                        await self._resolve(u.reference, u.expression)
                    for u in rewriter.rewrite(e.resource):
                        raise BadRequest(f"The reference '{u.reference[:100]}' does not match "
                                         "the fullUrl of any entry in the Bundle.",
                                         expression=u.expression)
                check_structure(e.res_type, e.resource)

    async def _resolve(self, ref: str, expression: str) -> None:
        """Map a conditional reference to the one resource it matches (412 for none or many)."""
        m = CONDITIONAL_REF.match(ref)
        if m is None or ref in self.plan.targets:
            return
        res_type, query = m.group(1), m.group(2)
        if res_type not in SERVED:
            raise BadRequest(f"Resource type '{res_type[:64]}' is not served here.",
                             expression=expression)
        in_bundle = self.plan.by_criteria.get((res_type, normalise(query)))
        if in_bundle is not None:
            self.plan.targets[ref] = f"{res_type}/{in_bundle}"
            return
        try:
            row = await self.crud.match_criteria(Interaction.SEARCH_TYPE, res_type, query,
                                                 f"the conditional reference '{ref[:100]}'")
        except PreconditionFailed as exc:
            raise PreconditionFailed(exc.diagnostics, expression=expression) from None
        if row is None:
            raise PreconditionFailed(f"The conditional reference '{ref[:100]}' matches no "
                                     "resource.", expression=expression)
        self.plan.targets[ref] = f"{res_type}/{row.res_id}"

    # -- writes ----------------------------------------------------------------------------

    async def _creates(self, entries: list[Entry]) -> dict[int, bytes]:
        """Prepare every create, then insert them together."""
        out: dict[int, bytes] = {}
        prepared: list[tuple[Entry, NewVersion]] = []
        for e in entries:
            row = self.plan.existing.get(e.index)
            if row is not None:
                out[e.index] = self._answer(WriteResult(
                    200, row.res_type, row.res_id, row.version_id, row.last_updated, row.content))
                continue
            assert e.res_type is not None and e.res_id is not None and e.resource is not None
            with at_entry(e):
                prepared.append((e, await self.crud.prepare_create(e.res_type, e.res_id, e.resource)))
        results = await self.crud.write_prepared([v for _, v in prepared])
        for (e, _), result in zip(prepared, results, strict=True):
            out[e.index] = self._answer(result)
        return out

    async def _updates(self, entries: list[Entry]) -> dict[int, bytes]:
        """PUT Type/id and matched conditional updates: each checked in (type, id) order as a
        single update is, then written together (one statement per table)."""
        targets = [_target(e) for e in entries]
        missing = [t for t in targets if t not in self.locked]  # conditional updates
        rows = {**self.locked, **(await self.crud.lock_targets(missing) if missing else {})}
        out: dict[int, bytes] = {}
        batch: list[tuple[Entry, PlannedWrite]] = []
        for e in sorted(entries, key=_target):
            assert e.res_type is not None and e.res_id is not None and e.resource is not None
            if _reads_pending(self.crud.ctx, {p.result.res_type for _, p in batch}, e.res_type):
                await self._write_batch(batch, out)
            with at_entry(e):
                await self.crud.check_update(e.res_type, e.res_id, e.resource)
                batch.append((e, await self.crud.plan_update(
                    e.res_type, e.res_id, e.resource, rows.get(_target(e)), e.if_match)))
        await self._write_batch(batch, out)
        return out

    async def _write_batch(self, batch: list[tuple[Entry, PlannedWrite]],
                           out: dict[int, bytes]) -> None:
        """Write the planned updates so far and answer their entries; empties the batch."""
        if batch:
            await self.crud.write_planned([p for _, p in batch])
        for e, p in batch:
            out[e.index] = self._answer(p.result)
        batch.clear()

    async def _delete(self, e: Entry) -> WriteResult:
        """DELETE Type/id or Type?criteria (no match: nothing to do; several: 412)."""
        assert e.res_type is not None
        if e.kind is Kind.DELETE:
            assert e.res_id is not None
            return await self.crud.delete_versioned(e.res_type, e.res_id, e.if_match)
        assert e.query is not None
        row = await self.crud.match_criteria(Interaction.DELETE, e.res_type, e.query,
                                             "the conditional delete")
        if row is None:
            return await self.crud.conditional_delete(e.res_type, e.query)
        self._touch(e, row.res_type, row.res_id)
        return await self.crud.delete_versioned(row.res_type, row.res_id, e.if_match)


def _reads_pending(ctx: RequestContext, pending: set[str], res_type: str) -> bool:
    """True when checking an entry of `res_type` may read what the pending (checked, not yet
    written) updates change: a form response reads its Questionnaire, and consent decisions
    read care teams, consents and actors. Those are written first, as one by one would."""
    if res_type == "QuestionnaireResponse" and "Questionnaire" in pending:
        return True
    return not ctx.privileged and not pending.isdisjoint(SCOPE_TYPES)


def _target(e: Entry) -> tuple[str, str]:
    """Sort key of entries that lock rows: row locks are then taken in one global order."""
    return (e.res_type or "", e.res_id or "")


def _of(entries: list[Entry], *methods: str) -> list[Entry]:
    """The entries with these methods, in Bundle order."""
    return [e for e in entries if e.method in methods]
