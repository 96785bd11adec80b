"""Security settings (authentication, audit), folded into app.config.Settings."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings

DEV_ISSUER = "https://fellesplan.local/dev"


class TrustedIssuer(BaseModel):
    """A further issuer (e.g. a citizen login), trusted only for the actor kinds it names."""

    issuer: str
    jwks_url: str | None = None
    jwks_file: str | None = None
    audience: str | None = None  # defaults to FELLESPLAN_TOKEN_AUDIENCE
    actor_kinds: list[str] = Field(default_factory=lambda: ["person"])


class SecuritySettings(BaseSettings):
    """FELLESPLAN_* settings owned by app/security."""

    # Secure by default: every /fhir request needs a verified token unless explicitly switched off.
    auth_enabled: bool = True
    # Where the issuer's signing keys come from: a JWKS URL (HelseID) or a local JWKS file.
    jwks_url: str | None = None
    jwks_file: str | None = None
    token_issuer: str | None = None
    # More issuers as JSON, e.g. [{"issuer": "...", "jwks_url": "...", "actor_kinds": ["person"]}].
    extra_issuers: list[TrustedIssuer] = Field(default_factory=list)
    token_audience: str = "fellesplan"
    clock_skew_seconds: int = Field(default=30, ge=0, le=300)
    # Keys are re-fetched after this long, and at most once per min_refresh on an unknown kid.
    jwks_cache_seconds: int = Field(default=3600, ge=10)
    jwks_min_refresh_seconds: float = Field(default=30.0, ge=0)
    jwks_timeout_seconds: float = Field(default=5.0, gt=0)
    # A verified token's actor is reused this long (never past the token's exp).
    token_cache_seconds: int = Field(default=30, ge=0)
    token_cache_size: int = Field(default=10_000, ge=0)
    # Organisation registry lookups are cached this long.
    actor_cache_seconds: int = Field(default=60, ge=0)
    # Tokens naming a person (pid) must carry at least this HelseID security_level (4 = high).
    min_security_level: int | None = Field(default=None, ge=1, le=4)
    # HelseID API scopes (e.g. "nhn:fellesplan/api") mapped to SMART scopes they grant.
    scope_map: dict[str, list[str]] = Field(default_factory=dict)
    # Development signing key: trusted only when env != production.
    dev_key_file: str = "./data/dev-signing-key.pem"
    dev_issuer: str = DEV_ISSUER
    dev_key_trusted: bool = True
    # OAuth endpoints advertised in the SMART configuration (HelseID in production).
    oauth_authorize_url: str | None = None
    oauth_token_url: str | None = None
    audit_source_name: str = "Fellesplan"
    audit_batch_max: int = Field(default=256, ge=1)

    @model_validator(mode="after")
    def _production_needs_keys(self) -> Any:
        """Refuse to start in production without authentication against a real issuer."""
        if getattr(self, "env", None) != "production":
            return self
        missing = [
            name
            for name, ok in (
                ("FELLESPLAN_AUTH_ENABLED=true", self.auth_enabled),
                ("FELLESPLAN_JWKS_URL or FELLESPLAN_JWKS_FILE", self.jwks_url or self.jwks_file),
                ("FELLESPLAN_TOKEN_ISSUER", self.token_issuer),
            )
            if not ok
        ]
        if missing:
            raise ValueError("production requires " + ", ".join(missing))
        urls = [self.jwks_url] + [i.jwks_url for i in self.extra_issuers]
        if any(u and not u.startswith("https://") for u in urls):
            raise ValueError("production requires https:// JWKS URLs")
        if any(not (i.jwks_url or i.jwks_file) for i in self.extra_issuers):
            raise ValueError("production requires a JWKS for every extra issuer")
        return self

    @property
    def trusts_dev_key(self) -> bool:
        """True when the local development signing key is accepted."""
        return self.dev_key_trusted and getattr(self, "env", None) != "production"
