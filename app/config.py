"""Runtime configuration, read from FELLESPLAN_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from app.search.settings import SearchSettings
from app.security.settings import SecuritySettings
from app.subscriptions.settings import SubscriptionSettings
from app.validation.settings import ValidationSettings


class Settings(SecuritySettings, SearchSettings, ValidationSettings, SubscriptionSettings):
    """All settings; every field maps to FELLESPLAN_<NAME>. Parts own their mixins."""

    model_config = SettingsConfigDict(env_prefix="FELLESPLAN_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./data/fellesplan.db"
    base_url: str = "http://127.0.0.1:8080/fhir"
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    max_json_depth: int = Field(default=64, ge=8)
    max_bundle_entries: int = Field(default=1000, ge=1)
    default_page_size: int = Field(default=20, ge=1)
    max_page_size: int = Field(default=500, ge=1)
    # CarePlan and Consent updates must carry If-Match so two services never overwrite each other.
    require_if_match: tuple[str, ...] = ("CarePlan", "Consent")
    # SQLite durability: FULL survives power loss as well as a killed process.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    db_pool_size: int = Field(default=20, ge=1)
    log_level: str = "info"

    @property
    def is_sqlite(self) -> bool:
        """True when the database is SQLite."""
        return self.database_url.startswith("sqlite")

    @property
    def base(self) -> str:
        """Base URL without a trailing slash."""
        return self.base_url.rstrip("/")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings, read once."""
    return Settings()
