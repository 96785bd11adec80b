"""What a stored Subscription asks for (https://hl7.org/fhir/R4/subscription.html)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.fhir.dates import parse_range
from app.fhir.errors import Unprocessable
from app.fhir.models import SERVED_TYPES

# Subscriptions R5 Backport IG: the payload content code on channel.payload selects its Bundle.
BACKPORT_PAYLOAD = ("http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
                    "backport-payload-content")
FHIR_JSON = ("application/fhir+json", "application/json", "application/json+fhir")


class Content(StrEnum):
    """How much of the changed resource a notification carries."""

    EMPTY = "empty"  # the backport IG's `empty`: no resource ids at all
    ID_ONLY = "id-only"
    FULL = "full-resource"


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """The parts of a Subscription that drive delivery."""

    status: str
    res_type: str
    query: str  # the criteria's search part, without '?'
    endpoint: str
    content: Content
    headers: tuple[tuple[str, str], ...]
    backport: bool
    end: dt.datetime | None


def _fail(message: str, expression: str) -> Unprocessable:
    return Unprocessable(message, expression=f"Subscription.{expression}")


def _criteria(raw: Any) -> tuple[str, str]:
    """Split 'Type?query' into the served type and its query."""
    if not isinstance(raw, str) or not raw.strip():
        raise _fail("criteria is required: a search such as 'CarePlan?patient=Patient/123'.", "criteria")
    res_type, _, query = raw.strip().partition("?")
    if res_type not in SERVED_TYPES:
        raise _fail(f"criteria must search a served type, not '{res_type[:64]}'.", "criteria")
    return res_type, query


def _headers(channel: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """channel.header entries ('Name: value'), refused when malformed or line-breaking."""
    out: list[tuple[str, str]] = []
    for i, raw in enumerate(channel.get("header") or []):
        name, sep, value = str(raw).partition(":")
        if not sep or not name.strip() or any(c in str(raw) for c in "\r\n\0"):
            raise _fail("Each channel.header must be 'Name: value'.", f"channel.header[{i}]")
        out.append((name.strip(), value.strip()))
    return tuple(out)


def _content(channel: dict[str, Any]) -> tuple[Content, bool]:
    """The payload content, and whether the backport notification Bundle was asked for."""
    payload = channel.get("payload")
    exts = (channel.get("_payload") or {}).get("extension", [])
    ext = [e for e in exts if e.get("url") == BACKPORT_PAYLOAD]
    if payload not in (None, "", *FHIR_JSON):
        raise _fail(f"channel.payload '{str(payload)[:64]}' is not supported; use application/fhir+json "
                    "or leave it out for id-only notifications.", "channel.payload")
    if ext:
        try:
            return Content(ext[0].get("valueCode")), True
        except ValueError as exc:
            raise _fail("backport-payload-content must be empty, id-only or full-resource.",
                        "channel.payload") from exc
    return (Content.FULL if payload else Content.ID_ONLY), False


def parse_subscription(resource: dict[str, Any]) -> SubscriptionSpec:
    """The delivery-relevant parts of a Subscription; 422 for what cannot be honoured."""
    res_type, query = _criteria(resource.get("criteria"))
    channel = resource.get("channel") or {}
    if channel.get("type") != "rest-hook":
        raise _fail("Only the rest-hook channel is supported.", "channel.type")
    endpoint = channel.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise _fail("A rest-hook channel needs an endpoint.", "channel.endpoint")
    content, backport = _content(channel)
    end = parse_range(resource["end"], "Subscription.end")[0] if resource.get("end") else None
    return SubscriptionSpec(str(resource.get("status") or "requested"), res_type, query, endpoint,
                            content, _headers(channel), backport, end)
