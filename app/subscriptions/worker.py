"""The delivery worker: leases due subscriptions, fans changes out, delivers in order, retries.

At-least-once and in order per subscription: an event is marked delivered only after a 2xx,
and the next one is not sent before that. Leases (claimed with SKIP LOCKED on PostgreSQL) keep
two workers from serving one subscription at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable

import httpx
import orjson

from app.db.engine import Database
from app.fhir.dates import utcnow
from app.fhir.errors import FhirError
from app.repository import outbox
from app.repository import subscriptions as repo
from app.services.context import ActorKind, RequestContext
from app.subscriptions import fanout, owner, status
from app.subscriptions.delivery import Delivery
from app.subscriptions.model import SubscriptionSpec, parse_subscription
from app.subscriptions.registry import LIVE
from app.subscriptions.settings import SubscriptionSettings, subscription_settings

log = logging.getLogger("fellesplan.subscriptions")
# The owner of a Subscription whose creator is unknown: an actor without identity sees nothing.
NOBODY = RequestContext(kind=ActorKind.PERSON, request_id="subscription-without-owner")
ORPHAN = ("This Subscription was stored without recording who created it (e.g. before an upgrade). "
          "Update it (PUT) with status 'requested' to make it yours and start delivery.")
Clock = Callable[[], dt.datetime]


class Worker:
    """One delivery worker; several may share a PostgreSQL database."""

    def __init__(self, db: Database, sub: SubscriptionSettings | None = None, *, clock: Clock = utcnow,
                 client: httpx.AsyncClient | None = None, name: str | None = None,
                 concurrency: int = 8) -> None:
        self.db = db
        self.sub = sub or subscription_settings(db.settings)
        self.clock = clock
        self.client = client or httpx.AsyncClient()
        self._own_client = client is None
        self.name = name or f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.concurrency = concurrency
        self._full = False
        self._last_pass = -float("inf")
        self._seen_pos = -1

    async def close(self) -> None:
        """Close the HTTP client when the worker made it."""
        if self._own_client:
            await self.client.aclose()

    async def run_once(self) -> int:
        """One pass: lease due subscriptions and serve each; returns how many were served."""
        await self._adopt_orphans()
        now = self.clock()
        until = now + dt.timedelta(seconds=self.sub.subscription_lease_seconds)
        async with self.db.session(write=True) as s:
            pks = await repo.claim(s, self.name, now, until, self.concurrency)
        if pks:
            await asyncio.gather(*(self._serve(pk) for pk in pks))
        return len(pks)

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set; errors are logged and retried, never fatal."""
        while not stop.is_set():
            busy = 0
            try:
                if await self._worth_a_pass():
                    busy = await self.run_once()
            except Exception:  # a database outage must not end the worker
                log.exception("subscription worker pass failed")
            self._full = busy >= self.concurrency  # a full batch: others may be waiting
            if not self._full:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.sub.subscription_check_seconds)

    async def _worth_a_pass(self) -> bool:
        """A full pass is due, or a cheap read shows new changes or a due retry."""
        # Passes take write transactions (leases); an idle worker must not spin through them.
        now = time.monotonic()
        if self._full or now - self._last_pass >= self.sub.subscription_poll_seconds:
            self._last_pass = now
            return True
        async with self.db.session(write=False) as s:
            top = await outbox.max_pos(s)
            due = await repo.retry_due(s, self.clock())
        if top == self._seen_pos and not due:
            return False
        self._seen_pos, self._last_pass = top, now
        return True

    async def _serve(self, pk: int) -> None:
        """Everything due for one leased subscription; the lease is given back at the end."""
        try:
            prepared = await self._prepare(pk)
            if prepared is not None:
                await Delivery(self, pk, *prepared).run()
        except fanout.LeaseLost:
            log.warning("lease on subscription %s lost; another worker continues", pk)
        except Exception:
            log.exception("subscription %s: pass failed", pk)
        finally:
            async with self.db.session(write=True) as s:
                await repo.release(s, pk, self.name)

    async def _prepare(self, pk: int) -> tuple[str, SubscriptionSpec] | None:
        """Status moves and fan-out in one transaction; the spec when there is delivery to do."""
        settings = self.db.settings
        async with self.db.session(write=True) as s:
            state = await repo.get_state(s, pk)
            row = await repo.subscription_row(s, pk)
            if state is None or row is None or row.deleted or row.content is None:
                return None
            try:
                spec = parse_subscription(_json(row.content))
            except FhirError as exc:  # stored before these rules existed: it cannot be served
                if _json(row.content).get("status") in LIVE:
                    await status.set_status(s, settings, row, "error", exc.diagnostics)
                return None
            if spec.status in LIVE and status.expired(spec, self.clock()):
                await status.set_status(s, settings, row, "off")
                return None
            if spec.status == "off":
                return None
            ctx = owner.load(state.owner, row.res_id)
            await fanout.fan_out(s, ctx, settings, self.name, state, spec, self.sub.subscription_batch)
        if spec.status == "error":
            return None  # events keep accumulating; a client sets status back to requested to resume
        return row.res_id, spec

    async def _adopt_orphans(self) -> None:
        """Give Subscriptions stored without an owner record an owner that sees nothing, and `error`."""
        # E.g. stored before migration 0004; the client's next update makes the Subscription its own.
        async with self.db.session(write=True) as s:
            for pk, res_id in await repo.orphans(s, self.sub.subscription_batch):
                await repo.insert_state(s, pk, res_id, owner.dump(NOBODY), await outbox.max_pos(s))
                row = await repo.subscription_row(s, pk)
                if row is not None and row.content is not None and _json(row.content).get("status") in LIVE:
                    await status.set_status(s, self.db.settings, row, "error", ORPHAN)

    def backoff(self, failures: int) -> dt.timedelta:
        """Exponential backoff with jitter below the cap (never longer than the cap)."""
        base = self.sub.subscription_backoff_initial_seconds * (2 ** min(failures - 1, 30))
        seconds = min(base, self.sub.subscription_backoff_max_seconds) * (0.8 + 0.2 * random.random())
        return dt.timedelta(seconds=seconds)


def _json(content: bytes) -> dict[str, object]:
    """Stored JSON as a dict."""
    value = orjson.loads(content)
    assert isinstance(value, dict)
    return value
