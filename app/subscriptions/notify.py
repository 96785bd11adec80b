"""The HTTP requests of a notification: HAPI FHIR's R4 rest-hook convention, or the backport Bundle.

- id-only (R4, as HAPI FHIR): POST to the endpoint with an empty body.
- full resource (R4, as HAPI FHIR): PUT the resource to `endpoint/Type/id`; a delete is
  DELETE `endpoint/Type/id` (https://hl7.org/fhir/R4/subscription.html#channels).
- backport: POST a `history` Bundle whose first entry is a SubscriptionStatus Parameters
  (https://hl7.org/fhir/uv/subscriptions-backport/notifications.html).
Every request carries X-Fellesplan-* headers with the event number (to deduplicate) and the
commit time of the change (to measure commit-to-delivery latency).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from app.db.subscription_tables import EventRow
from app.fhir.dates import format_instant
from app.subscriptions.model import Content, SubscriptionSpec

BACKPORT = "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True, slots=True)
class Notification:
    """One HTTP request to a subscriber."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None


def committed_at(event: EventRow) -> str:
    """The change's commit time as a FHIR instant (microseconds kept for latency measurement)."""
    at = dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=event.committed_us)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00:00"


def _headers(spec: SubscriptionSpec, sub_id: str, event: EventRow) -> dict[str, str]:
    """The subscription's own headers plus ours."""
    out = {name: value for name, value in spec.headers}
    out.update({
        "X-Fellesplan-Subscription": f"Subscription/{sub_id}",
        "X-Fellesplan-Event-Number": str(event.event_number),
        "X-Fellesplan-Committed-At": committed_at(event),
    })
    if spec.content is not Content.EMPTY:
        out["X-Fellesplan-Resource"] = f"{event.res_type}/{event.res_id}/_history/{event.version_id}"
    return out


def build(spec: SubscriptionSpec, sub_id: str, event: EventRow, content: bytes | None,
          base: str, now: dt.datetime) -> Notification:
    """The request that notifies one event."""
    headers = _headers(spec, sub_id, event)
    if spec.backport:
        headers["Content-Type"] = FHIR_JSON
        bundle = backport_bundle(spec, sub_id, event, content, base, now)
        return Notification("POST", spec.endpoint, headers, orjson.dumps(bundle))
    if spec.content is Content.FULL:
        url = f"{spec.endpoint.rstrip('/')}/{event.res_type}/{event.res_id}"
        if event.deleted or content is None:
            return Notification("DELETE", url, headers, None)
        headers["Content-Type"] = FHIR_JSON
        return Notification("PUT", url, headers, content)
    return Notification("POST", spec.endpoint, headers, None)


def _status(sub_id: str, event: EventRow, base: str, spec: SubscriptionSpec) -> dict[str, Any]:
    """The SubscriptionStatus Parameters (backport-subscription-status-r4)."""
    part: list[dict[str, Any]] = [
        {"name": "event-number", "valueString": str(event.event_number)},
        {"name": "timestamp", "valueInstant": committed_at(event)},
    ]
    if spec.content is not Content.EMPTY:
        part.append({"name": "focus", "valueReference": {
            "reference": f"{base}/{event.res_type}/{event.res_id}/_history/{event.version_id}"}})
    return {
        "resourceType": "Parameters",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [BACKPORT + "backport-subscription-status-r4"]},
        "parameter": [
            {"name": "subscription", "valueReference": {"reference": f"{base}/Subscription/{sub_id}"}},
            # Criteria-based subscriptions have no SubscriptionTopic; the Subscription stands for it.
            {"name": "topic", "valueCanonical": f"{base}/Subscription/{sub_id}"},
            {"name": "status", "valueCode": "active"},
            {"name": "type", "valueCode": "event-notification"},
            {"name": "events-since-subscription-start", "valueString": str(event.event_number)},
            {"name": "notification-event", "part": part},
        ],
    }


def backport_bundle(spec: SubscriptionSpec, sub_id: str, event: EventRow, content: bytes | None,
                    base: str, now: dt.datetime) -> dict[str, Any]:
    """A backport-subscription-notification-r4 Bundle for one event."""
    status = _status(sub_id, event, base, spec)
    entries: list[dict[str, Any]] = [{
        "fullUrl": f"urn:uuid:{status['id']}",
        "resource": status,
        "request": {"method": "GET", "url": f"{base}/Subscription/{sub_id}/$status"},
        "response": {"status": "200"},
    }]
    if spec.content is Content.FULL:
        entry: dict[str, Any] = {"fullUrl": f"{base}/{event.res_type}/{event.res_id}"}
        if content is not None and not event.deleted:
            entry["resource"] = orjson.loads(content)
        method = "DELETE" if event.deleted else "POST" if event.version_id == 1 else "PUT"
        entry["request"] = {"method": method, "url": event.res_type if method == "POST" else
                            f"{event.res_type}/{event.res_id}"}
        entry["response"] = {"status": "201" if method == "POST" else "200"}
        entries.append(entry)
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"profile": [BACKPORT + "backport-subscription-notification-r4"]},
        "type": "history",
        "timestamp": format_instant(now),
        "entry": entries,
    }
