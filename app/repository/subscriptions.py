"""SQL of subscription delivery state and the per-subscription event outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.subscription_tables import EventRow, SubscriptionState
from app.db.tables import ResourceRow


async def get_state(session: AsyncSession, pk: int) -> SubscriptionState | None:
    """The delivery state of one Subscription (by its resources.pk)."""
    return await session.get(SubscriptionState, pk, populate_existing=True)


async def insert_state(session: AsyncSession, pk: int, res_id: str, owner: str, cursor: int) -> None:
    """Start delivery state for a new Subscription: events begin after `cursor`."""
    await session.execute(insert(SubscriptionState).values(
        res_pk=pk, res_id=res_id, owner=owner, cursor_pos=cursor, next_event=1, fail_count=0))


async def drop_state(session: AsyncSession, pk: int) -> None:
    """Forget a deleted Subscription's delivery state and undelivered events."""
    await session.execute(delete(SubscriptionState).where(SubscriptionState.res_pk == pk))


async def orphans(session: AsyncSession, limit: int) -> list[tuple[int, str]]:
    """Live Subscription resources without delivery state (written by a path that skipped the hook)."""
    stmt = (select(ResourceRow.pk, ResourceRow.res_id)
            .where(ResourceRow.res_type == "Subscription", ResourceRow.deleted.is_(False),
                   ~exists().where(SubscriptionState.res_pk == ResourceRow.pk))
            .limit(limit))
    return [(int(pk), str(rid)) for pk, rid in (await session.execute(stmt)).all()]


async def set_state(session: AsyncSession, pk: int, lease: str | None = None, **values: Any) -> bool:
    """Update a state row (only while holding `lease`, when given); False when the lease was lost."""
    stmt = update(SubscriptionState).where(SubscriptionState.res_pk == pk)
    if lease is not None:
        stmt = stmt.where(SubscriptionState.lease_owner == lease)
    result = await session.execute(stmt.values(**values).execution_options(synchronize_session=False))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def claim(session: AsyncSession, me: str, now: dt.datetime, until: dt.datetime,
                limit: int) -> list[int]:
    """Lease up to `limit` due subscriptions to worker `me`; others skip rows being claimed."""
    S = SubscriptionState
    due = (
        select(S.res_pk)
        .where(or_(S.lease_until.is_(None), S.lease_until < now),
               or_(S.next_attempt_at.is_(None), S.next_attempt_at <= now))
        .order_by(S.next_attempt_at.is_not(None), S.next_attempt_at, S.res_pk)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    pks = [int(pk) for pk in (await session.execute(due)).scalars().all()]
    if pks:
        await session.execute(update(S).where(S.res_pk.in_(pks))
                              .values(lease_owner=me, lease_until=until)
                              .execution_options(synchronize_session=False))
    return pks


async def retry_due(session: AsyncSession, now: dt.datetime) -> bool:
    """True when an unleased subscription's backoff has run out (a retry is due)."""
    S = SubscriptionState
    stmt = select(exists().where(S.next_attempt_at.is_not(None), S.next_attempt_at <= now,
                                 or_(S.lease_until.is_(None), S.lease_until < now)))
    return bool((await session.execute(stmt)).scalar())


async def release(session: AsyncSession, pk: int, me: str) -> None:
    """Give a lease back."""
    await set_state(session, pk, lease=me, lease_owner=None, lease_until=None)


async def subscription_row(session: AsyncSession, pk: int) -> ResourceRow | None:
    """The current Subscription resource row."""
    return await session.get(ResourceRow, pk, populate_existing=True)


async def add_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Append events to subscriptions' outboxes."""
    if rows:
        await session.execute(insert(EventRow), rows)


async def pending(session: AsyncSession, pk: int, limit: int) -> Sequence[EventRow]:
    """Undelivered events of a subscription, oldest first (delivery order)."""
    stmt = (select(EventRow).where(EventRow.sub_pk == pk, EventRow.delivered.is_(False))
            .order_by(EventRow.event_number).limit(limit))
    return (await session.execute(stmt)).scalars().all()


async def has_pending(session: AsyncSession, pk: int) -> bool:
    """True when the subscription has undelivered events."""
    stmt = select(exists().where(EventRow.sub_pk == pk, EventRow.delivered.is_(False)))
    return bool((await session.execute(stmt)).scalar())


async def finish_event(session: AsyncSession, event_id: int, outcome: str, attempts: int) -> None:
    """Mark an event delivered (or withheld: its resource is no longer visible to the owner)."""
    await session.execute(update(EventRow).where(EventRow.id == event_id)
                          .values(delivered=True, outcome=outcome, attempts=attempts)
                          .execution_options(synchronize_session=False))


async def count_attempt(session: AsyncSession, event_id: int) -> None:
    """Count a failed attempt on an event."""
    await session.execute(update(EventRow).where(EventRow.id == event_id)
                          .values(attempts=EventRow.attempts + 1)
                          .execution_options(synchronize_session=False))


async def was_notified(session: AsyncSession, pk: int, res_type: str, res_id: str) -> bool:
    """True when the subscription has told its receiver about this resource before."""
    stmt = select(exists().where(and_(EventRow.sub_pk == pk, EventRow.res_type == res_type,
                                      EventRow.res_id == res_id,
                                      or_(EventRow.outcome.is_(None), EventRow.outcome == "delivered"))))
    return bool((await session.execute(stmt)).scalar())

