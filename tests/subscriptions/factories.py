"""Factories for subscription tests: Subscriptions, a settable clock, a static DNS resolver."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.config import Settings
from app.subscriptions.model import BACKPORT_PAYLOAD
from app.subscriptions.settings import SubscriptionSettings

RECEIVER = "receiver.example.no"
RECEIVER_IP = "93.184.216.34"  # a public address; nothing is ever sent there (respx intercepts)
HOOK = f"https://{RECEIVER}/fhir-hook"
PINNED = f"https://{RECEIVER_IP}/fhir-hook"


class SyncTestSettings(Settings, SubscriptionSettings):
    """The app settings with the subscription mixin, as the lead can compose them."""


class Clock:
    """An injected clock that tests move forward (no sleeping)."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.now = start or dt.datetime(2026, 3, 2, 2, 0, 0)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


class StaticResolver:
    """DNS answers from a table; answers can change between calls (rebinding)."""

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        self.table = table or {RECEIVER: [RECEIVER_IP]}
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        if host not in self.table:
            raise OSError(f"unknown host {host}")
        return list(self.table[host])


def subscription(criteria: str = "CarePlan?status=active", endpoint: str = HOOK, *,
                 payload: str | None = None, headers: list[str] | None = None,
                 backport: str | None = None, **over: Any) -> dict[str, Any]:
    """A rest-hook Subscription (id-only unless a payload type is given)."""
    channel: dict[str, Any] = {"type": "rest-hook", "endpoint": endpoint}
    if payload is not None:
        channel["payload"] = payload
    if headers:
        channel["header"] = headers
    if backport is not None:
        channel.setdefault("payload", "application/fhir+json")
        channel["_payload"] = {"extension": [{"url": BACKPORT_PAYLOAD, "valueCode": backport}]}
    res: dict[str, Any] = {"resourceType": "Subscription", "status": "requested",
                           "reason": "Krisplanen følges opp av spesialisthelsetjenesten",
                           "criteria": criteria, "channel": channel}
    res.update(over)
    return res
