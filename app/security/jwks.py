"""Signing keys: a JWKS fetched over HTTPS (HelseID) or read from a file, cached and rotated."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt import PyJWK
from jwt.exceptions import PyJWTError

log = logging.getLogger("fellesplan.security")

MAX_JWKS_BYTES = 1024 * 1024
MIN_RSA_BITS = 2048
# Which JWS algorithms each key type may verify: a key never verifies another family's tokens.
ALGS_FOR_KTY: dict[str, frozenset[str]] = {
    "RSA": frozenset({"RS256", "PS256"}),
    "EC": frozenset({"ES256"}),
}


class JwksUnavailable(Exception):
    """No signing keys could be obtained (endpoint unreachable, or an unusable document)."""


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A public key trusted to sign tokens of one issuer."""

    kid: str
    kty: str
    key: Any  # a cryptography public key
    alg: str | None  # the JWK's own "alg", when it pins one
    issuer: str | None
    audience: str | None = None  # None: FELLESPLAN_TOKEN_AUDIENCE
    kinds: frozenset[str] | None = None  # actor kinds this issuer may vouch for (None: all)

    def allows(self, alg: str) -> bool:
        """True when this key may verify a token signed with `alg`."""
        return alg in ALGS_FOR_KTY.get(self.kty, frozenset()) and self.alg in (None, alg)


def parse_jwks(raw: bytes, issuer: str | None, **binding: Any) -> dict[str, TrustedKey]:
    """Usable signing keys of a JWKS document, by kid; others are skipped with a log line."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise JwksUnavailable(f"JWKS is not JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise JwksUnavailable("JWKS has no 'keys' array")
    out: dict[str, TrustedKey] = {}
    for jwk in doc["keys"]:
        key = _parse_jwk(jwk, issuer)
        if key is not None:
            out[key.kid] = replace(key, **binding)
    return out


def _parse_jwk(jwk: Any, issuer: str | None) -> TrustedKey | None:
    """One JWK as a TrustedKey, or None when it is not a usable public signing key."""
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
        return None
    kty, use = jwk.get("kty"), jwk.get("use", "sig")
    if kty not in ALGS_FOR_KTY or use != "sig" or "d" in jwk:
        # A private key in a JWKS is a publisher error; never load it.
        return None
    alg = jwk.get("alg")
    if alg is not None and alg not in ALGS_FOR_KTY[kty]:
        return None
    try:
        key = PyJWK(jwk, algorithm=alg or next(iter(sorted(ALGS_FOR_KTY[kty])))).key
    except (PyJWTError, ValueError, TypeError) as exc:
        log.warning("skipping JWK %s: %s", jwk.get("kid"), exc)
        return None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        return None
    if isinstance(key, ec.EllipticCurvePublicKey) and not isinstance(key.curve, ec.SECP256R1):
        return None
    if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return None
    return TrustedKey(kid=jwk["kid"], kty=kty, key=key, alg=alg, issuer=issuer)


Loader = Callable[[], Awaitable[bytes]]


def url_loader(url: str, timeout: float) -> Loader:
    """A loader that GETs the JWKS over HTTP(S)."""

    async def load() -> bytes:
        try:
            async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
                resp = await client.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise JwksUnavailable(f"JWKS fetch failed: {type(exc).__name__}") from None
        if resp.status_code != 200:
            raise JwksUnavailable(f"JWKS fetch returned HTTP {resp.status_code}")
        if len(resp.content) > MAX_JWKS_BYTES:
            raise JwksUnavailable("JWKS document too large")
        return resp.content

    return load


def file_loader(path: str) -> Loader:
    """A loader that reads the JWKS from a local file."""

    async def load() -> bytes:
        try:
            return await asyncio.to_thread(Path(path).read_bytes)
        except OSError as exc:
            raise JwksUnavailable(f"JWKS file unreadable: {exc.strerror}") from None

    return load


class JwksSource:
    """Keys of one issuer, cached; refreshed when stale, or (rate-limited) on an unknown kid."""

    def __init__(
        self, loader: Loader, issuer: str | None, *, max_age: float, min_refresh: float,
        audience: str | None = None, kinds: frozenset[str] | None = None,
    ) -> None:
        self._loader = loader
        self._issuer = issuer
        self._binding = {"audience": audience, "kinds": kinds}
        self._max_age = max_age
        self._min_refresh = min_refresh
        self._keys: dict[str, TrustedKey] = {}
        self._loaded_at = float("-inf")
        self._tried_at = float("-inf")
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> TrustedKey | None:
        """The key with this kid; JwksUnavailable when no keys can be had at all."""
        now = time.monotonic()
        key = self._keys.get(kid)
        if key is not None and now - self._loaded_at < self._max_age:
            return key
        # Without any keys, retry sooner: every request is failing until the issuer answers.
        limit = self._min_refresh if self._keys else min(self._min_refresh, 2.0)
        if now - self._tried_at >= limit:
            await self._refresh(now)
        elif not self._keys:
            raise JwksUnavailable("signing keys unavailable")
        return self._keys.get(kid)

    async def _refresh(self, started: float) -> None:
        """Fetch once for all concurrent callers; keep the old keys when the fetch fails."""
        async with self._lock:
            if self._tried_at >= started:
                if not self._keys:
                    raise JwksUnavailable("signing keys unavailable")
                return  # another caller refreshed while we waited
            self._tried_at = time.monotonic()
            try:
                keys = parse_jwks(await self._loader(), self._issuer, **self._binding)
            except JwksUnavailable as exc:
                log.warning("JWKS refresh failed: %s", exc)
                if not self._keys:
                    raise
                return  # availability: stale keys stay valid until the issuer is back
            self._keys = keys
            self._loaded_at = time.monotonic()
