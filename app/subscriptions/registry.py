"""Rules applied when a Subscription is written: a usable spec, a safe endpoint, a recorded owner.

Runs inside the writer's transaction (app.repository.outbox.record_change), so a refused
Subscription is never stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.fhir.errors import FhirError, Unprocessable
from app.repository import outbox
from app.repository import subscriptions as repo
from app.search.query import parse_query
from app.security import hooks
from app.security.interactions import Interaction
from app.services.context import ActorKind, RequestContext
from app.subscriptions import endpoint, owner
from app.subscriptions.model import SubscriptionSpec, parse_subscription
from app.subscriptions.settings import subscription_settings

# Statuses in which the server will deliver (or activate and then deliver).
LIVE = frozenset({"requested", "active"})
# session.info key set by app.subscriptions.status for the version it is about to write.
STATUS_WRITE = "fellesplan.subscription.status_write"


def _check_criteria(ctx: RequestContext, spec: SubscriptionSpec) -> None:
    """The criteria must be a valid search that the owner is allowed to run."""
    try:
        parse_query(spec.res_type, _params(spec.query), strict=True)
    except FhirError as exc:
        raise Unprocessable(f"criteria is not a valid search: {exc.diagnostics}",
                            expression="Subscription.criteria") from exc
    hooks.start(ctx, Interaction.SEARCH_TYPE, spec.res_type)


def _params(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=True)


async def on_subscription_write(
    session: AsyncSession, ctx: RequestContext, pk: int, version_id: int, resource: dict[str, Any] | None
) -> None:
    """Validate a written Subscription and keep its delivery state; 422/403 refuse the write."""
    if resource is None:
        await repo.drop_state(session, pk)  # deleted: nothing more is delivered
        return
    state = await repo.get_state(session, pk)
    if (ctx.kind is ActorKind.SYSTEM and state is not None
            and session.info.get(STATUS_WRITE) == (pk, version_id)):
        return  # the worker's own status move; any other write is checked in full
    spec = parse_subscription(resource)
    _check_criteria(ctx, spec)
    if spec.status in LIVE:
        await _check_endpoint(session, spec.endpoint)
    if state is None:
        await repo.insert_state(session, pk, str(resource.get("id")), owner.dump(ctx),
                                await outbox.max_pos(session))
    else:
        # Whoever last set criteria and endpoint is whose visibility applies (no borrowing of
        # another actor's access); a client's write also restarts retries after an error.
        await repo.set_state(session, pk, owner=owner.dump(ctx), fail_count=0, first_failure_at=None,
                             next_attempt_at=None, last_error=None)


async def _check_endpoint(session: AsyncSession, url: str) -> None:
    """The SSRF rules, with the settings of the session's database."""
    db = session.info.get("db")
    app_settings = getattr(db, "settings", None)
    sub = subscription_settings(app_settings)
    production = getattr(app_settings, "env", "development") == "production"
    await endpoint.check(url, production=production, allow_private=sub.subscription_allow_private)
