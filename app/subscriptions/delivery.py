"""Deliver one leased subscription's pending events, in order, as its owner sees them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.subscription_tables import EventRow
from app.fhir.errors import Forbidden, Gone, NotFound
from app.repository import subscriptions as repo
from app.services.crud import ResourceService
from app.subscriptions import endpoint, fanout, notify, owner, status, transport
from app.subscriptions.endpoint import Target
from app.subscriptions.model import Content, SubscriptionSpec

if TYPE_CHECKING:
    from app.subscriptions.worker import Worker


class Delivery:
    """One pass over one subscription's outbox."""

    def __init__(self, worker: Worker, pk: int, sub_id: str, spec: SubscriptionSpec) -> None:
        self.w = worker
        self.pk = pk
        self.sub_id = sub_id
        self.spec = spec
        self.settings = worker.db.settings

    async def run(self) -> None:
        """Activate if requested, then send pending events until one fails or the batch is done."""
        if self.spec.status == "requested" and not await self._activate():
            return
        for _ in range(self.w.sub.subscription_batch):
            async with self.w.db.session(write=False) as s:
                events = await repo.pending(s, self.pk, 1)
            if not events or not await self._one(events[0]):
                return

    async def _target(self) -> Target | None:
        """Vet the endpoint again (DNS may have changed); a forbidden address is an error state."""
        try:
            return await endpoint.check(self.spec.endpoint, production=self.settings.env == "production",
                                        allow_private=self.w.sub.subscription_allow_private)
        except endpoint.EndpointUnresolved as exc:
            await self._failed(exc.diagnostics)
        except endpoint.EndpointRefused as exc:
            await self._error(exc.diagnostics)
        return None

    async def _activate(self) -> bool:
        """requested → active once the endpoint passes the rules (else → error)."""
        if await self._target() is None:
            return False
        async with self.w.db.session(write=True) as s:
            row = await repo.subscription_row(s, self.pk)
            return row is not None and await status.set_status(s, self.settings, row, "active")

    async def _one(self, event: EventRow) -> bool:
        """Deliver one event; True when the next one may follow."""
        target = await self._target()
        if target is None:
            return False
        now = self.w.clock()
        async with self.w.db.session(write=True) as s:
            until = now + dt.timedelta(seconds=self.w.sub.subscription_lease_seconds)
            if not await repo.set_state(s, self.pk, lease=self.w.name, lease_until=until):
                raise fanout.LeaseLost(self.sub_id)
            content, visible = await self._read(s, event)
            if not visible:
                await repo.finish_event(s, event.id, "withheld", event.attempts)
                return True
        note = notify.build(self.spec, self.sub_id, event, content, self.settings.base, now)
        try:
            await transport.send(self.w.client, target, note, self.w.sub.subscription_timeout_seconds)
        except transport.DeliveryFailed as exc:
            await self._failed(str(exc), event)
            return False
        await self._succeeded(event)
        return True

    async def _read(self, s: AsyncSession, event: EventRow) -> tuple[bytes | None, bool]:
        """The event's version as the owner may see it (audited as the owner's read)."""
        state = await repo.get_state(s, self.pk)
        if state is None:
            return None, False
        ctx = owner.load(state.owner, self.sub_id)
        if event.deleted:
            return None, True
        seen = await fanout.visible_matches(s, ctx, self.settings, event.res_type, "", [event.res_id])
        if event.res_id not in seen:
            return None, False  # no longer visible to the owner (consent withdrawn, access ended)
        try:
            # A read as the owner: consent's will-see phase hides or redacts it, and it is audited.
            row = await ResourceService(s, ctx, self.settings).vread(
                event.res_type, event.res_id, event.version_id)
        except (Forbidden, NotFound, Gone):
            return None, False
        if self.spec.content is not Content.FULL or row.content is None:
            return None, True
        return row.content, True

    async def _succeeded(self, event: EventRow) -> None:
        """Mark delivered and clear the failure streak."""
        async with self.w.db.session(write=True) as s:
            await repo.finish_event(s, event.id, "delivered", event.attempts + 1)
            await repo.set_state(s, self.pk, fail_count=0, first_failure_at=None, next_attempt_at=None,
                                 last_error=None)

    async def _failed(self, reason: str, event: EventRow | None = None) -> None:
        """Back off; after the retry window the subscription goes to `error` (its events are kept)."""
        now = self.w.clock()
        async with self.w.db.session(write=True) as s:
            state = await repo.get_state(s, self.pk)
            if state is None:
                return
            first = state.first_failure_at or now
            failures = state.fail_count + 1
            if event is not None:
                await repo.count_attempt(s, event.id)
            await repo.set_state(s, self.pk, fail_count=failures, first_failure_at=first, last_error=reason,
                                 next_attempt_at=now + self.w.backoff(failures))
            window = dt.timedelta(hours=self.w.sub.subscription_retry_hours)
            if now - first >= window:
                row = await repo.subscription_row(s, self.pk)
                if row is not None:
                    await status.set_status(s, self.settings, row, "error",
                                            f"Delivery failing since {first.isoformat()}Z: {reason}")

    async def _error(self, reason: str) -> None:
        """A permanent refusal (endpoint no longer allowed): status error at once."""
        async with self.w.db.session(write=True) as s:
            row = await repo.subscription_row(s, self.pk)
            if row is not None:
                await status.set_status(s, self.settings, row, "error", reason)
