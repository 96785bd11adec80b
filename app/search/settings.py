"""Search settings, folded into app.config.Settings."""

from __future__ import annotations

from pydantic_settings import BaseSettings


class SearchSettings(BaseSettings):
    """FELLESPLAN_* settings owned by app/search."""
