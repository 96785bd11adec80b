"""The subscription owner's identity, stored with the Subscription and rebuilt for delivery.

Criteria and payloads are evaluated as this actor (never SYSTEM), so a subscriber only learns
about what its owner may see; consent rules plug into the same search and read filters.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson

from app.services.context import ActorKind, CareRelationship, RequestContext

# Request-bound facts that must not outlive the request that created the subscription.
_DROPPED = frozenset({"request_id", "address", "break_glass_reason"})


def dump(ctx: RequestContext) -> str:
    """JSON of the actor's identity and grants (emergency access is not carried over)."""
    data: dict[str, Any] = {}
    for f in dataclasses.fields(ctx):
        if f.name in _DROPPED:
            continue
        value = getattr(ctx, f.name)
        if isinstance(value, frozenset):
            value = sorted(value)
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, CareRelationship):
            value = dataclasses.asdict(value)
        data[f.name] = value
    if ctx.emergency:
        data["purpose_of_use"] = None
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


def load(raw: str, subscription_id: str) -> RequestContext:
    """The owner's context for a delivery of the given subscription."""
    data = orjson.loads(raw)
    names = {f.name for f in dataclasses.fields(RequestContext)}
    kwargs: dict[str, Any] = {k: v for k, v in data.items() if k in names}
    kwargs["kind"] = ActorKind(kwargs["kind"])
    kwargs["scopes"] = frozenset(kwargs.get("scopes") or ())
    for key in ("patient_refs", "related_person_refs", "related_patient_refs"):
        kwargs[key] = tuple(kwargs.get(key) or ())
    if kwargs.get("care") is not None:
        care = dict(kwargs["care"])
        care["patients"] = tuple(care.get("patients") or ())
        kwargs["care"] = CareRelationship(**care)
    kwargs["request_id"] = f"subscription/{subscription_id}"
    return RequestContext(**kwargs)
