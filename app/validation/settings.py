"""Validation settings, folded into app.config.Settings."""

from __future__ import annotations

from pydantic_settings import BaseSettings


class ValidationSettings(BaseSettings):
    """FELLESPLAN_* settings owned by app/validation."""
