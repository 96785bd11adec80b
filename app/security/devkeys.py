"""Development signing key and token minting (never trusted with FELLESPLAN_ENV=production)."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.security import claims as C
from app.security.jwks import TrustedKey

DEFAULT_SCOPES = ("user/*.cruds",)


def ensure_dev_key(path: str) -> ec.EllipticCurvePrivateKey:
    """Load the P-256 development key, creating it (mode 0600) when missing."""
    p = Path(path)
    if p.exists():
        return load_dev_key(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


def load_dev_key(path: str) -> ec.EllipticCurvePrivateKey:
    """Read the development key; it must be a P-256 private key."""
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{path} is not a P-256 private key")
    return key


def public_jwk(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    """The public JWK with an RFC 7638 thumbprint as kid."""
    nums = key.public_numbers()
    jwk = {"crv": "P-256", "kty": "EC", "x": _b64(nums.x.to_bytes(32, "big")),
           "y": _b64(nums.y.to_bytes(32, "big"))}
    thumb = hashlib.sha256(orjson.dumps(jwk, option=orjson.OPT_SORT_KEYS)).digest()
    return {**jwk, "kid": "dev-" + _b64(thumb)[:16], "use": "sig", "alg": "ES256"}


def dev_trusted_key(path: str, issuer: str) -> TrustedKey | None:
    """The development key as a TrustedKey bound to the dev issuer, or None when absent."""
    if not Path(path).exists():
        return None
    pub = load_dev_key(path).public_key()
    return TrustedKey(kid=public_jwk(pub)["kid"], kty="EC", key=pub, alg="ES256", issuer=issuer)


def mint_dev_token(
    pid: str | None = None,
    hpr: str | None = None,
    org: str | None = None,
    scopes: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
    purpose: str | None = None,
    *,
    settings: Any = None,
    name: str | None = None,
    org_parent: str | None = None,
    client_id: str = "fellesplan-dev",
    ttl: int = 3600,
) -> str:
    """A signed development access token with HelseID-shaped claims."""
    if settings is None:
        from app.config import get_settings

        settings = get_settings()
    if not settings.trusts_dev_key:
        raise RuntimeError("development tokens are refused in production")
    key = ensure_dev_key(settings.dev_key_file)
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.dev_issuer, "aud": settings.token_audience, "iat": now, "nbf": now,
        "exp": now + ttl, "jti": uuid.uuid4().hex, "client_id": client_id,
        "sub": pid or client_id, "scope": " ".join(scopes),
    }
    claims.update(C.helseid_claims(pid=pid, hpr=hpr, org=org, org_parent=org_parent, name=name))
    if purpose:
        claims["authorization_details"] = [C.trust_framework_details(purpose, org, org_parent)]
    headers = {"kid": public_jwk(key.public_key())["kid"], "typ": "at+jwt"}
    return jwt.encode(claims, key, algorithm="ES256", headers=headers)


def _b64(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
