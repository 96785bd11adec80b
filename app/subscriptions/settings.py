"""Settings of subscription delivery, read from FELLESPLAN_SUBSCRIPTION_* variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class SubscriptionSettings(BaseSettings):
    """Delivery, retry and endpoint rules (a mixin for app.config.Settings, or standalone)."""

    model_config = SettingsConfigDict(env_prefix="FELLESPLAN_", extra="ignore")

    # Loopback, private, link-local and other non-global endpoints are refused unless this is on (SSRF).
    subscription_allow_private: bool = False
    # Run the delivery worker inside `fellesplan serve`; turn off when `fellesplan worker` runs apart.
    subscription_worker_enabled: bool = True
    # How long a failing endpoint is retried before the subscription goes to `error`.
    subscription_retry_hours: float = Field(default=72.0, ge=0.001)
    subscription_backoff_initial_seconds: float = Field(default=5.0, gt=0)
    # The longest pause between attempts, so a receiver that comes back is served soon.
    subscription_backoff_max_seconds: float = Field(default=300.0, gt=0)
    subscription_timeout_seconds: float = Field(default=10.0, gt=0)
    # A claimed subscription is leased this long; must exceed the timeout so no two deliveries overlap.
    subscription_lease_seconds: float = Field(default=60.0, gt=0)
    # An idle worker does a full pass (leases, expiry, orphans) this often ...
    subscription_poll_seconds: float = Field(default=0.5, gt=0)
    # ... and in between looks this often for new changes or due retries: one indexed read, so
    # a write reaches its receiver in about this time rather than a full poll interval.
    subscription_check_seconds: float = Field(default=0.1, gt=0)
    subscription_batch: int = Field(default=200, ge=1)

    @model_validator(mode="after")
    def _lease_exceeds_timeout(self) -> SubscriptionSettings:
        """A lease shorter than a delivery attempt would let two workers deliver at once."""
        if self.subscription_lease_seconds < 2 * self.subscription_timeout_seconds:
            raise ValueError("subscription_lease_seconds must be at least twice subscription_timeout_seconds")
        return self


@lru_cache(maxsize=1)
def _from_env() -> SubscriptionSettings:
    """Process-wide subscription settings."""
    return SubscriptionSettings()


def subscription_settings(settings: Any = None) -> SubscriptionSettings:
    """The subscription settings: the app's Settings when it mixes them in, else the environment."""
    if isinstance(settings, SubscriptionSettings):
        return settings
    return _from_env()
