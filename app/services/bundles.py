"""Batch and transaction Bundles: `POST [base]` (https://hl7.org/fhir/R4/http.html#transaction).

A transaction is one database transaction: the first failure raises and the caller's unit of
work rolls everything back. A batch gives each entry a savepoint, so a failing entry is rolled
back alone and answered with its OperationOutcome while the others apply. Every entry goes
through ResourceService, so it is authorised and audited as if it were its own request.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.fhir.errors import BadRequest, Conflict, FhirError, Issue, PayloadTooLarge
from app.services.bundle_entries import Entry, parse_entry
from app.services.bundle_response import error_entry, response_bundle
from app.services.bundle_tx import EntryRunner, forget_rows
from app.services.context import RequestContext

log = logging.getLogger("fellesplan")
_TYPES = ("transaction", "batch")


class BundleService:
    """Processes transaction and batch Bundles for one actor. Never commits."""

    def __init__(self, session: AsyncSession, ctx: RequestContext, settings: Settings) -> None:
        self.session = session
        self.ctx = ctx
        self.settings = settings

    async def process(self, bundle: dict[str, Any], *, prefer: str = "representation") -> bytes:
        """The transaction-response or batch-response Bundle (serialised)."""
        kind, raw = self._check(bundle)
        runner = EntryRunner(self.session, self.ctx, self.settings, prefer)
        if kind == "transaction":
            entries = [parse_entry(i, item, self.settings.base) for i, item in enumerate(raw)]
            try:
                answers = await runner.run(entries)
            except DBAPIError as exc:
                raise _conflict(exc, "Bundle") from None
            return response_bundle("transaction-response", self.settings.base, answers)
        answers = [await self._batch_entry(runner, i, item) for i, item in enumerate(raw)]
        return response_bundle("batch-response", self.settings.base, answers)

    async def process_for_import(self, bundle: dict[str, Any]) -> int:
        """Process a Bundle for `fellesplan import`; returns how many resources were written.

        A failing batch entry raises after the others ran (an import must not lose data
        silently); the importer then reports the file.
        """
        kind, raw = self._check(bundle)
        runner = EntryRunner(self.session, self.ctx, self.settings, "minimal")
        if kind == "transaction":
            entries = [parse_entry(i, item, self.settings.base) for i, item in enumerate(raw)]
            await runner.run(entries)
            return sum(1 for e in entries if e.writes and e.index not in runner.plan.existing)
        failures: list[Issue] = []
        written = 0
        for i, item in enumerate(raw):
            try:
                entry = await self._batch_one(runner, i, item)
                written += entry.writes
            except FhirError as exc:
                failures.extend(exc.issues)
        if failures:
            first = failures[0]
            where = f" at {first.expression[0]}" if first.expression else ""
            raise BadRequest(f"{len(failures)} problem(s) in the batch; the first{where}: "
                             f"{first.diagnostics}", issues=failures)
        return written

    def _check(self, bundle: dict[str, Any]) -> tuple[str, list[Any]]:
        """The Bundle's type and entries; 400 for other Bundles, 413 for too many entries."""
        if bundle.get("resourceType") != "Bundle":
            raise BadRequest("POST to the base takes a Bundle of type transaction or batch.",
                             expression="resourceType")
        kind = bundle.get("type")
        if kind not in _TYPES:
            raise BadRequest(
                f"Bundle.type '{str(kind)[:40]}' cannot be processed here; send a transaction "
                "or batch (this server does not store Bundles).", expression="Bundle.type")
        raw = bundle.get("entry", [])
        if not isinstance(raw, list):
            raise BadRequest("Bundle.entry must be an array.", expression="Bundle.entry")
        limit = self.settings.max_bundle_entries
        if len(raw) > limit:
            raise PayloadTooLarge(
                f"The Bundle has {len(raw)} entries; this server takes at most {limit} per "
                f"{kind}. Split it into smaller Bundles.", expression="Bundle.entry")
        return str(kind), raw

    async def _batch_entry(self, runner: EntryRunner, index: int, item: Any) -> bytes:
        """One batch entry in its own savepoint; a failure becomes its response entry."""
        try:
            return (await self._run_one(runner, index, item))[1]
        except FhirError as exc:
            return error_entry(exc)

    async def _batch_one(self, runner: EntryRunner, index: int, item: Any) -> Entry:
        """One batch entry, raising on failure (import)."""
        return (await self._run_one(runner, index, item))[0]

    async def _run_one(self, runner: EntryRunner, index: int, item: Any) -> tuple[Entry, bytes]:
        """Parse and run one entry inside a savepoint that is rolled back if it fails."""
        entry = parse_entry(index, item, self.settings.base)
        try:
            async with self.session.begin_nested():
                answer = (await runner.run([entry]))[0]
        except DBAPIError as exc:
            raise _conflict(exc, entry.where) from None
        finally:
            forget_rows(self.session)  # the next entry must see the database, not this one's rows
        return entry, answer


# PostgreSQL: deadlock_detected, serialization_failure (https://www.postgresql.org/docs/15/errcodes-appendix.html).
_RETRYABLE = frozenset({"40P01", "40001"})


def _conflict(exc: DBAPIError, where: str) -> Exception:
    """A 409 for write conflicts a client should retry; other database errors stay as they are."""
    retryable = getattr(exc.orig, "sqlstate", None) in _RETRYABLE
    if not (retryable or isinstance(exc, IntegrityError)):
        return exc
    log.info("bundle conflict at %s: %s", where, exc)
    return Conflict("A concurrent request changed the same resources; retry.", expression=where)
