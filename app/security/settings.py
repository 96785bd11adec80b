"""Security settings (authentication, audit), folded into app.config.Settings."""

from __future__ import annotations

from pydantic_settings import BaseSettings


class SecuritySettings(BaseSettings):
    """FELLESPLAN_* settings owned by app/security."""

    auth_enabled: bool = False
