"""Fan committed changes out to one subscription's outbox, evaluating criteria as its owner.

Changes come from the commit-ordered log (`sync_changes`), so no change is skipped and the
events of a subscription are numbered in commit order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.subscription_tables import ChangeRow, SubscriptionState
from app.fhir.errors import Forbidden
from app.repository import outbox
from app.repository import subscriptions as repo
from app.search.query import MAX_OR_VALUES
from app.security import hooks
from app.security.interactions import Interaction
from app.services.context import RequestContext
from app.services.search import SearchService
from app.subscriptions.model import SubscriptionSpec


async def visible_matches(session: AsyncSession, ctx: RequestContext, settings: Settings,
                          res_type: str, query: str, ids: Sequence[str]) -> set[str]:
    """Which of `ids` match the query and are visible to `ctx` (the consent filters apply)."""
    if not ids:
        return set()
    try:
        hooks.start(ctx, Interaction.SEARCH_TYPE, res_type)
    except Forbidden:
        return set()
    found: set[str] = set()
    service = SearchService(session, ctx, settings)
    # Search caps one parameter at MAX_OR_VALUES values (bind-parameter limits): ask in chunks.
    for i in range(0, len(ids), MAX_OR_VALUES):
        chunk = ",".join(ids[i:i + MAX_OR_VALUES])
        full = f"{query}&{urlencode({'_id': chunk})}" if query else urlencode({"_id": chunk})
        rows = await service.find_matches(res_type, full, limit=MAX_OR_VALUES)
        found.update(row.res_id for row in rows)
    return found


async def _selected(session: AsyncSession, ctx: RequestContext, settings: Settings,
                    state: SubscriptionState, spec: SubscriptionSpec,
                    changes: Sequence[ChangeRow]) -> list[ChangeRow]:
    """The changes this subscription is told about, in commit order."""
    live = sorted({c.res_id for c in changes if not c.deleted})
    matched = await visible_matches(session, ctx, settings, spec.res_type, spec.query, live)
    told: set[str] = set()
    out = []
    for c in changes:
        if c.deleted:
            # A delete is news only to a subscriber that was told about the resource.
            if c.res_id in told or await repo.was_notified(session, state.res_pk, c.res_type, c.res_id):
                out.append(c)
        elif c.res_id in matched:
            out.append(c)
            told.add(c.res_id)
    return out


async def fan_out(session: AsyncSession, ctx: RequestContext, settings: Settings, lease: str,
                  state: SubscriptionState, spec: SubscriptionSpec, limit: int) -> int:
    """Append events for changes after the cursor; returns how many. False lease: nothing is kept."""
    ceiling = await outbox.max_pos(session)
    if ceiling <= state.cursor_pos:
        return 0
    changes = [c for c in await outbox.changes_after(session, state.cursor_pos, limit, [spec.res_type])
               if c.pos <= ceiling]
    cursor = changes[-1].pos if len(changes) == limit else ceiling
    chosen = await _selected(session, ctx, settings, state, spec, changes)
    number = state.next_event
    rows: list[dict[str, Any]] = []
    for c in chosen:
        rows.append(dict(sub_pk=state.res_pk, event_number=number, pos=c.pos, res_type=c.res_type,
                         res_id=c.res_id, version_id=c.version_id, deleted=c.deleted,
                         committed_us=c.committed_us, delivered=False, attempts=0, outcome=None))
        number += 1
    if not await repo.set_state(session, state.res_pk, lease=lease, cursor_pos=cursor, next_event=number):
        raise LeaseLost(state.res_id)
    await repo.add_events(session, rows)
    return len(rows)


class LeaseLost(Exception):
    """Another worker took over this subscription (our lease expired); our work is rolled back."""
