"""JWKS fetching: caching, rotation on an unknown kid (rate-limited), unreachable issuer."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import respx

from app.security.jwks import JwksSource, JwksUnavailable, parse_jwks, url_loader
from app.security.tokens import KeyStore, TokenRejected, verify
from tests.security import factories as F


def _source(min_refresh: float = 0.0, max_age: float = 3600) -> JwksSource:
    """A URL-backed source for the test issuer."""
    return JwksSource(url_loader(F.JWKS_URL, 2.0), F.ISSUER, max_age=max_age,
                      min_refresh=min_refresh)


async def test_keys_are_cached() -> None:
    with respx.mock() as mock:
        route = mock.get(F.JWKS_URL).mock(
            return_value=httpx.Response(200, json=F.jwks((F.rsa_key(), "k1")))
        )
        src = _source()
        for _ in range(5):
            assert (await src.get("k1")) is not None
        assert route.call_count == 1


async def test_rotation_fetches_new_kid() -> None:
    with respx.mock() as mock:
        route = mock.get(F.JWKS_URL)
        route.side_effect = [
            httpx.Response(200, json=F.jwks((F.rsa_key(), "old"))),
            httpx.Response(200, json=F.jwks((F.rsa_key(), "old"), (F.rsa_key("b"), "new"))),
        ]
        s = F.settings()
        keys = KeyStore(s)
        assert await verify(F.sign(F.claims(), F.rsa_key(), "old"), keys, s)
        assert await verify(F.sign(F.claims(), F.rsa_key("b"), "new"), keys, s)
        assert route.call_count == 2


async def test_unknown_kid_refetch_is_rate_limited() -> None:
    with respx.mock() as mock:
        route = mock.get(F.JWKS_URL).mock(
            return_value=httpx.Response(200, json=F.jwks((F.rsa_key(), "k1")))
        )
        src = _source(min_refresh=60)
        assert await src.get("k1") is not None
        for _ in range(10):
            assert await src.get("forged-kid") is None
        assert route.call_count == 1


async def test_concurrent_unknown_kids_fetch_once() -> None:
    with respx.mock() as mock:
        route = mock.get(F.JWKS_URL).mock(
            return_value=httpx.Response(200, json=F.jwks((F.rsa_key(), "k1")))
        )
        src = _source(min_refresh=60)
        results = await asyncio.gather(*(src.get("k1") for _ in range(20)))
        assert all(r is not None for r in results)
        assert route.call_count == 1


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.Response(500),
     httpx.Response(200, text="<html>not json</html>"), httpx.Response(200, json={"x": 1})],
)
async def test_unreachable_without_keys_is_unavailable(failure: Any) -> None:
    with respx.mock() as mock:
        mock.get(F.JWKS_URL).mock(side_effect=[failure])
        with pytest.raises(JwksUnavailable):
            await _source().get("k1")


async def test_unreachable_after_load_keeps_cached_keys() -> None:
    with respx.mock() as mock:
        route = mock.get(F.JWKS_URL)
        route.side_effect = [
            httpx.Response(200, json=F.jwks((F.rsa_key(), "k1"))),
            httpx.ConnectError("down"),
            httpx.ConnectError("down"),
        ]
        src = _source(max_age=0.0)  # stale at once: every call tries to refresh
        assert await src.get("k1") is not None
        assert await src.get("k1") is not None  # refresh failed, stale key still serves
        assert await src.get("other") is None
        assert route.call_count == 3


async def test_unreachable_fails_token_as_unavailable_not_accepted() -> None:
    with respx.mock() as mock:
        mock.get(F.JWKS_URL).mock(side_effect=httpx.ConnectError("down"))
        s = F.settings()
        with pytest.raises(JwksUnavailable):
            await verify(F.sign(F.claims(), F.rsa_key(), "k1"), KeyStore(s), s)


def test_parse_skips_unusable_keys() -> None:
    small = {"kty": "RSA", "kid": "small", "n": "AQAB", "e": "AQAB"}
    priv = dict(F.public_jwk(F.rsa_key(), "priv"), d="AQAB")
    enc = dict(F.public_jwk(F.rsa_key(), "enc"), use="enc")
    hmac = {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}
    nokid = {k: v for k, v in F.public_jwk(F.rsa_key(), "x").items() if k != "kid"}
    good = F.public_jwk(F.ec_key(), "good")
    doc = {"keys": [small, priv, enc, hmac, nokid, good, "junk"]}
    import orjson

    assert list(parse_jwks(orjson.dumps(doc), F.ISSUER)) == ["good"]


async def test_token_for_unknown_kid_after_refresh_is_rejected() -> None:
    with respx.mock() as mock:
        mock.get(F.JWKS_URL).mock(
            return_value=httpx.Response(200, json=F.jwks((F.rsa_key(), "k1")))
        )
        s = F.settings()
        with pytest.raises(TokenRejected, match="unknown key"):
            await verify(F.sign(F.claims(), F.rsa_key("x"), "k9"), KeyStore(s), s)
