"""Access token verification: signature against trusted keys, then iss, aud, exp and nbf."""

from __future__ import annotations

from typing import Any

import jwt
from jwt import exceptions as jx

from app.security.devkeys import dev_trusted_key
from app.security.jwks import JwksSource, TrustedKey, file_loader, url_loader
from app.security.settings import SecuritySettings, TrustedIssuer

ALLOWED_ALGS = frozenset({"RS256", "PS256", "ES256"})
MAX_TOKEN_CHARS = 16 * 1024
# Header parameters that would let the token choose its own key; we never honour them.
_KEY_CARRYING_HEADERS = ("jwk", "jku", "x5u", "x5c")


class TokenRejected(Exception):
    """The token is not acceptable; `description` is safe to show the client."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


_DECODE_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (jx.ExpiredSignatureError, "The token has expired."),
    (jx.ImmatureSignatureError, "The token is not valid yet."),
    (jx.InvalidAudienceError, "The token is not issued for this audience."),
    (jx.InvalidIssuerError, "The token is not from a trusted issuer."),
    (jx.InvalidSignatureError, "The token signature is invalid."),
    (jx.MissingRequiredClaimError, "The token lacks a required claim."),
)


class KeyStore:
    """Every key trusted to sign access tokens, each bound to its issuer."""

    def __init__(self, settings: SecuritySettings) -> None:
        self._dev: TrustedKey | None = None
        if settings.trusts_dev_key:
            self._dev = dev_trusted_key(settings.dev_key_file, settings.dev_issuer)
        self._sources: dict[str, JwksSource] = {}
        main = TrustedIssuer(issuer=settings.token_issuer or "", jwks_url=settings.jwks_url,
                             jwks_file=settings.jwks_file, actor_kinds=[])
        for spec in (main, *settings.extra_issuers):
            source = _source(settings, spec, main=spec is main)
            if source is not None and spec.issuer:
                self._sources[spec.issuer] = source

    async def get(self, kid: str, issuer: str) -> TrustedKey | None:
        """The key with this kid, if trusted; TokenRejected for an unknown issuer."""
        if self._dev is not None and kid == self._dev.kid:
            return self._dev  # bound to the development issuer, checked on decode
        source = self._sources.get(issuer)
        if source is None:
            raise TokenRejected("The token is not from a trusted issuer.")
        return await source.get(kid)


def _source(settings: SecuritySettings, spec: TrustedIssuer, *, main: bool) -> JwksSource | None:
    """The key source of one issuer (None when it has no JWKS configured)."""
    if spec.jwks_url:
        loader = url_loader(spec.jwks_url, settings.jwks_timeout_seconds)
    elif spec.jwks_file:
        loader = file_loader(spec.jwks_file)
    else:
        return None
    return JwksSource(
        loader, spec.issuer, max_age=settings.jwks_cache_seconds,
        min_refresh=settings.jwks_min_refresh_seconds, audience=spec.audience,
        kinds=None if main else frozenset(spec.actor_kinds),
    )


def _issuer(token: str) -> str:
    """The unverified iss, used only to pick the key set; the decode verifies it."""
    try:
        payload = jwt.decode(token, options={"verify_signature": False})
    except (jx.InvalidTokenError, ValueError, TypeError, RecursionError):
        raise TokenRejected("The token is malformed.") from None
    iss = payload.get("iss") if isinstance(payload, dict) else None
    if not isinstance(iss, str) or not iss:
        raise TokenRejected("The token lacks a required claim.")
    return iss


def _header(token: str) -> dict[str, Any]:
    """The JOSE header, checked before any key is looked up."""
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
        raise TokenRejected("The token is malformed.")
    try:
        header = jwt.get_unverified_header(token)
    except (jx.InvalidTokenError, ValueError, TypeError, RecursionError):
        raise TokenRejected("The token's header is not accepted.") from None
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGS:
        raise TokenRejected("The token's signing algorithm is not accepted.")
    if "crit" in header or any(h in header for h in _KEY_CARRYING_HEADERS):
        raise TokenRejected("The token's header is not accepted.")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise TokenRejected("The token has no key id.")
    return header


async def verify(token: str, keys: KeyStore, settings: SecuritySettings) -> dict[str, Any]:
    """The claims of a valid token; TokenRejected otherwise (JwksUnavailable passes through)."""
    return (await verify_token(token, keys, settings))[0]


async def verify_token(
    token: str, keys: KeyStore, settings: SecuritySettings
) -> tuple[dict[str, Any], TrustedKey]:
    """The claims of a valid token and the key (issuer binding) that verified it."""
    header = _header(token)
    alg: str = header["alg"]
    key = await keys.get(header["kid"], _issuer(token))
    if key is None:
        raise TokenRejected("The token is signed with an unknown key.")
    if not key.allows(alg) or key.issuer is None:
        raise TokenRejected("The token's signing algorithm does not match its key.")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=key.audience or settings.token_audience,
            issuer=key.issuer,
            leeway=settings.clock_skew_seconds,
            options={"require": ["exp", "iss", "aud"], "verify_signature": True},
        )
    except (ValueError, TypeError, RecursionError):
        raise TokenRejected("The token is invalid.") from None
    except jx.InvalidTokenError as exc:
        for cls, text in _DECODE_ERRORS:
            if isinstance(exc, cls):
                raise TokenRejected(text) from None
        raise TokenRejected("The token is invalid.") from None
    return claims, key
