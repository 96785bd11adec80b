"""Authentication: turns a request into a RequestContext.

Bearer tokens are verified against the configured JWKS (and, outside production, the local
development key). A verified token's actor is cached briefly, keyed by the token's hash.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import os
import time
from collections import OrderedDict
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request

from app.config import Settings
from app.fhir.errors import ServiceUnavailable, Unauthorized
from app.security import claims as C
from app.security import scopes as S
from app.security.actors import Directory, build_context, classify
from app.security.jwks import JwksUnavailable
from app.security.settings import SecuritySettings
from app.security.tokens import KeyStore, TokenRejected, verify_token
from app.services.context import ActorKind, RequestContext

BREAK_GLASS_HEADER = "x-fellesplan-break-glass"
BREAK_GLASS_REASON_HEADER = "x-break-glass-reason"  # the name issue 8 uses; both are read
PURPOSE_HEADER = "x-purpose-of-use"
BREAK_GLASS_SCOPE = "fellesplan/break-glass"
_MAX_REASON = 500
# Request ids: a random per-process prefix and a counter (uuid4 costs a urandom syscall per request).
_RID_PREFIX = os.urandom(6).hex()
_rid_counter = itertools.count(1)


def unauthorized(error: str | None, description: str) -> Unauthorized:
    """A 401 with the RFC 6750 challenge; says nothing about the data."""
    challenge = 'Bearer realm="fellesplan"'
    if error:
        challenge += f', error="{error}", error_description="{description}"'
    return Unauthorized(
        description or "Authentication is required.", headers={"WWW-Authenticate": challenge}
    )


class Authenticator:
    """Token verification, actor building and the verified-token cache for one configuration."""

    def __init__(self, settings: SecuritySettings) -> None:
        self.settings = settings
        self.keys = KeyStore(settings)
        self.directory = Directory(settings.actor_cache_seconds)
        self._cache: OrderedDict[bytes, tuple[float, RequestContext]] = OrderedDict()

    async def context(self, token: str, db: Any) -> RequestContext:
        """The actor for a bearer token; Unauthorized or ServiceUnavailable otherwise."""
        digest = hashlib.sha256(token.encode()).digest()
        hit = self._cache.get(digest)
        now = time.time()
        if hit is not None and now < hit[0]:
            return hit[1]
        try:
            claims, key = await verify_token(token, self.keys, self.settings)
        except TokenRejected as exc:
            raise unauthorized("invalid_token", exc.description) from None
        except JwksUnavailable:
            raise ServiceUnavailable(
                "The token cannot be verified now; try again shortly.",
                headers={"Retry-After": "5"},
            ) from None
        self._check_assurance(claims)
        scopes = S.expand(C.scopes(claims), self.settings.scope_map)
        if key.kinds is not None and classify(claims, scopes).value not in key.kinds:
            # A citizen login must never vouch for health personnel or organisations.
            raise unauthorized("invalid_token", "This issuer is not trusted for this actor.")
        try:
            async with db.session(write=False) as session:
                ctx = await build_context(claims, scopes, session, self.directory)
        except SQLAlchemyError:
            raise ServiceUnavailable("The actor registry is not available.") from None
        until = min(float(claims["exp"]), now + self.settings.token_cache_seconds)
        self._remember(digest, ctx, until)
        return ctx

    def _check_assurance(self, claims: dict[str, Any]) -> None:
        """A person must have logged in at the required level (RFC 9470 step-up error)."""
        need = self.settings.min_security_level
        if need is None or C.text(claims, C.PID) is None:
            return
        level = C.text(claims, C.SECURITY_LEVEL) or ""
        if not level.isdigit() or int(level) < need:
            raise unauthorized("insufficient_user_authentication",
                               f"The login must have security level {need} or higher.")

    def _remember(self, digest: bytes, ctx: RequestContext, until: float) -> None:
        """Cache an actor until `until` (never past the token's exp), bounded in size."""
        if self.settings.token_cache_seconds <= 0 or self.settings.token_cache_size <= 0:
            return
        self._cache[digest] = (until, ctx)
        while len(self._cache) > self.settings.token_cache_size:
            self._cache.popitem(last=False)


_authenticators: dict[tuple[Any, ...], Authenticator] = {}
# Fast path: the same Settings object (app.state.settings) on every request.
_by_object: dict[int, tuple[SecuritySettings, Authenticator]] = {}


def authenticator_for(settings: SecuritySettings) -> Authenticator:
    """The process-wide Authenticator for this configuration (keys and caches are shared)."""
    hit = _by_object.get(id(settings))
    if hit is not None and hit[0] is settings:
        return hit[1]
    fields = sorted(SecuritySettings.model_fields)
    key = (getattr(settings, "env", None), *(repr(getattr(settings, f)) for f in fields))
    auth = _authenticators.get(key)
    if auth is None:
        auth = _authenticators[key] = Authenticator(settings)
    _by_object[id(settings)] = (settings, auth)  # holding settings keeps its id unique
    return auth


def bearer_token(request: Request) -> str:
    """The bearer token of the Authorization header; 401 when absent or malformed."""
    header = request.headers.get("authorization")
    if not header:
        raise unauthorized(None, "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise unauthorized("invalid_request", "The Authorization header must be 'Bearer <token>'.")
    return token


async def authenticate(request: Request, settings: Settings) -> RequestContext:
    """Build the request's actor context (an OPEN actor when authentication is disabled)."""
    rid = request.headers.get("x-request-id") or f"{_RID_PREFIX}-{next(_rid_counter):x}"
    if not settings.auth_enabled:
        return RequestContext(kind=ActorKind.OPEN, request_id=rid[:64])
    token = bearer_token(request)
    db = getattr(request.app.state, "db", None)
    if db is None:
        raise ServiceUnavailable("The database is not available.")
    ctx = _per_request(await authenticator_for(settings).context(token, db), request, rid)
    request.state.fellesplan_ctx = ctx  # for auditing refused requests (audit.record_refusal)
    return ctx


def _per_request(ctx: RequestContext, request: Request, rid: str) -> RequestContext:
    """Add what differs per request: request id, client address and a break-glass reason."""
    reason = _header_text(request.headers.get(BREAK_GLASS_HEADER)
                          or request.headers.get(BREAK_GLASS_REASON_HEADER))
    address = request.client.host if request.client else None
    purpose = ctx.purpose_of_use
    # Issue 8: with the break-glass scope, the purpose of use may come from a header (never
    # widening a purpose the trust framework already attested in the token).
    header_purpose = (request.headers.get(PURPOSE_HEADER) or "").strip().upper()
    if purpose is None and ctx.has_scope(BREAK_GLASS_SCOPE) and header_purpose in ("ETREAT", "BTG"):
        purpose = header_purpose
    return dataclasses.replace(ctx, request_id=rid[:64], break_glass_reason=reason, address=address,
                               purpose_of_use=purpose)


def _header_text(raw: str | None) -> str | None:
    """A free-text header as UTF-8 (ASGI hands headers over as latin-1), printable, bounded."""
    if raw is None:
        return None
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        raw = raw.encode("latin-1").decode("utf-8")
    text = "".join(ch for ch in raw if ch.isprintable()).strip()
    return text[:_MAX_REASON] or None
