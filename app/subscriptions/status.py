"""Server-side moves of Subscription.status: requested → active → error/off (R4 subscription.html)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db.tables import ResourceRow
from app.fhir.errors import PreconditionFailed
from app.services.context import SYSTEM
from app.services.crud import ResourceService
from app.subscriptions.model import SubscriptionSpec
from app.subscriptions.registry import STATUS_WRITE


async def set_status(session: AsyncSession, settings: Settings, row: ResourceRow, status: str,
                     error: str | None = None) -> bool:
    """Write a new version with this status (and error text); False if a client changed it first."""
    assert row.content is not None
    resource: dict[str, Any] = orjson.loads(row.content)
    resource["status"] = status
    if error:
        resource["error"] = error[:1000]
    else:
        resource.pop("error", None)
    resource.pop("meta", None)
    session.info[STATUS_WRITE] = (row.pk, row.version_id + 1)
    try:
        # If-Match on the version read: a client's concurrent edit wins, we re-read next cycle.
        await ResourceService(session, SYSTEM, settings).update(
            "Subscription", row.res_id, resource, if_match=row.version_id)
    except PreconditionFailed:
        return False
    finally:
        session.info.pop(STATUS_WRITE, None)
    return True


def expired(spec: SubscriptionSpec, now: dt.datetime) -> bool:
    """True when Subscription.end has passed (the server then turns it off)."""
    return spec.end is not None and now >= spec.end
