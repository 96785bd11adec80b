"""Token verification: every rejection path, algorithms, key confusion and issuer binding."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from app.security.devkeys import ensure_dev_key, mint_dev_token
from app.security.tokens import KeyStore, TokenRejected, verify
from tests.security import factories as F


def _b64(obj: Any) -> str:
    """base64url JSON without padding."""
    raw = json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def jwks_route() -> Any:
    """A mocked HelseID JWKS with one RSA and one EC key."""
    with respx.mock(assert_all_called=False) as mock:
        route = mock.get(F.JWKS_URL).mock(
            return_value=httpx.Response(
                200, json=F.jwks((F.rsa_key(), "rsa1"), (F.ec_key(), "ec1"))
            )
        )
        yield route


async def _verify(token: str, **kw: Any) -> dict[str, Any]:
    """Verify with a fresh key store."""
    s = F.settings(**kw)
    return await verify(token, KeyStore(s), s)


@pytest.mark.parametrize(("alg", "kid"), [("RS256", "rsa1"), ("PS256", "rsa1"), ("ES256", "ec1")])
async def test_accepts_allowed_algorithms(jwks_route: Any, alg: str, kid: str) -> None:
    key = F.ec_key() if alg == "ES256" else F.rsa_key()
    token = F.sign(F.health_claims(), key, kid, alg)
    claims = await _verify(token)
    assert claims["helseid://claims/hpr/hpr_number"] == F.HPR_DOCTOR


async def test_rejects_alg_none(jwks_route: Any) -> None:
    token = f"{_b64({'alg': 'none', 'kid': 'rsa1'})}.{_b64(F.claims())}."
    with pytest.raises(TokenRejected, match="algorithm"):
        await _verify(token)


async def test_rejects_hs256_with_public_key_as_secret(jwks_route: Any) -> None:
    # Key confusion: an attacker signs HS256 using the server's public RSA key as HMAC secret.
    pem = F.rsa_key().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64({"alg": "HS256", "kid": "rsa1", "typ": "JWT"})
    body = _b64(F.claims())
    import hashlib
    import hmac

    sig = hmac.new(pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{base64.urlsafe_b64encode(sig).rstrip(b'=').decode()}"
    with pytest.raises(TokenRejected, match="algorithm"):
        await _verify(token)


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512", "RS512", "ES384", "EdDSA"])
async def test_rejects_other_algorithms(jwks_route: Any, alg: str) -> None:
    token = f"{_b64({'alg': alg, 'kid': 'rsa1'})}.{_b64(F.claims())}.c2ln"
    with pytest.raises(TokenRejected, match="algorithm"):
        await _verify(token)


async def test_rejects_ec_alg_on_rsa_kid(jwks_route: Any) -> None:
    # ES256 signature presented under the RSA key's kid: the key family must match the alg.
    token = F.sign(F.claims(), F.ec_key(), "rsa1", "ES256")
    with pytest.raises(TokenRejected, match="does not match"):
        await _verify(token)


async def test_rejects_alg_other_than_the_jwk_pins() -> None:
    doc = {"keys": [F.public_jwk(F.rsa_key(), "pinned", alg="RS256")]}
    with respx.mock() as mock:
        mock.get(F.JWKS_URL).mock(return_value=httpx.Response(200, json=doc))
        token = F.sign(F.claims(), F.rsa_key(), "pinned", "PS256")
        with pytest.raises(TokenRejected, match="does not match"):
            await _verify(token)


async def test_rejects_embedded_jwk_header(jwks_route: Any) -> None:
    attacker = F.rsa_key("attacker")
    token = F.sign(F.claims(), attacker, "rsa1", "RS256", jwk=F.public_jwk(attacker, "x"))
    with pytest.raises(TokenRejected, match="header"):
        await _verify(token)


async def test_rejects_crit_header(jwks_route: Any) -> None:
    token = F.sign(F.claims(), F.rsa_key(), "rsa1", "RS256", crit=["exp"])
    with pytest.raises(TokenRejected, match="header"):
        await _verify(token)


async def test_rejects_signature_by_other_key(jwks_route: Any) -> None:
    token = F.sign(F.claims(), F.rsa_key("attacker"), "rsa1")
    with pytest.raises(TokenRejected, match="signature"):
        await _verify(token)


async def test_rejects_tampered_payload(jwks_route: Any) -> None:
    token = F.sign(F.claims(scope="user/*.rs"), F.rsa_key(), "rsa1")
    header, _, sig = token.split(".")
    forged = f"{header}.{_b64(F.claims(scope='fellesplan/admin'))}.{sig}"
    with pytest.raises(TokenRejected, match="signature"):
        await _verify(forged)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"exp": int(time.time()) - 120}, "expired"),
        ({"nbf": int(time.time()) + 600}, "not valid yet"),
        ({"iss": "https://evil.example"}, "trusted issuer"),
        ({"aud": "someone-else"}, "audience"),
        ({"exp": None}, "required claim"),
        ({"aud": None}, "required claim"),
        ({"iss": None}, "required claim"),
        ({"exp": "tomorrow"}, "invalid"),
    ],
)
async def test_rejects_bad_claims(jwks_route: Any, overrides: dict[str, Any], message: str) -> None:
    token = F.sign(F.claims(**overrides), F.rsa_key(), "rsa1")
    with pytest.raises(TokenRejected, match=message):
        await _verify(token)


async def test_clock_skew_is_tolerated(jwks_route: Any) -> None:
    now = int(time.time())
    token = F.sign(F.claims(exp=now - 10, nbf=now + 10), F.rsa_key(), "rsa1")
    assert (await _verify(token, clock_skew_seconds=30))["iss"] == F.ISSUER
    with pytest.raises(TokenRejected):
        await _verify(token, clock_skew_seconds=0)


async def test_audience_list_is_accepted(jwks_route: Any) -> None:
    token = F.sign(F.claims(aud=["other", F.AUDIENCE]), F.rsa_key(), "rsa1")
    assert await _verify(token)


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b", "a.b.c.d", "!!!.###.$$$", "x" * 20000]
)
async def test_rejects_malformed(jwks_route: Any, token: str) -> None:
    with pytest.raises(TokenRejected):
        await _verify(token)


async def test_rejects_missing_and_unknown_kid(jwks_route: Any) -> None:
    with pytest.raises(TokenRejected, match="key id"):
        await _verify(F.sign(F.claims(), F.rsa_key(), None))
    with pytest.raises(TokenRejected, match="unknown key"):
        await _verify(F.sign(F.claims(), F.rsa_key(), "nope"))


async def test_dev_key_is_bound_to_dev_issuer(tmp_path: Any, jwks_route: Any) -> None:
    path = str(tmp_path / "dev.pem")
    s = F.settings(dev_key_file=path)
    token = mint_dev_token(hpr=F.HPR_DOCTOR, org=F.ORG_LEGEVAKT, settings=s)
    claims = await verify(token, KeyStore(s), s)
    assert claims["iss"] == s.dev_issuer
    # The dev key signing a token that claims to be HelseID's is refused.
    kid = jwt.get_unverified_header(token)["kid"]
    forged = F.sign(F.claims(), ensure_dev_key(path), kid, "ES256")
    with pytest.raises(TokenRejected, match="trusted issuer"):
        await verify(forged, KeyStore(s), s)


async def test_dev_key_never_trusted_in_production(tmp_path: Any, jwks_route: Any) -> None:
    path = str(tmp_path / "dev.pem")
    token = mint_dev_token(hpr=F.HPR_DOCTOR, settings=F.settings(dev_key_file=path))
    prod = F.settings(dev_key_file=path, env="production")
    with pytest.raises(TokenRejected, match="trusted issuer"):
        await verify(token, KeyStore(prod), prod)
    with pytest.raises(RuntimeError):
        mint_dev_token(settings=prod)


async def test_jwks_file_source(tmp_path: Any) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(F.jwks((F.ec_key(), "file1"))))
    token = F.sign(F.claims(), F.ec_key(), "file1", "ES256")
    assert await _verify(token, jwks_url=None, jwks_file=str(path))


def _b64raw(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "header",
    [b"[" * 5000, b'{"alg":' * 3000, b"\xff\xfe", b"null", b"[]", b'"RS256"',
     b'{"alg":"RS256","kid":5}', b'{"alg":["RS256"],"kid":"rsa1"}', b'{"alg":"RS256","kid":""}'],
)
async def test_hostile_headers_are_rejected_not_crashing(jwks_route: Any, header: bytes) -> None:
    token = f"{_b64raw(header)}.{_b64(F.claims())}.c2ln"
    with pytest.raises(TokenRejected):
        await _verify(token)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.builds(
    lambda a, b, c: f"{a}.{b}.{c}", st.text(max_size=60), st.text(max_size=60),
    st.text(max_size=60)))
def test_any_string_is_rejected_cleanly(token: str) -> None:
    import asyncio

    s = F.settings(jwks_url=None, jwks_file=None)
    with pytest.raises(TokenRejected):
        asyncio.run(verify(token, KeyStore(s), s))
